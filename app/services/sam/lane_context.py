""":class:`LaneContext`: the :class:`~app.services.sam.context.JobContext` of one lane of the
SAM worker, over its job queue (no Qt). See that protocol for what each member means.
"""
from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import torch

from app.services.sam.disk_embeddings import DiskEmbeddings
from app.services.sam.embedding_store import EmbeddingStore
from app.services.sam.encoder_watch import EncoderWatch
from app.services.sam.events import EncodeProgress, Event, out_of_memory_notice
from app.services.sam.job_queue import JobQueue
from app.services.sam.lanes import Lane
from app.services.sam.requests import DecodeRequest
from sam_core import Sam, SamPredictor


class LaneContext:
    """The context jobs get on ``lane``. ``report(event)`` delivers an event as the worker's
    signal; it may be called from any thread."""

    def __init__(self, lane: Lane, queue: JobQueue, store: EmbeddingStore, watch: EncoderWatch,
                 report: Callable[[Event], None]) -> None:
        self.lane, self.store, self.report = lane, store, report
        self._queue, self._watch = queue, watch
        self._epoch = -1  # of SAM when the job began
        self._holds: tuple[int, str] | None = None  # epoch and key of the embedding this lane's predictor holds

    def begin(self) -> None:
        """Called by the worker before each run of a job."""
        self._epoch = self._queue.sam()[1]

    # -- SAM --------------------------------------------------------------------------------------
    @property
    def sam(self) -> Sam | None:
        return self._queue.sam()[0]

    @property
    def predictor(self) -> SamPredictor:
        """This lane's predictor for the loaded SAM (a fresh one after SAM was replaced or moved)."""
        return self._queue.predictor(self.lane)[0]

    def predictor_holding(self, key: str) -> SamPredictor | None:
        """This lane's predictor with ``key``'s embedding set, from memory; None when memory
        no longer holds it."""
        predictor, epoch = self._queue.predictor(self.lane)
        if self._holds != (epoch, key):
            try:
                embedding = self.store.get(key)
            except KeyError:
                return None
            predictor.set_image_embedding(*embedding)
            self._holds = (epoch, key)
        return predictor

    def install_sam(self, sam: Sam) -> None:
        """Make ``sam`` (just loaded) the one every lane uses, with its encoder watched."""
        self._watch.install(sam)
        self._queue.swap_sam(sam)

    def release_sam(self) -> bool:
        """Drop the loaded SAM and its embeddings to free the device's memory; False if none."""
        with self._queue.exclusive(self.lane) as (sam, _epoch):
            if sam is None:
                return False
            self._queue.swap_sam(None, self.lane)
        del sam
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
        return True

    def fall_back_to_cpu(self, error: BaseException) -> bool:
        """After a GPU out-of-memory error: move SAM and the kept embeddings to the CPU and
        say so. False when no SAM is loaded; True (without a second notice) when another
        lane moved it since this job began."""
        with self._queue.exclusive(self.lane) as (sam, epoch):
            if sam is None:
                return False
            if epoch != self._epoch:
                return True
            sam.to("cpu")
            self.store.move_to("cpu")
            if torch.cuda.is_available():
                torch.cuda.empty_cache()
        self.report(out_of_memory_notice(error))
        return True

    # -- embeddings -------------------------------------------------------------------------------
    @property
    def disk(self) -> DiskEmbeddings | None:
        return self._queue.disk

    def encode(self, predictor: SamPredictor, key: str, image: np.ndarray) -> float:
        """Encode ``image`` (HxWx3 uint8) on ``predictor``, reporting progress per encoder block
        and stopping between blocks when cancelled. Returns the seconds it took."""
        self._holds = None  # set_image replaces whatever the predictor held
        start = time.perf_counter()
        with self._watch.watching(self.check, lambda done, total: self.report(EncodeProgress(key, done, total))):
            predictor.set_image(image)
        return time.perf_counter() - start

    def keep(self, key: str, predictor: SamPredictor) -> None:
        """Hold ``predictor``'s embedding in memory under ``key`` (the image on screen is never evicted)."""
        self.store.keep(key, predictor, protect=self._queue.current_key)
        mine, epoch = self._queue.predictor(self.lane)
        if predictor is mine:
            self._holds = (epoch, key)
        self._queue.embedding_kept()

    def wanted(self, key: str) -> bool:
        """Whether the user is on ``key`` or about to go there."""
        return self._queue.wanted(key)

    # -- cancellation and clicks ------------------------------------------------------------------
    def check(self) -> None:
        """Raise :class:`~app.services.sam.job.Cancelled` if this job was told to stop."""
        self._queue.check(self.lane)

    def between_batches(self) -> bool:
        """For a long job between two steps: True to stop; else wait while the user's work
        runs, then False to go on."""
        return self._queue.between_batches(self.lane)

    def is_stale(self, request: DecodeRequest) -> bool:
        """Whether a newer decode (or a cancel) came since ``request``."""
        return self._queue.is_stale(request)

    def decode_waiting(self) -> bool:
        return self._queue.decode_waiting()

    def decode_again(self, request: DecodeRequest) -> None:
        """Decode ``request`` once its image's embedding is back in memory, unless a newer one comes."""
        self._queue.decode_again(request)
