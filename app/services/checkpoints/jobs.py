"""Checkpoint downloads and adoptions off the UI thread, for the model manager.

One job at a time on a private thread pool; the job reports through signals
(queued back to the UI thread) and never touches a widget. Errors come back as
``failed(kind, message)`` with :class:`DownloadError`'s kind; anything unexpected
is reported too, never swallowed.
"""
from __future__ import annotations

import threading
import traceback
from pathlib import Path
from typing import Callable

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from app.services.checkpoints import adopt as model_adopt
from app.services.checkpoints import download as model_download
from app.services.checkpoints import verified as model_verified
from app.services.messages import one_line
from app.services.checkpoints.catalog import CATALOG, CheckpointEntry


class _Job(QRunnable):
    def __init__(self, jobs: "ModelJobs", work: Callable[[], Path]) -> None:
        super().__init__()
        self._jobs, self._work = jobs, work

    def run(self) -> None:
        jobs = self._jobs
        try:
            path = self._work()
        except model_download.DownloadError as exc:
            report = (jobs.failed, exc.kind, str(exc))
        except Exception as exc:
            traceback.print_exc()
            report = (jobs.failed, "error", f"{type(exc).__name__}: {one_line(exc)}")
        else:
            report = (jobs.finished, str(path))
        jobs._running.clear()  # before the report, so its receivers see the jobs idle
        signal, *args = report
        signal.emit(*args)


class ModelJobs(QObject):
    """Runs :func:`model_download.download`, :func:`model_adopt.adopt` or
    :func:`model_verified.verify` in the background."""

    progress = Signal(object)  # model_download.Progress
    finished = Signal(str)  # path of the verified checkpoint
    failed = Signal(str, str)  # DownloadError kind ("cancelled", "network", "checksum", ...), one-line message

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self._cancel = threading.Event()
        self._running = threading.Event()

    @property
    def busy(self) -> bool:
        return self._running.is_set()

    def download(self, entry: CheckpointEntry, models_dir: Path, base_url: str) -> None:
        self._start(lambda: model_download.download(
            entry, models_dir, base_url, on_progress=self.progress.emit, cancel=self._cancel))

    def adopt(self, source: Path, models_dir: Path, entries: tuple[CheckpointEntry, ...] = CATALOG) -> None:
        self._start(lambda: model_adopt.adopt(
            source, models_dir, entries, on_progress=self.progress.emit, cancel=self._cancel))

    def verify(self, entry: CheckpointEntry, models_dir: Path) -> None:
        """Check a catalogue file of the models folder before its first use (once: the match is remembered)."""
        self._start(lambda: model_verified.verify(entry, models_dir, on_progress=self.progress.emit,
                                                  cancel=self._cancel))

    def _start(self, work: Callable[[], Path]) -> None:
        if self.busy:
            raise RuntimeError("a model job is already running")
        self._cancel.clear()
        self._running.set()
        self._pool.start(_Job(self, work))

    def cancel(self) -> None:
        """Stop the running job at its next chunk; a download keeps its .part file."""
        self._cancel.set()

    def shutdown(self) -> None:
        self.cancel()
        self._pool.waitForDone()
