"""Exporting the project's annotations in the background, with progress and cancel, said when
done, with the last choices kept.

The *File > Export…* dialog sends a format, a destination, a hole policy for
COCO polygons and a scope (all images, or those marked done); the quick paths
(Ctrl+E and co) send only a format and a destination and reuse the last hole
policy. The choices are remembered in the settings for the next dialog.
"""
from __future__ import annotations

from html import escape
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from app.model.labeling_state import LabelingState
from app.model.notices import Notices
from app.services.exporter import HOLES, ExportChoice, Exporter
from app.services.settings import Settings

SCOPES = ("all", "done")

NAMES = {"coco_rle": "COCO (RLE)", "coco_polygons": "COCO (polygons)", "sa1b": "SA-1B", "yolo": "YOLO",
         "labelme": "labelme", "png": "PNG masks"}


class ExportController(QObject):
    exported = Signal(str)  # path
    progress = Signal(str, int, int)  # text, images done, images (0: idle)

    def __init__(self, state: LabelingState, exporter: Exporter, settings: Settings, notices: Notices) -> None:
        super().__init__()
        self.state, self.exporter, self.settings, self.notices = state, exporter, settings, notices
        self._name = ""
        exporter.progress.connect(self._on_progress)
        exporter.finished.connect(self._on_exported)
        exporter.failed.connect(self._on_failed)
        exporter.cancelled.connect(self._on_cancelled)

    @property
    def choices(self) -> dict:
        """The last export's choices (format, path, holes, scope), for the dialog."""
        return self.settings.export_choices

    def done_count(self) -> int:
        project = self.state.project
        return 0 if project is None else sum(project.is_done(i) for i in project.image_ids())

    def export(self, fmt: str, path: str | Path, holes: str | None = None, scope: str = "all") -> bool:
        """Write the project (``scope`` "all" images or those marked "done") as ``fmt`` (see
        :data:`app.services.exporter.FORMATS`) to ``path``; ``holes`` for COCO polygons
        (default: the last one chosen)."""
        project = self.state.project
        if project is None:
            self.notices.status("Open a folder first")
            return False
        last = self.choices
        holes = holes or last.get("holes")
        holes = holes if holes in HOLES else "rle"
        if scope not in SCOPES:
            raise ValueError(f"scope must be one of {SCOPES}, got {scope!r}")
        choice = ExportChoice(fmt, Path(path), holes, project.folder)
        ids = None if scope == "all" else [i for i in project.image_ids() if project.is_done(i)]
        if ids is not None and not ids:
            self.notices.warning("No image is marked done (Ctrl+D): nothing to export")
            return False
        self.settings.export_choices = {**last, "format": fmt, "path": str(path), "holes": holes, "scope": scope}
        self._name = NAMES.get(fmt, fmt)
        self.notices.status(f"Exporting to {path}…")
        images = len(project.dataset.images) if ids is None else len(ids)
        self.progress.emit(f"Exporting {self._name}…", 0, max(1, images))
        self.exporter.start(project.dataset, choice, ids)
        return True

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


__all__ = ["SCOPES", "ExportController"]
