"""Exporting the project's annotations (COCO, SA-1B) in the background, with progress, said when done."""
from __future__ import annotations

from html import escape
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from app.model.labeling_state import LabelingState
from app.model.notices import Notices
from app.services.exporter import Exporter

NAMES = {"coco_rle": "COCO (RLE)", "coco_polygons": "COCO (polygons)", "sa1b": "SA-1B"}


class ExportController(QObject):
    exported = Signal(str)  # path
    progress = Signal(str, int, int)  # text, images done, images (0: idle)

    def __init__(self, state: LabelingState, exporter: Exporter, notices: Notices) -> None:
        super().__init__()
        self.state, self.exporter, self.notices = state, exporter, notices
        self._name = ""
        exporter.progress.connect(self._on_progress)
        exporter.finished.connect(self._on_exported)
        exporter.failed.connect(self._on_failed)
        exporter.cancelled.connect(self._on_cancelled)

    def export(self, fmt: str, path: str | Path) -> None:
        """Write the whole project as ``fmt`` ("coco_rle", "coco_polygons", "sa1b") to ``path``."""
        if self.state.project is None:
            self.notices.status("Open a folder first")
            return
        self._name = NAMES.get(fmt, fmt)
        self.notices.status(f"Exporting to {path}…")
        self.progress.emit(f"Exporting {self._name}…", 0, max(1, len(self.state.project.dataset.images)))
        self.exporter.start(self.state.project.dataset, fmt, Path(path))

    def cancel(self) -> None:
        self.exporter.cancel()

    def _on_progress(self, _path: str, done: int, total: int) -> None:
        self.progress.emit(f"Exporting {self._name}: image {done}/{total}", done, total)

    def _on_exported(self, path: str, text: str) -> None:
        self.progress.emit("", 0, 0)
        self.notices.info(escape(text))
        self.notices.status(text)
        self.exported.emit(path)

    def _on_failed(self, _path: str, text: str) -> None:
        self.progress.emit("", 0, 0)
        self.notices.error(escape(text))

    def _on_cancelled(self, _path: str, text: str) -> None:
        self.progress.emit("", 0, 0)
        self.notices.status(text)


__all__ = ["ExportController"]
