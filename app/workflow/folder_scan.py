"""The open folder's images as the loader finds them: one record each, in folder order.

A QObject on the UI thread. When a project opens it starts the loader's scan of
its folder and adds each image to the project as the listing finds it (with the
size its header states), then gives each its thumbnail and true size as the scan
decodes it, smallest file first (:meth:`Project.verify`); files that cannot be
read, at either step, are listed in one message (an image already listed is taken
out, or kept as missing when something of it was saved). Answers from an older
scan (another folder opened since) are ignored. When the listing reaches the image
the last session ended on, it asks for that image to be opened (``open_requested``).
"""
from __future__ import annotations

from html import escape

from PySide6.QtCore import QObject, Signal

from app.model.labeling_state import LabelingState
from app.model.names import display_name
from app.model.notices import Notices
from app.model.project import Project
from app.services.image_loader import ImageLoader
from sam_core.image_files import IMAGE_SUFFIXES


class FolderScan(QObject):
    open_requested = Signal(int)  # image id: the last session's image (or the first) has arrived

    def __init__(self, state: LabelingState, loader: ImageLoader, notices: Notices) -> None:
        super().__init__()
        self.state, self.loader, self.notices = state, loader, notices
        self._id = 0
        loader.listed.connect(self._on_listed)
        loader.listed_images.connect(self._on_listed_images)
        loader.list_finished.connect(self._on_list_finished)
        loader.thumbnails.connect(self._on_thumbnails)
        loader.scan_failed.connect(self._on_scan_failed)
        loader.scan_finished.connect(self._on_scan_finished)
        state.events.project_changed.connect(self._on_project)

    def _on_project(self, event) -> None:
        """Scan the new project's folder (in the background); an earlier scan's images stop arriving."""
        project: Project | None = event.value
        self._id = self.loader.scan(project.folder) if project is not None else -1

    def _project(self, scan_id: int) -> Project | None:
        """The project this scan is for, or None when another folder has been opened since."""
        return self.state.project if scan_id == self._id else None

    def _on_listed(self, scan_id: int, count: int) -> None:
        project = self._project(scan_id)
        if project is None:
            return
        if count:
            self.notices.status(f"Reading {count} images from {project.folder}…")
        else:
            kinds = ", ".join(suffix[1:] for suffix in IMAGE_SUFFIXES)
            self.notices.warning(f"No images ({kinds}) in {escape(str(project.folder))}")

    def _on_listed_images(self, scan_id: int, images: list) -> None:
        """A batch of the listing, in folder order (ScannedImage, thumbnail None where not decoded yet)."""
        project = self._project(scan_id)
        if project is None:
            return
        warned = False
        for scanned in images:
            record = project.add_image(scanned.path, scanned.width, scanned.height, scanned.thumbnail,
                                       scanned.warnings, provisional=scanned.thumbnail is None)
            warned = warned or record.id in project.image_warnings
            if self.state.image_id is None and project.is_start_image(record.id):  # the last session's image
                self.open_requested.emit(record.id)
        if warned:
            self._warn(project)

    def _on_list_finished(self, scan_id: int) -> None:
        project = self._project(scan_id)
        if project is not None and project.unverified:
            self.notices.status(f"{len(project.dataset.images)} images; making thumbnails…")

    def _on_thumbnails(self, scan_id: int, images: list) -> None:
        """A batch of decoded images (smallest files first): thumbnails, true sizes, warnings."""
        project = self._project(scan_id)
        if project is None:
            return
        warned = False
        for scanned in images:
            image_id = project.id_of(scanned.path)
            if image_id is not None:
                project.verify(image_id, scanned.width, scanned.height, scanned.thumbnail, scanned.warnings)
                warned = warned or bool(scanned.warnings)
        if warned:
            self._warn(project)

    def _on_scan_failed(self, scan_id: int, path: str, reason: str) -> None:
        project = self._project(scan_id)
        if project is None:
            return
        image_id = project.id_of(path)
        if image_id is not None:  # listed from its header, then failed to decode
            if image_id == self.state.image_id and not project.has_saved(image_id):
                other = project.neighbour(image_id, 1)
                other = project.neighbour(image_id, -1) if other is None else other
                if other is not None:
                    self.open_requested.emit(other)  # the next readable one, as if it had never been listed
            project.drop_unreadable(image_id, keep=image_id == self.state.image_id)
        project.skip(reason)
        skipped = project.skipped
        shown = "<br>".join(escape(r) for r in skipped[-5:])
        more = f"<br>…and {len(skipped) - 5} more" if len(skipped) > 5 else ""
        self.notices.warning(f"Skipped {len(skipped)} file(s):<br>{shown}{more}")

    def _warn(self, project: Project) -> None:
        """One message for the images that loaded with a warning (the last five named)."""
        warned = list(project.image_warnings.items())
        lines = [escape(f"{display_name(project.dataset.images[i].file_name)}: {'; '.join(w)}") for i, w in warned[-5:]]
        more = f"<br>…and {len(warned) - 5} more" if len(warned) > 5 else ""
        self.notices.warning(f"{len(warned)} image(s) loaded with a warning:<br>{'<br>'.join(lines)}{more}")

    def _on_scan_finished(self, scan_id: int) -> None:
        project = self._project(scan_id)
        if project is not None:
            count, skipped = len(project.dataset.images), len(project.skipped)
            self.notices.status(f"{count} images" + (f", {skipped} skipped" if skipped else ""))


__all__ = ["FolderScan"]
