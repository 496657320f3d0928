"""Reading images off the UI thread: the folder scan and the current/next image.

Jobs run on Qt thread pools and report their results and errors through signals, which Qt queues to the
UI thread. The scan first reads the project's sidecar (``project_read``, always
before any ``scanned``, so saved annotations are there when their image
arrives), then runs file by file in name order (subfolders included, by relative path) on its own one-thread pool so the
image list fills in order; a newer scan makes an older one stop.
"""
from __future__ import annotations

import threading
from functools import partial
from pathlib import Path

from PySide6.QtCore import QObject, QThreadPool, Signal

from app.model.io.sidecar import StoredProject, read_sidecar
from app.model.names import display_name
from app.services.images import downsample, scan_image
from sam_core.image_files import ImageReadError, list_folder, read_image
from sam_core.limits import DEFAULT_LIMITS, Limits


class ImageLoader(QObject):
    """Scans folders and loads images in the background."""

    project_read = Signal(int, object)  # scan id, StoredProject (the sidecar; empty when there is none)
    scanned = Signal(int, object)  # scan id, ScannedImage
    scan_failed = Signal(int, str, str)  # scan id, path, one-line reason
    scan_finished = Signal(int)
    listed = Signal(int, int)  # scan id, number of image files found
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
        for path in paths:
            with self._lock:
                if scan_id != self._scan_id:
                    return
            try:
                self.scanned.emit(scan_id, scan_image(path, self.thumbnail_side, self.limits))
            except ImageReadError as exc:
                self._failed(scan_id, path, str(exc))
            except Exception as exc:  # never lose an error in a pool thread
                self._failed(scan_id, path, f"{Path(path).name}: {exc}")
        self.scan_finished.emit(scan_id)

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
