"""The SAM worker's requests and who runs what next: one lock, three lanes (no Qt).

Modelled on Qt's ``mandelbrot`` example (``RenderThread``): the UI thread posts
requests under a lock and returns at once; each lane's thread takes the most urgent
job for it, runs it without the lock, and comes back. Interactive decodes follow
"latest wins": only the newest request is kept.

- ``JOBS`` lane: load a checkpoint > the image on screen (instantly when its embedding
  is in memory). Opening an image makes a background encode give way (to be resumed
  when it is a precompute) and waits for the encoder to be free, at most one block.
- ``CLICKS`` lane: the latest decode, as soon as its image's embedding is in memory.
- ``BACKGROUND`` lane, only while the ``JOBS`` lane has nothing to do: segment
  everything > boxes to masks > pre-encode the next images > precompute. Segment
  everything pauses between point batches, boxes to masks between boxes, while the
  ``JOBS`` lane works.

A device switch (the GPU ran out of memory) needs SAM to itself: it stops new jobs,
makes running encodes give way, waits for the others to finish or pause, and only
then moves SAM.
"""
from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from app.services.sam.boxes_to_masks import BoxesToMasks, BoxJob
from app.services.sam.checkpoint_job import LoadCheckpoint
from app.services.sam.decode_job import Decode
from app.services.sam.disk_embeddings import DiskEmbeddings
from app.services.sam.embedding_store import EmbeddingStore
from app.services.sam.encode_jobs import EncodeImage, ImageReady, PrefetchImage
from app.services.sam.job import Cancelled, Job, Reason
from app.services.sam.lanes import Lane
from app.services.sam.precompute_job import PrecomputeImage
from app.services.sam.requests import DecodeRequest, PrecomputeRequest
from app.services.sam.segment_everything import PrelabelJob, SegmentEverything
from sam_core import Sam, SamPredictor


@dataclass
class _Running:
    job: Job
    cancel: Reason | None = None
    paused: bool = False  # waiting inside the job: it does no SAM work until it wakes


class JobQueue:
    """Thread-safe; ``take`` blocks its lane until there is a job or the worker stops."""

    def __init__(self, store: EmbeddingStore) -> None:
        self.store = store
        self._cond = threading.Condition()
        self._stopping = False
        self._sam: Sam | None = None
        self._epoch = 0  # grows when SAM is replaced or moved; the lanes' predictors go then
        self._predictors: dict[Lane, SamPredictor] = {}
        self._switching: Lane | None = None
        self._running: dict[Lane, _Running] = {}
        self._disk: DiskEmbeddings | None = None
        self._checkpoint: LoadCheckpoint | None = None
        self._current: tuple[str, np.ndarray] | None = None
        self._current_key: str | None = None
        self._prefetch: list[tuple[str, np.ndarray]] = []
        self._decode: DecodeRequest | None = None
        self._latest_decode = 0
        self._prelabel: PrelabelJob | None = None
        self._boxes: BoxesToMasks | None = None
        self._precompute: deque[PrecomputeRequest] = deque()
        self._precompute_generation = 0

    # -- requests (any thread, mostly the UI's) -------------------------------------------------
    def post_checkpoint(self, job: LoadCheckpoint) -> None:
        with self._cond:
            self._checkpoint = job
            self._cancel_encode(Lane.JOBS, Reason.CHECKPOINT)
            self._cond.notify_all()

    def post_encode(self, key: str, image: np.ndarray) -> None:
        with self._cond:
            self._current, self._current_key = (key, image), key
            self._prefetch = [p for p in self._prefetch if p[0] != key]
            self._cancel_encode(Lane.JOBS, Reason.REPLACED, unless=key)
            if not self.store.has(key):  # it needs the encoder: background encodes give way
                self._cancel_encode(Lane.BACKGROUND, Reason.GAVE_WAY, unless=key)
            self._cond.notify_all()

    def cancel_encode(self, key: str) -> None:
        """The user stopped encoding ``key``: drop it if queued, stop it at the next encoder
        block if running (it is not queued again)."""
        with self._cond:
            if self._current is not None and self._current[0] == key:
                self._current = None
            running = self._running.get(Lane.JOBS)
            if running is not None and isinstance(running.job, EncodeImage) and running.job.key == key \
                    and running.cancel is None:
                running.cancel = Reason.CANCELLED
            self._cond.notify_all()

    def post_prefetch(self, key: str, image: np.ndarray) -> None:
        with self._cond:
            encoding = {r.job.image_key for r in self._running.values()}
            if self.store.has(key) or key in encoding or any(p[0] == key for p in self._prefetch):
                return
            self._prefetch = (self._prefetch + [(key, image)])[-2:]
            self._cond.notify_all()

    def post_decode(self, request: DecodeRequest) -> None:
        with self._cond:
            self._latest_decode, self._decode = request.id, request
            self._cond.notify_all()

    def cancel_decodes(self) -> None:
        with self._cond:
            self._latest_decode, self._decode = -1, None

    def post_prelabel(self, job: PrelabelJob) -> None:
        with self._cond:
            self._prelabel = job
            self._cancel_running(Lane.BACKGROUND, SegmentEverything, Reason.REPLACED)
            self._cond.notify_all()

    def cancel_prelabel(self) -> PrelabelJob | None:
        """Stop the running job (between two point batches); returns the one that had not started."""
        with self._cond:
            queued, self._prelabel = self._prelabel, None
            self._cancel_running(Lane.BACKGROUND, SegmentEverything, Reason.CANCELLED)
            return queued

    def post_boxes(self, job: BoxJob) -> None:
        with self._cond:
            self._boxes = BoxesToMasks(job)
            self._cancel_running(Lane.BACKGROUND, BoxesToMasks, Reason.REPLACED)
            self._cond.notify_all()

    def cancel_boxes(self) -> BoxJob | None:
        """Stop the running job (between two boxes, or within an encode); returns the one
        that had not started (or was waiting to go on)."""
        with self._cond:
            queued, self._boxes = self._boxes, None
            self._cancel_running(Lane.BACKGROUND, BoxesToMasks, Reason.CANCELLED)
            return None if queued is None else queued.request

    def post_precompute(self, key: str, image: np.ndarray, image_hash: str) -> None:
        with self._cond:
            self._precompute.append(PrecomputeRequest(key, image, image_hash, self._precompute_generation))
            self._cond.notify_all()

    def cancel_precompute(self) -> None:
        with self._cond:
            self._precompute_generation += 1
            self._precompute.clear()
            self._cancel_running(Lane.BACKGROUND, PrecomputeImage, Reason.CANCELLED)

    def queued_precompute(self) -> int:
        """Precompute requests not started yet."""
        with self._cond:
            return len(self._precompute)

    def set_disk(self, disk: DiskEmbeddings | None) -> DiskEmbeddings | None:
        """Use ``disk`` from now on; returns the one it replaces."""
        with self._cond:
            old, self._disk = self._disk, disk
            return old

    @property
    def disk(self) -> DiskEmbeddings | None:
        with self._cond:
            return self._disk

    @property
    def embedding_shapes(self) -> dict[str, tuple[int, ...]] | None:
        """The tensor shapes of the loaded SAM's embedding (None with none loaded)."""
        with self._cond:
            sam = self._sam
        return None if sam is None else sam.embedding_shapes()

    @property
    def checkpoint_id(self) -> str | None:
        with self._cond:
            return None if self._sam is None else self._sam.checkpoint_id

    def stop(self) -> None:
        with self._cond:
            self._stopping = True
            for running in self._running.values():
                running.cancel = Reason.STOPPING
            self._cond.notify_all()

    # -- the lanes ----------------------------------------------------------------------------------
    def take(self, lane: Lane) -> Job | None:
        """The next job for ``lane``, waiting for one; None when the worker stops."""
        with self._cond:
            while not self._stopping:
                job = self._next(lane) if self._switching is None else None
                if job is not None:
                    self._running[lane] = _Running(job)
                    return job
                self._cond.wait()
            return None

    def finished(self, lane: Lane) -> None:
        with self._cond:
            self._running.pop(lane, None)
            self._cond.notify_all()

    def gave_up(self, job: Job, reason: Reason) -> None:
        """``job`` stopped on a :class:`Cancelled`: queue again what is still wanted."""
        with self._cond:
            if reason in (Reason.CHECKPOINT, Reason.DEVICE_SWITCH) and isinstance(job, EncodeImage):
                if self._current is None and self._current_key == job.key:
                    self._current = (job.key, job.image)
            elif reason is Reason.DEVICE_SWITCH and isinstance(job, PrefetchImage):
                self._prefetch.insert(0, (job.key, job.image))
            elif reason in (Reason.GAVE_WAY, Reason.DEVICE_SWITCH) and isinstance(job, BoxesToMasks):
                if self._boxes is None:  # not replaced or cancelled meanwhile: go on from its image
                    self._boxes = job
            elif reason in (Reason.GAVE_WAY, Reason.DEVICE_SWITCH) and isinstance(job, PrecomputeImage):
                if job.request.generation == self._precompute_generation:
                    self._precompute.appendleft(job.request)

    def check(self, lane: Lane) -> None:
        """Raise :class:`Cancelled` if the job running on ``lane`` was told to stop."""
        with self._cond:
            running = self._running.get(lane)
            reason = Reason.STOPPING if self._stopping else running.cancel if running else None
        if reason is not None:
            raise Cancelled(reason)

    def between_batches(self, lane: Lane) -> bool:
        """For a long job between two steps: True to stop now; else wait while the ``JOBS``
        lane works or SAM is being moved, and return False to go on."""
        with self._cond:
            running = self._running[lane]
            try:
                while True:
                    if self._stopping or running.cancel is not None:
                        return True
                    if self._switching is None and not self._foreground_busy():
                        return False
                    if not running.paused:
                        running.paused = True
                        self._cond.notify_all()
                    self._cond.wait()
            finally:
                running.paused = False

    # -- decodes --------------------------------------------------------------------------------------
    def is_stale(self, request: DecodeRequest) -> bool:
        with self._cond:
            return request.id != self._latest_decode or self._stopping

    def decode_waiting(self) -> bool:
        with self._cond:
            return self._decode is not None

    def decode_again(self, request: DecodeRequest) -> None:
        """Put ``request`` back (its embedding went meanwhile) unless a newer one came."""
        with self._cond:
            if request.id == self._latest_decode and self._decode is None:
                self._decode = request
                self._cond.notify_all()

    def wanted(self, key: str) -> bool:
        """Whether the user is on ``key`` or about to go there (it is worth keeping in memory)."""
        with self._cond:
            return key == self._current_key or any(p[0] == key for p in self._prefetch)

    @property
    def current_key(self) -> str | None:
        with self._cond:
            return self._current_key

    def embedding_kept(self) -> None:
        """Wake the lanes: a decode or the image on screen may be waiting for that embedding."""
        with self._cond:
            self._cond.notify_all()

    # -- SAM ------------------------------------------------------------------------------------------
    def sam(self) -> tuple[Sam | None, int]:
        """The loaded SAM (or None) and its epoch."""
        with self._cond:
            return self._sam, self._epoch

    def predictor(self, lane: Lane) -> tuple[SamPredictor, int]:
        """``lane``'s predictor for the loaded SAM, and the epoch it belongs to (RuntimeError if none)."""
        with self._cond:
            if self._sam is None:
                raise RuntimeError("no SAM checkpoint is loaded")
            if lane not in self._predictors:
                self._predictors[lane] = SamPredictor(self._sam)
            return self._predictors[lane], self._epoch

    def swap_sam(self, sam: Sam | None, lane: Lane | None = None) -> Sam | None:
        """Make ``sam`` the loaded SAM; the embeddings of the old one go, and so do background
        jobs made for it. Returns the old one. ``lane``: the caller, when it holds SAM
        :meth:`exclusive`-ly."""
        with self._cond:
            while self._switching not in (None, lane):
                self._cond.wait()
            old, self._sam = self._sam, sam
            self._new_epoch()
            self.store.clear()
            self._precompute.clear()  # their embeddings would be the old checkpoint's
            self._cancel_running(Lane.BACKGROUND, Job, Reason.NEW_SAM)
            self._cond.notify_all()
            return old

    @contextmanager
    def exclusive(self, lane: Lane) -> Iterator[tuple[Sam | None, int]]:
        """SAM to ``lane`` alone (to move it to another device): no other lane runs SAM work
        inside. Yields the SAM and the epoch before the switch; the epoch grows after it."""
        with self._cond:
            me = self._running.get(lane)
            if me is not None:
                me.paused = True  # while it waits for another lane's switch
            while self._switching is not None:
                self._cond.wait()
            self._switching = lane
            for other in self._running:
                if other is not lane:
                    self._cancel_encode(other, Reason.DEVICE_SWITCH)
            self._cond.notify_all()
            while any(other is not lane and r.job.uses_sam and not r.paused for other, r in self._running.items()):
                self._cond.wait()
            sam, epoch = self._sam, self._epoch
        try:
            yield sam, epoch
        finally:
            with self._cond:
                self._switching = None
                self._new_epoch()
                if me is not None:
                    me.paused = False
                self._cond.notify_all()

    # -- called with the lock held ------------------------------------------------------------------
    def _new_epoch(self) -> None:
        self._epoch += 1
        self._predictors.clear()  # they hold the old SAM (or its old device's tensors)

    def _next(self, lane: Lane) -> Job | None:
        if lane is Lane.JOBS:
            return self._next_foreground()
        if lane is Lane.CLICKS:
            request = self._decode
            if self._sam is None or request is None or not self.store.has(request.key):
                return None
            self._decode = None
            return Decode(request)
        return self._next_background()

    def _next_foreground(self) -> Job | None:
        if self._checkpoint is not None:
            job, self._checkpoint = self._checkpoint, None
            return job
        if self._sam is None or self._current is None:
            return None
        key, image = self._current
        if self.store.has(key):
            self._current = None
            return ImageReady(key)
        background = self._running.get(Lane.BACKGROUND)
        if background is not None and not background.paused:
            if background.job.image_key not in (None, key):
                background.cancel = background.cancel or Reason.GAVE_WAY
            return None  # the encoder is busy for at most a block, or that encode is this image's
        self._current = None
        return EncodeImage(key, image)

    def _next_background(self) -> Job | None:
        if self._sam is None or self._foreground_busy():
            return None
        if self._prelabel is not None:
            job, self._prelabel = self._prelabel, None
            return SegmentEverything(job)
        if self._boxes is not None:
            job, self._boxes = self._boxes, None
            return job
        while self._prefetch:
            key, image = self._prefetch.pop(0)
            if not self.store.has(key):
                return PrefetchImage(key, image)
        if self._precompute:
            return PrecomputeImage(self._precompute.popleft())
        return None

    def _foreground_busy(self) -> bool:
        """Whether the ``JOBS`` lane works, or has work it will take as soon as it can."""
        if self._checkpoint is not None:
            return True
        if self._current is not None and not self.store.has(self._current[0]):
            return True
        jobs = self._running.get(Lane.JOBS)
        return jobs is not None and not isinstance(jobs.job, ImageReady)

    def _cancel_encode(self, lane: Lane, reason: Reason, unless: str | None = None) -> None:
        running = self._running.get(lane)
        if running is not None and running.job.image_key not in (None, unless) and running.cancel is None:
            running.cancel = reason

    def _cancel_running(self, lane: Lane, kind: type[Job], reason: Reason) -> None:
        running = self._running.get(lane)
        if running is not None and isinstance(running.job, kind) and running.cancel is None:
            running.cancel = reason


__all__ = ["Cancelled", "JobQueue"]
