"""Deleting annotations and marking images done, as undoable (or saved) changes.

Selecting and hiding annotations are view state: the widgets set them on the
labelling state directly.
"""
from __future__ import annotations

from app.model import edits
from app.model.history import History
from app.model.labeling_state import LabelingState


class AnnotationEditor:
    def __init__(self, state: LabelingState, history: History) -> None:
        self.state, self.history = state, history

    def delete(self, annotation_id: int | None = None) -> None:
        """Delete ``annotation_id`` (default: the selected one), one undo step."""
        annotation_id = self.state.selected if annotation_id is None else annotation_id
        if self.state.dataset is not None and annotation_id is not None:
            self.history.push(edits.remove_annotation(self.state.dataset, annotation_id))

    def toggle_done(self) -> None:
        """Mark the current image done, or todo again."""
        project, image_id = self.state.project, self.state.image_id
        if project is not None and image_id is not None:
            project.set_done(image_id, not project.is_done(image_id))


__all__ = ["AnnotationEditor"]
