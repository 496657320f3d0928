"""The SAM worker: the one object that owns SAM, and the threads that run its jobs.

The UI thread posts requests (:meth:`SamWorker.encode`, :meth:`SamWorker.decode`, ...)
and returns at once. Three lanes take jobs from one :class:`JobQueue` (see
:mod:`app.services.sam.job_queue` for the priorities and :mod:`app.services.sam.lanes`
for why three): this QThread loads checkpoints and encodes the image on screen, a
click lane decodes, and a background lane at the lowest CPU priority segments
everything, decodes boxes waiting for SAM, pre-encodes the next image and precomputes
the folder. Every job is an
object with one ``run``; :meth:`SamWorker._run` reports it in one shape and
:meth:`SamWorker._deliver` is the one place that turns what jobs report into signals.
Nothing here touches a widget, and every error comes back as one line
(:attr:`SamWorker.failed`, or :attr:`SamWorker.precompute_failed` for precompute).
"""
from __future__ import annotations

import traceback

import numpy as np
import torch
from PySide6.QtCore import QThread, Signal

from app.services.messages import one_line
from app.services.sam import events
from app.services.sam.boxes_to_masks import BoxJob
from app.services.sam.checkpoint_job import LoadCheckpoint
from app.services.sam.disk_embeddings import DiskEmbeddings, stored_bytes
from app.services.sam.embedding_store import EmbeddingStore
from app.services.sam.encoder_watch import EncoderWatch
from app.services.sam.job import Cancelled, Job
from app.services.sam.job_queue import JobQueue
from app.services.sam.lane_context import LaneContext
from app.services.sam.lanes import POLICIES, Lane, LanePolicy, enter_lane
from app.services.sam.requests import DecodeRequest
from app.services.sam.segment_everything import AutoMask, PrelabelItem, PrelabelJob, PrelabelParams
from sam_core import EmbeddingCache


class SamWorker(QThread):
    """Owns SAM, its predictors and its embeddings; every public method is safe to call from
    the UI thread. Start it with :meth:`start` and end it with :meth:`stop`."""

    sam_loaded = Signal(str, str)  # device, config title ("SAM 2.1 hiera_t")
    sam_kept = Signal(str, str)  # device, config title: a new checkpoint failed and this SAM still answers
    encode_started = Signal(str, str)  # image key, device
    encode_progress = Signal(str, int, int)  # image key, blocks done, blocks in all
    encoded = Signal(str, float)  # image key, seconds
    decoded = Signal(int, object)  # request id, sam_core Candidates (best mask already computed)
    failed = Signal(str, str)  # what ("checkpoint", "encode", "decode", "pre-label", "cache"), one-line message
    fell_back = Signal(str)  # one-line notice: the GPU ran out of memory and SAM moved to the CPU
    prelabel_progress = Signal(int, int, int, int, int)  # job id, image number, images, batches done, batches
    prelabelled = Signal(int, int, object)  # job id, image id, list[AutoMask]
    prelabel_finished = Signal(int, bool)  # job id, cancelled
    boxes_progress = Signal(int, int, int)  # job id, images done, images
    boxed = Signal(int, int, object)  # job id, image id, list[BoxMask]
    boxes_finished = Signal(int, bool)  # job id, cancelled
    cache_hit = Signal(str, float)  # image key, seconds to hash it and restore its embedding from disk
    precomputed = Signal(str, float, bool)  # image key, seconds encoding, True if it was on disk already
    precompute_failed = Signal(str, str)  # image key, one-line reason

    def __init__(self, cache_size: int = 6, parent=None, policies: dict[Lane, LanePolicy] = POLICIES) -> None:
        """``cache_size``: embeddings kept in memory; ``policies``: each lane's CPU priority
        and torch threads (see :mod:`app.services.sam.lanes`)."""
        super().__init__(parent)
        self._policies = dict(policies)
        store = EmbeddingStore(cache_size)
        self._queue = JobQueue(store)
        watch = EncoderWatch()
        self._contexts = {lane: LaneContext(lane, self._queue, store, watch, self._deliver) for lane in Lane}
        self._lanes = {lane: _LaneThread(self, lane) for lane in (Lane.CLICKS, Lane.BACKGROUND)}

    # -- requests (UI thread) ----------------------------------------------------------------------
    def load_checkpoint(self, path: str, device: str = "auto") -> None:
        """Load ``path`` on ``device`` and make it the SAM in use; until then, and if it fails,
        the SAM loaded before keeps answering."""
        self._queue.post_checkpoint(LoadCheckpoint(str(path), device))

    def encode(self, key: str, image: np.ndarray) -> None:
        """Make ``key`` (image HxWx3 uint8) the image on screen and encode it unless its
        embedding is in memory; background encodes give way to it."""
        self._queue.post_encode(key, image)

    def cancel_encode(self, key: str) -> None:
        """Stop encoding ``key`` (queued or running, between two encoder blocks); nothing is kept."""
        self._queue.cancel_encode(key)

    def prefetch(self, key: str, image: np.ndarray) -> None:
        """Encode ``key`` in the background, so moving to it later is instant."""
        self._queue.post_prefetch(key, image)

    def is_encoded(self, key: str) -> bool:
        return self._queue.store.has(key)

    def decode(self, request: DecodeRequest) -> None:
        """Decode ``request`` as soon as its image is encoded; it replaces any older one."""
        self._queue.post_decode(request)

    def cancel_decodes(self) -> None:
        """Forget the pending decode and drop any result still being computed."""
        self._queue.cancel_decodes()

    def prelabel(self, job: PrelabelJob) -> None:
        """Segment everything on ``job``'s images in the background; a running job is stopped first."""
        self._queue.post_prelabel(job)

    def cancel_prelabel(self) -> None:
        """Stop the pre-label job between two point batches (or before it starts)."""
        queued = self._queue.cancel_prelabel()
        if queued is not None:
            self._deliver(events.PrelabelFinished(queued.id, True))

    def boxes_to_masks(self, job: BoxJob) -> None:
        """Decode ``job``'s waiting boxes in the background; a running job is stopped first."""
        self._queue.post_boxes(job)

    def cancel_boxes(self) -> None:
        """Stop the boxes job between two boxes (or before it starts)."""
        queued = self._queue.cancel_boxes()
        if queued is not None:
            self._deliver(events.BoxesFinished(queued.id, True))

    def set_disk_cache(self, cache: EmbeddingCache | None) -> None:
        """Keep embeddings in ``cache`` too (None: memory only)."""
        disk = None if cache is None else DiskEmbeddings(cache, lambda text: self._deliver(events.Failed("cache", text)))
        old = self._queue.set_disk(disk)
        if old is not None:
            old.close()

    @property
    def disk_cache(self) -> EmbeddingCache | None:
        disk = self._queue.disk
        return None if disk is None else disk.cache

    def embedding_bytes(self) -> int | None:
        """Bytes one image takes in the disk cache with the loaded SAM (None with none loaded):
        the family's whole embedding, SAM 2's high-resolution features included."""
        shapes = self._queue.embedding_shapes
        return None if shapes is None else stored_bytes(shapes)

    def has_on_disk(self, image_hash: str) -> bool:
        """Whether the loaded checkpoint's embedding of that image is in the disk cache."""
        disk, checkpoint_id = self._queue.disk, self._queue.checkpoint_id
        return disk is not None and checkpoint_id is not None and disk.contains(image_hash, checkpoint_id)

    def precompute(self, key: str, image: np.ndarray, image_hash: str) -> None:
        """Encode ``image`` into the disk cache when nothing else is to be done; reports
        ``precomputed`` or ``precompute_failed``."""
        self._queue.post_precompute(key, image, image_hash)

    def cancel_precompute(self) -> None:
        """Drop the queued precompute jobs and abandon the one running."""
        self._queue.cancel_precompute()

    def start(self, priority: QThread.Priority = QThread.Priority.InheritPriority) -> None:
        """Start the lanes. Called from the UI thread, so the click lane inherits its CPU priority."""
        self._lanes[Lane.CLICKS].start(QThread.Priority.InheritPriority)
        self._lanes[Lane.BACKGROUND].start(QThread.Priority.LowestPriority)
        super().start(priority)

    def stop(self) -> None:
        """Stop every lane after its current job (encodes stop at the next encoder block)."""
        self._queue.stop()
        self.wait()
        for lane in self._lanes.values():
            lane.wait()
        disk = self._queue.set_disk(None)
        if disk is not None:
            disk.close()

    # -- the lanes ---------------------------------------------------------------------------------
    def run(self) -> None:
        self.serve(Lane.JOBS)

    def serve(self, lane: Lane) -> None:
        """Run ``lane``'s jobs until the worker stops (on the lane's own thread)."""
        enter_lane(self._policies[lane])
        ctx = self._contexts[lane]
        while (job := self._queue.take(lane)) is not None:
            self._run(job, ctx)

    def _run(self, job: Job, ctx: LaneContext) -> None:
        """Run ``job`` and report it: what it returns, or its error as one line, or nothing
        when it was cancelled (the queue takes back what is still wanted)."""
        try:
            result = self._attempt(job, ctx)
        except Cancelled as cancelled:
            self._queue.gave_up(job, cancelled.reason)
        except Exception as exc:  # every error goes back to the UI, none is swallowed
            traceback.print_exc()
            for event in job.failure(ctx, one_line(exc)):
                self._deliver(event)
        else:
            if result is not None:
                self._deliver(result)
        finally:
            self._queue.finished(ctx.lane)

    @staticmethod
    def _attempt(job: Job, ctx: LaneContext):
        """``job.run``; when the GPU runs out of memory, once more on the CPU."""
        ctx.begin()
        try:
            return job.run(ctx)
        except torch.OutOfMemoryError as exc:
            if not job.retry_on_cpu(ctx, exc):
                raise
            ctx.begin()
            return job.run(ctx)

    def _deliver(self, event: events.Event) -> None:
        """The one place where what jobs report becomes a signal (from any thread: Qt
        queues it to the receivers' thread)."""
        match event:
            case events.SamLoaded(device, title):
                self.sam_loaded.emit(device, title)
            case events.SamKept(device, title):
                self.sam_kept.emit(device, title)
            case events.EncodeStarted(key, device):
                self.encode_started.emit(key, device)
            case events.EncodeProgress(key, done, total):
                self.encode_progress.emit(key, done, total)
            case events.CacheHit(key, seconds):
                self.cache_hit.emit(key, seconds)
            case events.Encoded(key, seconds):
                self.encoded.emit(key, seconds)
            case events.Decoded(request_id, candidates):
                self.decoded.emit(request_id, candidates)
            case events.Failed(kind, text):
                self.failed.emit(kind, text)
            case events.FellBack(text):
                self.fell_back.emit(text)
            case events.PrelabelProgress(job_id, number, images, done, batches):
                self.prelabel_progress.emit(job_id, number, images, done, batches)
            case events.Prelabelled(job_id, image_id, masks):
                self.prelabelled.emit(job_id, image_id, masks)
            case events.PrelabelFinished(job_id, cancelled):
                self.prelabel_finished.emit(job_id, cancelled)
            case events.BoxesProgress(job_id, done, images):
                self.boxes_progress.emit(job_id, done, images)
            case events.Boxed(job_id, image_id, masks):
                self.boxed.emit(job_id, image_id, masks)
            case events.BoxesFinished(job_id, cancelled):
                self.boxes_finished.emit(job_id, cancelled)
            case events.Precomputed(key, seconds, was_on_disk):
                self.precomputed.emit(key, seconds, was_on_disk)
            case events.PrecomputeFailed(key, text):
                self.precompute_failed.emit(key, text)
            case _:
                raise TypeError(f"no signal for {event!r}")


class _LaneThread(QThread):
    """A thread that serves one lane of ``worker``."""

    def __init__(self, worker: SamWorker, lane: Lane) -> None:
        super().__init__(worker)
        self._worker, self._lane = worker, lane

    def run(self) -> None:
        self._worker.serve(self._lane)


__all__ = ["AutoMask", "DecodeRequest", "PrelabelItem", "PrelabelJob", "PrelabelParams", "SamWorker"]
