""""Precompute folder": encode every image of the project into the disk cache, in the background.

Images are decoded and hashed on a thread of this service's own, a couple ahead
of the SAM worker, so at most ``lookahead`` decoded images wait in memory; those
already on disk for the loaded checkpoint are counted without encoding. The
worker runs precompute jobs on its background lane, after everything the user waits for
(see :mod:`app.services.sam.job_queue`), so labeling carries on meanwhile. Progress
comes with an ETA from the last ten images (a moving average: an image that waited
behind the user's own encode moves it a little, not tenfold); :meth:`Precompute.cancel`
stops it at once.
"""
from __future__ import annotations

import time
from functools import partial
from pathlib import Path

from PySide6.QtCore import QObject, QThreadPool, Signal

from app.model.progress import EtaEstimator
from app.services.sam.worker import SamWorker
from sam_core import content_hash
from sam_core.image_files import ImageReadError, read_image

EMBEDDING_BYTES = 256 * 64 * 64 * 2 + 512  # one SAM v1 fp16 embedding file, header included (before SAM loads)


class Precompute(QObject):
    """Signals: ``progress`` (done, total, ETA in seconds or -1), ``finished`` (one-line
    summary, also after a cancel), ``message`` (level, one line of plain text)."""

    progress = Signal(int, int, float)
    finished = Signal(str)
    message = Signal(str, str)
    _decoded = Signal(int, str, object, str, bool, str)  # run, key, image or None, hash, on disk, error

    def __init__(self, worker: SamWorker, lookahead: int = 2, parent=None) -> None:
        super().__init__(parent)
        self.worker, self.lookahead = worker, lookahead
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self._run = 0
        self.running = False
        self._reset()
        self._decoded.connect(self._on_decoded)
        worker.precomputed.connect(self._on_precomputed)
        worker.precompute_failed.connect(self._on_failed)
        worker.sam_loaded.connect(lambda *_: self.cancel("the checkpoint changed") if self.running else None)

    def _reset(self) -> None:
        self._queue: list[tuple[str, Path]] = []
        self._waiting: set[str] = set()  # keys handed to the worker
        self._in_flight = 0
        self.total = self.done = self.encoded = self.cached = 0
        self.problems: list[str] = []
        self._started = time.perf_counter()
        self._eta = EtaEstimator(window=10, clock=time.perf_counter)
        self._eta.add(0)

    # -- control ----------------------------------------------------------------------------------------
    def start(self, images: list[tuple[str, Path]], sam_ready: bool) -> bool:
        """Begin with ``images`` (the worker's key and the file of each); False (and a
        message) when it cannot."""
        if self.running:
            self.message.emit("info", "Precompute is already running")
            return False
        if not sam_ready:
            self.message.emit("warning", "Precompute needs a SAM checkpoint: open one first (File > Open checkpoint…)")
            return False
        if self.worker.disk_cache is None:
            self.message.emit("warning", "The embedding cache is off (embedding_cache_mb is 0), so there is "
                                         "nowhere to keep precomputed embeddings")
            return False
        self._run += 1
        self._reset()
        self.running = True
        self._queue, self.total = [(key, Path(path)) for key, path in images], len(images)
        self.progress.emit(0, self.total, -1.0)
        if not self.total:
            self._complete()
            return True
        self._warn_if_too_big()
        self._pump()
        return True

    def cancel(self, why: str = "") -> None:
        if not self.running:
            return
        self._run += 1
        self.worker.cancel_precompute()
        self.running = False
        reason = f" ({why})" if why else ""
        self.finished.emit(f"Precompute stopped{reason}: {self.done} of {self.total} images done")

    # -- the pipeline -----------------------------------------------------------------------------------
    def _warn_if_too_big(self) -> None:
        cache = self.worker.disk_cache
        each = self.worker.embedding_bytes() or EMBEDDING_BYTES  # SAM 2's are four times SAM v1's
        if cache is not None and self.total * each > cache.max_bytes:
            fits = cache.max_bytes // each
            self.message.emit(
                "warning",
                f"The embedding cache ({cache.max_bytes // 2**20} MB in {cache.directory}) holds about {fits} images "
                f"but the folder has {self.total}: the first ones will be evicted again. "
                "Raise embedding_cache_mb in the settings file to keep them all.",
            )

    def _pump(self) -> None:
        while self.running and self._queue and self._in_flight < self.lookahead:
            (key, path), run = self._queue.pop(0), self._run
            self._in_flight += 1
            self._pool.start(partial(self._decode, run, key, path))
        self._report()

    def _decode(self, run: int, key: str, path: Path) -> None:
        if run != self._run:
            return  # cancelled meanwhile: skip the work
        try:
            image = read_image(path)
            image_hash = content_hash(image)
            on_disk = self.worker.has_on_disk(image_hash)
            self._decoded.emit(run, key, None if on_disk else image, image_hash, on_disk, "")
        except ImageReadError as exc:
            self._decoded.emit(run, key, None, "", False, str(exc))
        except Exception as exc:  # never lose an error in a pool thread
            self._decoded.emit(run, key, None, "", False, f"{path.name}: {type(exc).__name__}: {exc}")

    def _on_decoded(self, run: int, key: str, image, image_hash: str, on_disk: bool, error: str) -> None:
        if run != self._run:
            return
        if error or on_disk:
            self._finish_one(cached=on_disk, problem=error)
        else:
            self._waiting.add(key)
            self.worker.precompute(key, image, image_hash)

    def _on_precomputed(self, key: str, _seconds: float, was_on_disk: bool) -> None:
        if key in self._waiting:
            self._waiting.discard(key)
            self._finish_one(cached=was_on_disk)

    def _on_failed(self, key: str, reason: str) -> None:
        if key in self._waiting:
            self._waiting.discard(key)
            name = Path(key).name
            self._finish_one(problem=reason if reason.startswith(name) else f"{name}: {reason}")

    def _finish_one(self, cached: bool = False, problem: str = "") -> None:
        self._in_flight -= 1
        self.done += 1
        self._eta.add(self.done)
        if problem:
            self.problems.append(problem)
        elif cached:
            self.cached += 1
        else:
            self.encoded += 1
        if self.done >= self.total and not self._queue and not self._waiting:
            self._complete()
        else:
            self._pump()

    def _report(self) -> None:
        if self.running:
            self.progress.emit(self.done, self.total, self._eta.eta(self.total))

    def _complete(self) -> None:
        self.running = False
        self.progress.emit(self.done, self.total, 0.0)
        seconds = time.perf_counter() - self._started
        text = (f"Precomputed {self.total} images in {seconds:.0f} s: {self.encoded} encoded, "
                f"{self.cached} already on disk")
        if self.problems:
            text += f", {len(self.problems)} skipped ({'; '.join(self.problems[:3])}{' …' * (len(self.problems) > 3)})"
        self.finished.emit(text)
        self.message.emit("warning" if self.problems else "info", text)


__all__ = ["Precompute"]
