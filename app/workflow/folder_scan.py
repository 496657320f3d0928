"""The open folder's images as the loader finds them: one record each, in folder order.

A QObject on the UI thread, owned by the :class:`~app.labeler.Labeler`. It starts
the loader's scan of a folder and adds each readable image to the project as it
arrives (with its thumbnail); unreadable files are listed in one message. Answers
from an older scan (another folder opened since) are ignored. When the scan
reaches the image the last session ended on, that image opens.
"""
from __future__ import annotations

from html import escape
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject

from sam_core.image_files import IMAGE_SUFFIXES

if TYPE_CHECKING:
    from app.workflow.labeler import Labeler


class FolderScan(QObject):
    def __init__(self, labeler: Labeler) -> None:
        super().__init__()
        self.labeler = labeler
        self._id = 0
        loader = labeler.loader
        loader.listed.connect(self._on_listed)
        loader.scanned.connect(self._on_scanned)
        loader.scan_failed.connect(self._on_scan_failed)
        loader.scan_finished.connect(self._on_scan_finished)

    def start(self, folder: Path) -> None:
        """Scan ``folder`` (in the background); the images of any earlier scan stop arriving."""
        self._id = self.labeler.loader.scan(folder)

    def _project(self, scan_id: int):
        """The project this scan is for, or None when another folder has been opened since."""
        return self.labeler.project if scan_id == self._id else None

    def _on_listed(self, scan_id: int, count: int) -> None:
        project = self._project(scan_id)
        if project is None:
            return
        if count:
            self.labeler.status.emit(f"Reading {count} images from {project.folder}…")
        else:
            kinds = ", ".join(suffix[1:] for suffix in IMAGE_SUFFIXES)
            self.labeler.message.emit("warning", f"No images ({kinds}) in {escape(str(project.folder))}")

    def _on_scanned(self, scan_id: int, scanned) -> None:
        project = self._project(scan_id)
        if project is None:
            return
        record = project.add_image(scanned.path, scanned.width, scanned.height, scanned.thumbnail)
        if self.labeler.image_id is None and project.is_start_image(record.id):  # the last session's image
            self.labeler.open_image(record.id)

    def _on_scan_failed(self, scan_id: int, _path: str, reason: str) -> None:
        project = self._project(scan_id)
        if project is None:
            return
        project.skip(reason)
        skipped = project.skipped
        shown = "<br>".join(escape(r) for r in skipped[-5:])
        more = f"<br>…and {len(skipped) - 5} more" if len(skipped) > 5 else ""
        self.labeler.message.emit("warning", f"Skipped {len(skipped)} unreadable file(s):<br>{shown}{more}")

    def _on_scan_finished(self, scan_id: int) -> None:
        project = self._project(scan_id)
        if project is not None:
            count, skipped = len(project.dataset.images), len(project.skipped)
            self.labeler.status.emit(f"{count} images" + (f", {skipped} skipped" if skipped else ""))
