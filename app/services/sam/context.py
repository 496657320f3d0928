"""What a SAM job may use while it runs: the :class:`JobContext` API (no Qt).

Jobs get SAM, their lane's predictor, the in-memory embeddings, the disk cache,
cancellation, waiting for the user's work, and reporting through this object,
never through the worker's attributes. The worker hands each job its lane's
:class:`~app.services.sam.lane_context.LaneContext`, which implements it.
"""
from __future__ import annotations

from typing import Protocol

import numpy as np

from app.services.sam.disk_embeddings import DiskEmbeddings
from app.services.sam.embedding_store import EmbeddingStore
from app.services.sam.events import Event
from app.services.sam.requests import DecodeRequest
from sam_core import Sam, SamPredictor


class JobContext(Protocol):
    store: EmbeddingStore  # the embeddings of the last few images, by image key

    # -- SAM --------------------------------------------------------------------------------------
    @property
    def sam(self) -> Sam | None:
        """The loaded SAM."""

    @property
    def predictor(self) -> SamPredictor:
        """This lane's predictor for the loaded SAM (a fresh one after SAM was replaced or moved)."""

    def predictor_holding(self, key: str) -> SamPredictor | None:
        """This lane's predictor with ``key``'s embedding set, from memory; None when memory
        no longer holds it."""

    def install_sam(self, sam: Sam) -> None:
        """Make ``sam`` (just loaded) the one every lane uses, with its encoder watched; the old
        one's embeddings and background jobs go."""

    def release_sam(self) -> bool:
        """Drop the loaded SAM and its embeddings to free the device's memory; False if none."""

    def fall_back_to_cpu(self, error: BaseException) -> bool:
        """After a GPU out-of-memory error: move SAM and the kept embeddings to the CPU (once
        no other lane uses SAM) and say so. False when no SAM is loaded."""

    # -- embeddings -------------------------------------------------------------------------------
    @property
    def disk(self) -> DiskEmbeddings | None:
        """The disk cache, if there is one."""

    def encode(self, predictor: SamPredictor, key: str, image: np.ndarray) -> float:
        """Encode ``image`` (HxWx3 uint8) on ``predictor``, reporting progress per encoder block
        and raising ``Cancelled`` between blocks when told to stop. Returns the seconds it took."""

    def keep(self, key: str, predictor: SamPredictor) -> None:
        """Hold ``predictor``'s embedding in memory under ``key`` (the image on screen is never evicted)."""

    def wanted(self, key: str) -> bool:
        """Whether the user is on ``key`` or about to go there."""

    # -- reporting, cancellation, clicks ----------------------------------------------------------
    def report(self, event: Event) -> None:
        """Deliver ``event`` as the worker's signal now (from any thread)."""

    def check(self) -> None:
        """Raise :class:`~app.services.sam.job.Cancelled` if this job was told to stop."""

    def between_batches(self) -> bool:
        """For a long job between two steps: True to stop; else wait while the user's work
        (a checkpoint, the image on screen) runs, then False to go on."""

    def is_stale(self, request: DecodeRequest) -> bool:
        """Whether a newer decode (or a cancel) came since ``request``."""

    def decode_waiting(self) -> bool:
        """Whether a decode is waiting for the click lane."""

    def decode_again(self, request: DecodeRequest) -> None:
        """Decode ``request`` once its image's embedding is back in memory, unless a newer one comes."""
