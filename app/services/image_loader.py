"""Reading images off the UI thread: the folder scan and the current/next image.

Jobs run on Qt thread pools and report their results and errors through signals, which Qt queues
to the UI thread. A scan runs on its own one-thread pool, in three steps:

1. it reads the project's sidecar (``project_read``, always first, so saved annotations are
   there when their image arrives);
2. it lists the folder (subfolders included, by relative path, in name order) and learns each
   image's size from its first bytes, without decoding (``listed_images``, in batches, then
   ``list_finished``): its thread lists 10,000 photos in about 0.4 s. A file whose
   bytes do not tell (or look damaged) is decoded there and then, so it is listed in its place or
   reported (``scan_failed``);
3. it decodes every listed image once, smallest file first, for its thumbnail, its true size and
   what its decoder says (``thumbnails``, in batches; a file that fails now is reported with
   ``scan_failed`` too), then says ``scan_finished``.

A newer scan makes an older one stop at its next file.
"""
from __future__ import annotations

import threading
import time
from functools import partial
from pathlib import Path

from PySide6.QtCore import QObject, QThreadPool, Signal

from app.model.io.sidecar import StoredProject, read_sidecar
from app.model.names import display_name
from app.services.images import ScannedImage, downsample, peek_image, scan_image
from sam_core.image_files import ImageReadError, list_folder, read_image
from sam_core.limits import DEFAULT_LIMITS, Limits


LIST_BATCH, LIST_SECONDS = 512, 0.05  # a listing batch: this many images, or this long since the last
THUMBNAIL_BATCH, THUMBNAIL_SECONDS = 64, 0.1


class _Batches:
    """Items gathered and handed to ``send`` (one signal) every ``size`` items or ``seconds``,
    whichever comes first: a signal per image would cost the UI thread more than the image."""

    def __init__(self, send, size: int, seconds: float) -> None:
        self.send, self.size, self.seconds = send, size, seconds
        self.items: list = []
        self.sent = time.monotonic()

    def add(self, item) -> None:
        """Gather ``item`` (None: nothing, but a batch that is due still goes)."""
        if item is not None:
            self.items.append(item)
        if self.items and (len(self.items) >= self.size or time.monotonic() - self.sent > self.seconds):
            self.flush()

    def flush(self) -> None:
        if self.items:
            self.send(self.items)
        self.items, self.sent = [], time.monotonic()


class ImageLoader(QObject):
    """Scans folders and loads images in the background."""

    project_read = Signal(int, object)  # scan id, StoredProject (the sidecar; empty when there is none)
    listed = Signal(int, int)  # scan id, number of image files found
    listed_images = Signal(int, object)  # scan id, list[ScannedImage] in folder order (thumbnail None: later)
    list_finished = Signal(int)  # scan id: every readable file is listed; thumbnails follow
    thumbnails = Signal(int, object)  # scan id, list[ScannedImage] with thumbnails and true sizes
    scan_failed = Signal(int, str, str)  # scan id, path, one-line reason
    scan_finished = Signal(int)  # scan id: every thumbnail is made
    loaded = Signal(str, object, object, float)  # key, HxWx3 image, display copy, display factor
    load_failed = Signal(str, str)  # key, one-line reason

    def __init__(self, max_display_side: int = 4096, thumbnail_side: int = 64, parent=None,
                 limits: Limits = DEFAULT_LIMITS) -> None:
        super().__init__(parent)
        self.limits = limits  # what an image, and the sidecar, may describe (sam_core.limits)
        self.max_display_side = max_display_side
        self.thumbnail_side = thumbnail_side
        self._scan_pool = QThreadPool(self)
        self._scan_pool.setMaxThreadCount(1)
        self._load_pool = QThreadPool(self)
        self._load_pool.setMaxThreadCount(2)
        self._scan_id = 0
        self._lock = threading.Lock()

    def scan(self, folder: Path) -> int:
        """List ``folder``'s images, then read each for its size and thumbnail;
        returns the scan id the signals carry."""
        with self._lock:
            self._scan_id += 1
            scan_id = self._scan_id
        self._scan_pool.start(partial(self._scan, scan_id, Path(folder)))
        return scan_id

    @property
    def latest_scan(self) -> int:
        """The id of the newest scan; signals of older ones are stale."""
        with self._lock:
            return self._scan_id

    def _scan(self, scan_id: int, folder: Path) -> None:
        try:
            stored = read_sidecar(folder, self.limits)
        except Exception as exc:  # read_sidecar reports bad files itself; this is the unexpected
            reason = f"{folder}: cannot read the saved project ({type(exc).__name__}: {exc}); nothing will be saved"
            stored = StoredProject(folder, exists=True, problems=[reason], frozen=reason)
        self.project_read.emit(scan_id, stored)
        try:
            paths, left_out = list_folder(folder, recursive=True)  # subfolders' images too, as relative names
        except OSError as exc:
            self.scan_failed.emit(scan_id, str(folder), f"{folder}: cannot list the folder ({exc.strerror or exc})")
            paths, left_out = [], []
        self.listed.emit(scan_id, len(paths))
        for path, reason in left_out:  # hidden names, dangling links, FIFOs: said, never silently dropped
            self._failed(scan_id, path, reason)
        listed = self._list(scan_id, paths)
        if listed is None:
            return
        self.list_finished.emit(scan_id)
        if self._make_thumbnails(scan_id, listed):
            self.scan_finished.emit(scan_id)

    def _stale(self, scan_id: int) -> bool:
        with self._lock:
            return scan_id != self._scan_id

    def _list(self, scan_id: int, paths: list[Path]) -> list[ScannedImage] | None:
        """Step 2: every path's size from its header (decoded where the header does not tell),
        emitted in batches; the images still without a thumbnail, or None when a newer scan began."""
        batches = _Batches(lambda batch: self.listed_images.emit(scan_id, batch), LIST_BATCH, LIST_SECONDS)
        waiting: list[ScannedImage] = []
        for path in paths:
            if self._stale(scan_id):
                return None
            image = self._read(scan_id, path, peek=True)
            if image is not None and image.thumbnail is None:
                waiting.append(image)
            batches.add(image)
        batches.flush()
        return waiting

    def _make_thumbnails(self, scan_id: int, listed: list[ScannedImage]) -> bool:
        """Step 3: decode the listed images, smallest file first (the most thumbnails soonest);
        False when a newer scan began."""
        batches = _Batches(lambda batch: self.thumbnails.emit(scan_id, batch), THUMBNAIL_BATCH, THUMBNAIL_SECONDS)
        for image in sorted(listed, key=lambda i: i.file_size):
            if self._stale(scan_id):
                return False
            batches.add(self._read(scan_id, image.path, peek=False))
        batches.flush()
        return True

    def _read(self, scan_id: int, path: Path, peek: bool) -> ScannedImage | None:
        """The image's header (``peek``; a decode where it does not tell) or its decode; None,
        with ``scan_failed``, when it cannot be read."""
        try:
            found = peek_image(path, self.limits) if peek else None
            return found if found is not None else scan_image(path, self.thumbnail_side, self.limits)
        except ImageReadError as exc:
            self._failed(scan_id, path, str(exc))
        except Exception as exc:  # never lose an error in a pool thread
            self._failed(scan_id, path, f"{Path(path).name}: {exc}")
        return None

    def _failed(self, scan_id: int, path: Path, reason: str) -> None:
        # Qt's strings drop the bytes of a name that are not UTF-8: say them as \xNN instead.
        self.scan_failed.emit(scan_id, display_name(str(path)), display_name(reason))

    def load(self, key: str, path: Path) -> None:
        """Decode ``path`` fully and make a display copy; reports ``loaded`` or ``load_failed``."""
        self._load_pool.start(partial(self._load, key, Path(path)))

    def _load(self, key: str, path: Path) -> None:
        try:
            image = read_image(path, self.limits)
            display, factor = downsample(image, self.max_display_side)
            self.loaded.emit(key, image, display, factor)
        except Exception as exc:
            self.load_failed.emit(key, display_name(str(exc)))

    def shutdown(self) -> None:
        with self._lock:
            self._scan_id += 1
        self._scan_pool.waitForDone()
        self._load_pool.waitForDone()


__all__ = ["ImageLoader"]
