"""The SAM worker's background encodes: pre-encoding the next image, and "precompute" jobs
(a part of :class:`SamWorker`).

Both run on a second predictor, so the interactive one keeps the current
image's embedding, and between two encoder blocks they answer pending clicks
(see ``SamWorker._check_cancel``). Precompute jobs come last of all the
worker's jobs: each encodes one image into the disk cache, and gives way, to be
resumed later, when the user opens an image that needs encoding.
"""
from __future__ import annotations

import time
import traceback

import numpy as np
import torch

from app.services.sam.disk_embeddings import DiskEmbeddings
from app.services.messages import one_line
from sam_core import EmbeddingCache, SamPredictor


class _Cancelled(Exception):
    """Raised from an encoder hook to abandon an encoding nobody needs any more."""


class PrecomputeJobs:
    """Mixed into :class:`SamWorker`, whose lock, queues and predictor it shares."""

    def set_disk_cache(self, cache: EmbeddingCache | None) -> None:
        """Keep embeddings in ``cache`` too (None: memory only)."""
        disk = None if cache is None else DiskEmbeddings(cache, lambda text: self.failed.emit("cache", text))
        with self._cond:
            old, self._disk = self._disk, disk
        if old is not None:
            old.close()

    @property
    def disk_cache(self) -> EmbeddingCache | None:
        with self._cond:
            return None if self._disk is None else self._disk.cache

    def has_on_disk(self, image_hash: str) -> bool:
        """Whether the loaded checkpoint's embedding of that image is in the disk cache."""
        with self._cond:
            disk, checkpoint_id = self._disk, self._checkpoint_id
        return disk is not None and checkpoint_id is not None and disk.contains(image_hash, checkpoint_id)

    def precompute(self, key: str, image: np.ndarray, image_hash: str) -> None:
        """Encode ``image`` into the disk cache when nothing else is to be done; reports
        ``precomputed`` or ``precompute_failed``."""
        with self._cond:
            self._precompute.append((key, image, image_hash, self._precompute_generation))
            self._cond.notify()

    def cancel_precompute(self) -> None:
        """Drop the queued precompute jobs and abandon the one running."""
        with self._cond:
            self._precompute_generation += 1
            self._precompute.clear()
            if self._background:
                self._cancel = self._encoding

    def _background_predictor(self) -> SamPredictor:
        if self._bg_predictor is None or self._bg_predictor.model is not self._predictor.model:
            self._bg_predictor = SamPredictor(self._predictor.model)
        return self._bg_predictor

    def _encode_in_background(self, predictor: SamPredictor, image: np.ndarray) -> float:
        """Encode on the background predictor (clicks are answered between blocks); seconds."""
        start = time.perf_counter()
        self._background = True
        try:
            predictor.set_image(image)
        finally:
            self._background = False
            with self._cond:
                self._encoding = None
        return time.perf_counter() - start

    def _do_prefetch(self, payload: tuple[str, np.ndarray]) -> None:
        """Pre-encode the image the user will probably open next (from disk if it is there)."""
        key, image = payload
        predictor = self._background_predictor()
        self._embed(key, image, predictor, lambda image: self._encode_in_background(predictor, image))

    def _do_precompute(self, job: tuple[str, np.ndarray, str, int]) -> None:
        key, image, image_hash, generation = job
        try:
            if self._disk is None:
                raise RuntimeError("no embedding cache folder is set")
            if self._disk.contains(image_hash, self._predictor.model.checkpoint_id):
                self.precomputed.emit(key, 0.0, True)
                return
            predictor = self._background_predictor()
            seconds = self._encode_in_background(predictor, image)
            with self._cond:
                wanted = key == self._current_key or any(p[0] == key for p in self._prefetch)
            if wanted:  # the user went there meanwhile: it is ready in memory too
                self._keep(key, predictor)
            self._disk.store(predictor, image_hash, lambda error: self._precompute_stored(key, seconds, error))
        except _Cancelled:
            with self._cond:  # gave way to the user's image: resume it later, unless cancelled
                if generation == self._precompute_generation:
                    self._precompute.appendleft(job)
            raise
        except torch.OutOfMemoryError:
            raise  # SamWorker._run_job moves SAM to the CPU and runs this job again
        except Exception as exc:  # one bad image must not end the precompute; it is reported
            traceback.print_exc()
            self.precompute_failed.emit(key, one_line(exc))

    def _precompute_stored(self, key: str, seconds: float, error: BaseException | None) -> None:
        if error is None:
            self.precomputed.emit(key, seconds, False)
        else:
            self.precompute_failed.emit(key, one_line(error))
