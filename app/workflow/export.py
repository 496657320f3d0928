"""Exporting the project's annotations (COCO, SA-1B) in the background, said when done."""
from __future__ import annotations

from html import escape
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from app.model.labeling_state import LabelingState
from app.model.notices import Notices
from app.services.exporter import Exporter


class ExportController(QObject):
    exported = Signal(str)  # path

    def __init__(self, state: LabelingState, exporter: Exporter, notices: Notices) -> None:
        super().__init__()
        self.state, self.exporter, self.notices = state, exporter, notices
        exporter.finished.connect(self._on_exported)
        exporter.failed.connect(lambda _path, text: self.notices.error(escape(text)))

    def export(self, fmt: str, path: str | Path) -> None:
        """Write the whole project as ``fmt`` ("coco_rle", "coco_polygons", "sa1b") to ``path``."""
        if self.state.project is None:
            self.notices.status("Open a folder first")
            return
        self.notices.status(f"Exporting to {path}…")
        self.exporter.start(self.state.project.dataset, fmt, Path(path))

    def _on_exported(self, path: str, text: str) -> None:
        self.notices.info(escape(text))
        self.notices.status(text)
        self.exported.emit(path)


__all__ = ["ExportController"]
