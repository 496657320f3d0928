""""Precompute folder": hand the project's images to the precompute service, and say how it went."""
from __future__ import annotations

from html import escape

from app.model.labeling_state import LabelingState
from app.model.notices import Notices
from app.services.precompute import Precompute


class PrecomputeLauncher:
    def __init__(self, state: LabelingState, precompute: Precompute, notices: Notices) -> None:
        self.state, self.precompute, self.notices = state, precompute, notices
        precompute.message.connect(lambda level, text: notices.post(level, escape(text)))
        precompute.finished.connect(notices.status)

    def start(self) -> bool:
        """Encode every image of the folder whose file is there into the disk cache."""
        project = self.state.project
        if project is None:
            self.notices.status("Open a folder first")
            return False
        images = [(project.key(i), project.path(i)) for i in project.present_image_ids()]
        return self.precompute.start(images, self.state.sam.ready)

    def cancel(self) -> None:
        self.precompute.cancel()


__all__ = ["PrecomputeLauncher"]
