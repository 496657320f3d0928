"""The one thread that owns the SAM predictor.

Modelled on Qt's ``mandelbrot`` example (``RenderThread``): the UI thread posts
requests under a lock and returns at once; the thread picks the most urgent one,
works without the lock, and reports through signals, which Qt queues back to the
UI thread. Interactive decodes follow "latest wins": only the newest request is
kept, and a result whose id is no longer the latest is never emitted. Nothing here
touches a widget, and every exception comes back as :attr:`SamWorker.failed`.

Priorities: load a checkpoint > decode (when its image is encoded) > encode the
current image > pre-label ("segment everything") > pre-encode the next ones. A
decode for an image still encoding waits, so clicks made during encoding are
decoded as soon as it is ready. A pre-label job is long: between its point
batches it answers pending clicks and encodes the image the user opened.

With a disk cache (:meth:`SamWorker.set_disk_cache`) an encode first looks for
the image's embedding on disk (same pixels, same checkpoint) and stores what it
encodes. Pre-encoding the next image and "precompute" jobs (last of all) run on
a second predictor, so the current image's embedding stays in place, and answer
pending clicks between two encoder blocks; a precompute job gives way (to be
resumed later) when the user opens an image that needs encoding.
"""
from __future__ import annotations

import os
import sys
import threading
import time
import traceback
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from PySide6.QtCore import QThread, Signal

from app.services.checkpoints.device_check import check_device
from app.services.sam.disk_embeddings import DiskEmbeddings
from app.services.messages import one_line
from app.services.sam.precompute_mixin import PrecomputeJobs, _Cancelled
from app.services.sam.segment_everything import PrelabelJob
from app.services.sam.prelabel_mixin import PrelabelJobs
from sam_core import CheckpointError, SamPredictor, load_sam


@dataclass(frozen=True)
class DecodeRequest:
    """One interactive prompt on one image, in the original image frame.

    ``points`` Nx2 float (x, y) pixels, ``labels`` N int (1 positive, 0 negative),
    ``box`` XYXY or None, ``mask_input`` 1x256x256 low-res logits or None.
    """

    id: int
    key: str
    points: np.ndarray
    labels: np.ndarray
    box: np.ndarray | None = None
    mask_input: np.ndarray | None = None
    multimask: bool = True
    started: float = field(default_factory=time.perf_counter)


class SamWorker(PrecomputeJobs, PrelabelJobs, QThread):
    """Owns a :class:`SamPredictor`; all public methods are safe to call from the UI thread."""

    sam_loaded = Signal(str, str)  # device, config name
    encode_started = Signal(str, str)  # image key, device
    encode_progress = Signal(str, int, int)  # image key, blocks done, blocks in all
    encoded = Signal(str, float)  # image key, seconds
    decoded = Signal(int, object)  # request id, sam_core Candidates (best mask already computed)
    failed = Signal(str, str)  # what ("checkpoint", "encode", "decode"), one-line message
    fell_back = Signal(str)  # one-line notice: the GPU ran out of memory and SAM moved to the CPU
    prelabel_progress = Signal(int, int, int, int, int)  # job id, image number, images, batches done, batches
    prelabelled = Signal(int, int, object)  # job id, image id, list[AutoMask]
    prelabel_finished = Signal(int, bool)  # job id, cancelled
    cache_hit = Signal(str, float)  # image key, seconds to hash it and restore its embedding from disk
    precomputed = Signal(str, float, bool)  # image key, seconds encoding, True if it was on disk already
    precompute_failed = Signal(str, str)  # image key, one-line reason

    def __init__(self, cache_size: int = 6, parent=None) -> None:
        super().__init__(parent)
        self._cond = threading.Condition()
        self._checkpoint: tuple[str, str] | None = None
        self._current: tuple[str, np.ndarray] | None = None
        self._current_key: str | None = None
        self._prefetch: list[tuple[str, np.ndarray]] = []
        self._decode: DecodeRequest | None = None
        self._latest_decode = 0
        self._encoding: str | None = None
        self._cancel: str | None = None
        self._stopping = False
        self._prelabel: PrelabelJob | None = None
        self._prelabel_stop = False
        self._precompute: deque[tuple[str, np.ndarray, str, int]] = deque()  # key, image, hash, generation
        self._precompute_generation = 0
        self._disk: DiskEmbeddings | None = None
        self._checkpoint_id: str | None = None
        self._cache_size = cache_size
        self._background = False  # a prefetch or precompute encode runs on _bg_predictor (worker thread only)
        self._bg_predictor: SamPredictor | None = None
        # Owned by the worker thread only:
        self._predictor: SamPredictor | None = None
        self._embeddings: OrderedDict[str, tuple] = OrderedDict()
        self._active: str | None = None  # key whose embedding the predictor holds
        self._ready: set[str] = set()  # keys with a cached embedding (read under the lock)

    # -- requests (UI thread) ----------------------------------------------------------------------
    def load_checkpoint(self, path: str, device: str = "auto") -> None:
        with self._cond:
            self._checkpoint = (str(path), device)
            self._cancel = self._encoding
            self._cond.notify()

    def encode(self, key: str, image: np.ndarray) -> None:
        """Make ``key`` the current image and encode it unless its embedding is cached."""
        with self._cond:
            self._current = (key, image)
            self._current_key = key
            self._prefetch = [p for p in self._prefetch if p[0] != key]
            if self._encoding not in (None, key):
                self._cancel = self._encoding
            self._cond.notify()

    def cancel_encode(self, key: str) -> None:
        """Stop encoding ``key`` (queued or running, between two encoder blocks); nothing is kept."""
        with self._cond:
            if self._current is not None and self._current[0] == key:
                self._current = None
            if self._encoding == key:
                self._cancel = key

    def prefetch(self, key: str, image: np.ndarray) -> None:
        """Encode ``key`` when idle, so moving to it later is instant."""
        with self._cond:
            if key in self._ready or key == self._encoding or any(p[0] == key for p in self._prefetch):
                return
            self._prefetch = (self._prefetch + [(key, image)])[-2:]
            self._cond.notify()

    def is_encoded(self, key: str) -> bool:
        with self._cond:
            return key in self._ready

    def decode(self, request: DecodeRequest) -> None:
        with self._cond:
            self._latest_decode = request.id
            self._decode = request
            self._cond.notify()

    def cancel_decodes(self) -> None:
        """Forget the pending decode and drop any result still being computed."""
        with self._cond:
            self._latest_decode = -1
            self._decode = None

    def stop(self) -> None:
        with self._cond:
            self._stopping = True
            self._cancel = self._encoding
            self._cond.notify()
        self.wait()
        if self._disk is not None:
            self._disk.close()

    # -- the thread --------------------------------------------------------------------------------
    def run(self) -> None:
        _yield_to_the_ui()
        while True:
            with self._cond:
                job = self._next_job()
                while job is None and not self._stopping:
                    self._cond.wait()
                    job = self._next_job()
                if self._stopping:
                    return
            self._guarded(*job)

    def _guarded(self, kind: str, payload) -> None:
        try:
            self._run_job(kind, payload)
        except _Cancelled:
            pass
        except Exception as exc:  # every error goes back to the UI, none is swallowed
            traceback.print_exc()
            self.failed.emit(kind if kind != "prefetch" else "encode", one_line(exc))

    def _next_job(self, urgent: bool = False):
        """Called with the lock held: take the most urgent request, or None.
        ``urgent``: only what the user waits for (a decode, the current image)."""
        if self._checkpoint is not None:
            job, self._checkpoint = ("checkpoint", self._checkpoint), None
            return job
        if self._predictor is None:
            return None
        if self._decode is not None and self._decode.key in self._ready:
            job, self._decode = ("decode", self._decode), None
            return job
        if self._current is not None:
            key = self._current[0]
            job, self._current = ("encode", self._current), None
            if key in self._ready:
                return "ready", key
            self._encoding = key
            return job
        if urgent:
            return None
        if self._prelabel is not None:
            job, self._prelabel = ("prelabel", self._prelabel), None
            return job
        if self._prefetch:
            key, image = self._prefetch.pop(0)
            if key not in self._ready:
                self._encoding = key
                return "prefetch", (key, image)
        if self._precompute:
            job = self._precompute.popleft()
            self._encoding = job[0]
            return "precompute", job
        return None

    def _do_checkpoint(self, payload: tuple[str, str]) -> None:
        path, device = payload
        with self._cond:
            self._ready.clear()
        self._embeddings.clear()
        self._active = None
        self._predictor = self._bg_predictor = None
        with self._cond:
            self._precompute.clear()  # embeddings of the old checkpoint are no use any more
            self._checkpoint_id = None
        _check_device(device)
        try:
            sam = load_sam(path, device=device)
        except (CheckpointError, torch.OutOfMemoryError):  # out of GPU memory: _run_job loads it on the CPU
            raise
        except Exception as exc:  # sam_core should say CheckpointError; name the file anyway
            raise CheckpointError(f"{Path(path).name}: cannot be loaded ({type(exc).__name__}: {exc})") from exc
        for block in sam.image_encoder.blocks:
            block.register_forward_pre_hook(self._check_cancel)
        depth = len(sam.image_encoder.blocks)
        for i, block in enumerate(sam.image_encoder.blocks):
            block.register_forward_hook(lambda *_, done=i + 1: self._progress(done, depth))
        self._predictor = SamPredictor(sam)
        with self._cond:
            self._checkpoint_id = sam.checkpoint_id
        self.sam_loaded.emit(str(sam.device), sam.config.name)

    def _check_cancel(self, *_) -> None:
        with self._cond:
            if self._cancel is not None and self._cancel == self._encoding:
                self._cancel = None
                key, self._encoding = self._encoding, None
                raise _Cancelled(key)
            request = self._decode if self._background and self._decode and self._decode.key in self._ready else None
            if request is not None:
                self._decode = None
        if request is not None:  # a click during a precompute: answer it between two encoder blocks
            self._guarded("decode", request)

    def _progress(self, done: int, total: int) -> None:
        key = self._encoding
        if key is not None:
            self.encode_progress.emit(key, done, total)

    def _do_ready(self, key: str) -> None:
        self.encoded.emit(key, 0.0)

    def _do_encode(self, payload: tuple[str, np.ndarray]) -> None:
        key, image = payload
        predictor = self._predictor
        self._active = None  # set_image replaces the embedding the predictor holds

        def encode(image: np.ndarray) -> float:
            start = time.perf_counter()
            try:
                predictor.set_image(image)
            except BaseException:
                with self._cond:
                    self._encoding = None
                raise
            return time.perf_counter() - start

        self._embed(key, image, predictor, encode)

    def _embed(self, key: str, image: np.ndarray, predictor: SamPredictor, encode) -> None:
        """Give ``predictor`` the embedding of ``image``: from the disk cache when it is there,
        else ``encode(image)`` (returns seconds). Keep it under ``key``, say so, and store
        a fresh one on disk."""
        disk = self._disk
        image_hash, restored = disk.restore(predictor, image) if disk is not None else (None, None)
        if restored is None:
            self.encode_started.emit(key, str(predictor.device))
            seconds = encode(image)
        else:
            self.cache_hit.emit(key, restored)
            seconds = 0.0
        if predictor is self._predictor:
            self._active = key
        self._keep(key, predictor)
        self.encoded.emit(key, seconds)
        if restored is None and disk is not None:
            disk.store(predictor, image_hash)

    def _keep(self, key: str, predictor: SamPredictor) -> None:
        """Hold ``predictor``'s embedding in memory under ``key``, evicting the oldest."""
        self._embeddings[key] = (predictor.get_image_embedding(), predictor.original_size, predictor.input_size)
        with self._cond:
            self._encoding = None
            self._cancel = None
            self._ready.add(key)
            current = self._current_key
            while len(self._embeddings) > self._cache_size:
                old = next(k for k in self._embeddings if k not in (key, current))
                del self._embeddings[old]
                self._ready.discard(old)

    def _do_decode(self, request: DecodeRequest) -> None:
        predictor = self._predictor
        if self._active != request.key:
            embedding, original_size, input_size = self._embeddings[request.key]
            self._embeddings.move_to_end(request.key)
            predictor.set_image_embedding(embedding, original_size, input_size)
            self._active = request.key
        candidates = predictor.predict_candidates(
            point_coords=request.points if len(request.points) else None,
            point_labels=request.labels if len(request.labels) else None,
            box=request.box,
            mask_input=request.mask_input,
            multimask_output=request.multimask,
        )
        if self._is_stale(request.id):
            return
        candidates.mask(candidates.best)  # the shown one, upscaled here rather than in the UI
        if self._is_stale(request.id):
            return
        self.decoded.emit(request.id, candidates)
        for index in candidates.order[1:]:  # the others, while nothing newer waits
            if self._is_stale(request.id) or self._decode is not None:
                break
            candidates.mask(index)

    def _run_job(self, kind: str, payload) -> None:
        """Run one job; when the GPU runs out of memory, move SAM to the CPU and run it once more."""
        try:
            getattr(self, f"_do_{kind}")(payload)
        except torch.OutOfMemoryError as exc:
            if kind == "checkpoint":
                payload = (payload[0], "cpu")
                self._announce_fallback(exc)
            elif not self._fall_back_to_cpu(exc):
                raise
            if kind in ("encode", "precompute", "prefetch"):
                with self._cond:
                    self._encoding = payload[0]
            getattr(self, f"_do_{kind}")(payload)

    def _fall_back_to_cpu(self, exc: BaseException) -> bool:
        """Move SAM to the CPU after a GPU out-of-memory error and say so; False if no model."""
        if not self._move_to_cpu():
            return False
        self._announce_fallback(exc)
        return True

    def _announce_fallback(self, exc: BaseException) -> None:
        self.fell_back.emit(f"The GPU ran out of memory ({one_line(exc)[:160]}); SAM now runs on the CPU, "
                            "more slowly. Reopen the checkpoint to try the GPU again.")

    def _move_to_cpu(self) -> bool:
        """Put the model and the cached embeddings on the CPU and free the GPU's cache."""
        predictor = self._predictor
        if predictor is None:
            return False
        predictor.model.to("cpu")
        for each in (predictor, self._bg_predictor):  # the precompute predictor shares the model
            if each is not None:
                each.reset_image()
        self._active = None
        for key, (embedding, *sizes) in list(self._embeddings.items()):
            self._embeddings[key] = (embedding.to("cpu"), *sizes)
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
        return True

    def _is_stale(self, request_id: int) -> bool:
        with self._cond:
            return request_id != self._latest_decode or self._stopping


def _yield_to_the_ui(niceness: int = 5) -> None:
    """Lower this thread's CPU priority (Linux: per-thread nice; torch's pool threads
    started from here inherit it), so the UI thread wins the cores while encoding."""
    if hasattr(os, "setpriority") and sys.platform.startswith("linux"):
        try:
            tid = threading.get_native_id()
            os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + niceness))
        except OSError:
            pass


def _check_device(device: str) -> None:
    """Say plainly when the asked-for device does not exist here (torch's own error is cryptic)."""
    report = check_device(device)
    if report.device is None:
        raise CheckpointError(report.summary)
