"""Moving through the project: opening a folder, opening an image, next and previous.

A QObject on the UI thread. It opens a folder as a :class:`Project` in the
labelling state, keeps the decoded previous, current and next images, asks the
loader for the ones it lacks, hands the current image to the SAM worker to encode
(and the next one to pre-encode), and reports the encoding's progress. It never
waits on the model or the disk: it posts requests and reacts to their signals.
"""
from __future__ import annotations

from collections import OrderedDict
from html import escape
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, Signal

from app.model.history import History
from app.model.labeling_state import LabelingState, SamStatus, ShownImage
from app.model.notices import Notices
from app.model.project import Project
from app.services.image_loader import ImageLoader
from app.services.sam.worker import SamWorker
from app.services.settings import Settings

KEPT_IMAGES = 3  # previous, current, next
KEPT_BYTES = 1 << 30  # ...but big images are not kept beside the current one beyond this (decoded RGB)


class Navigation(QObject):
    encode_state = Signal(str, int, int)  # text, blocks done, blocks in all (0 = idle)

    def __init__(self, state: LabelingState, history: History, worker: SamWorker, loader: ImageLoader,
                 settings: Settings, notices: Notices) -> None:
        super().__init__()
        self.state, self.history, self.worker, self.loader = state, history, worker, loader
        self.settings, self.notices = settings, notices
        self._images: OrderedDict[str, tuple[np.ndarray, np.ndarray, float]] = OrderedDict()
        worker.encode_started.connect(self._on_encode_started)
        worker.encode_progress.connect(self._on_encode_progress)
        worker.encoded.connect(self._on_encoded)
        loader.loaded.connect(self._on_loaded)
        loader.load_failed.connect(self._on_load_failed)
        state.events.sam_changed.connect(self._on_sam)
        state.prompts.events.prompts_changed.connect(lambda _e: self._encode_if_cancelled())
        self._cancelled: str | None = None  # the current image's key after its encode was cancelled

    # -- folder --------------------------------------------------------------------------------------
    def open_folder(self, folder: str | Path) -> bool:
        folder = Path(folder)
        if not folder.is_dir():
            self.notices.error(f"Not a folder: {escape(str(folder))}")
            return False
        self.settings.last_folder = str(folder)
        self.history.clear()
        self._images.clear()
        self.state.set_project(Project(folder))
        self.notices.status(f"Opening {folder}…")
        return True

    # -- images --------------------------------------------------------------------------------------
    def open_image(self, image_id: int) -> None:
        project = self.state.project
        if project is None or image_id not in project.dataset.images:
            return
        self.history.set_image(image_id)
        self.state.set_image(image_id)
        key = project.key(image_id)
        if key in self._images:
            self._show(key)
        else:
            self.notices.status(f"Loading {project.dataset.images[image_id].file_name}…")
            self.loader.load(key, project.path(image_id))

    def close_image(self) -> None:
        """Show no image (none of this folder is left)."""
        self.history.set_image(None)
        self.state.set_image(None)

    def go(self, step: int) -> None:
        """Move ``step`` images forward (or back) in folder order."""
        project = self.state.project
        if project is None:
            return
        target = project.neighbour(self.state.image_id, step, self._visible_ids())
        if target is None:
            where = " of the filter" if self.state.image_filter.active else ""
            self.notices.status(("Last image" if step > 0 else "First image") + where)
        else:
            self.open_image(target)

    def _visible_ids(self) -> list[int]:
        """The images next/previous move through: the image list's filter's, in folder order."""
        return self.state.image_filter.image_ids(self.state.project, keep=self.state.image_id)

    def _on_loaded(self, key: str, image: np.ndarray, display: np.ndarray, factor: float) -> None:
        self._images[key] = (image, display, factor)
        self._images.move_to_end(key)
        self._trim()
        if key == self.state.image_key:
            self._show(key)
        elif self.state.sam.ready:
            self.worker.prefetch(key, image)

    def _trim(self) -> None:
        """Forget the least recently used decoded images beyond ``KEPT_IMAGES`` or ``KEPT_BYTES``,
        never the current one: three 400 MP images would hold 3.6 GB."""
        current = self.state.image_key
        for key in list(self._images):
            size = sum(image.nbytes + display.nbytes for image, display, _f in self._images.values())
            if len(self._images) <= 1 or (len(self._images) <= KEPT_IMAGES and size <= KEPT_BYTES):
                return
            if key != current:
                del self._images[key]

    def _on_load_failed(self, key: str, reason: str) -> None:
        self.notices.error(escape(reason))
        if key == self.state.image_key:
            self.notices.status(reason)

    def _show(self, key: str) -> None:
        image, display, factor = self._images[key]
        self._images.move_to_end(key)
        project, image_id = self.state.project, self.state.image_id
        if project is not None and image_id in project.dataset.images:  # listed with its header's size
            project.correct_size(image_id, image.shape[1], image.shape[0])
        self.state.set_shown(ShownImage(display, image.shape[:2], factor))
        self._cancelled = None
        if self.state.sam.ready:
            self.worker.encode(key, image)
        self._prefetch_next()

    def cancel_encoding(self) -> None:
        """Stop encoding the current image (the next prompt on it, or opening it again, encodes it)."""
        key = self.state.image_key
        if key is None or not self.state.sam.ready or self.worker.is_encoded(key):
            return
        self._cancelled = key
        self.worker.cancel_encode(key)
        self.encode_state.emit("", 0, 0)
        self.notices.status("Encoding cancelled: a click on this image encodes it again")

    def _encode_if_cancelled(self) -> None:
        key = self._cancelled
        if key is not None and key == self.state.image_key and key in self._images and self.state.prompts.prompts:
            self._cancelled = None
            self.worker.encode(key, self._images[key][0])

    def _prefetch_next(self) -> None:
        """Load and pre-encode the next image so moving forward is instant."""
        project = self.state.project
        next_id = project.neighbour(self.state.image_id, 1, self._visible_ids()) if project else None
        if next_id is None or not self.state.sam.ready:
            return
        key = project.key(next_id)
        if key in self._images:
            self.worker.prefetch(key, self._images[key][0])
        else:
            self.loader.load(key, project.path(next_id))

    def _on_sam(self, event) -> None:
        status: SamStatus = event.value
        key = self.state.image_key
        if status.ready and key in self._images:
            self.worker.encode(key, self._images[key][0])
            self._prefetch_next()
        elif not status.ready:
            self.encode_state.emit("", 0, 0)

    # -- encoding progress ---------------------------------------------------------------------------
    def _on_encode_started(self, key: str, device: str) -> None:
        if key == self.state.image_key and key != self._cancelled:
            self.encode_state.emit(f"Encoding on {device}…", 0, 1)

    def _on_encode_progress(self, key: str, done: int, total: int) -> None:
        if key == self.state.image_key and key != self._cancelled:  # not the late news of a cancelled one
            self.encode_state.emit(f"Encoding {done}/{total}", done, total)

    def _on_encoded(self, key: str, seconds: float) -> None:
        if key == self.state.image_key:
            self.encode_state.emit(f"Encoded in {seconds:.1f} s" if seconds else "Embedding ready", 0, 0)
        else:
            self.notices.status(f"Pre-encoded {Path(key).name}")


__all__ = ["Navigation"]
