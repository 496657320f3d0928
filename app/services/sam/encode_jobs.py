"""Jobs that give an image its embedding: the image on screen, the one it already has,
and the next one, pre-encoded in the background.

Each looks in the disk cache first (same pixels, same checkpoint) and stores there
what it encodes; the result is kept in memory, where clicks find it.
"""
from __future__ import annotations


import numpy as np

from app.services.sam.context import JobContext
from app.services.sam.events import CacheHit, Encoded, EncodeStarted, Event
from app.services.sam.job import Job
from sam_core import SamPredictor


class EncodeImage(Job):
    """The image on screen (``JOBS`` lane); ``image`` HxWx3 uint8 RGB."""

    kind = "encode"

    def __init__(self, key: str, image: np.ndarray) -> None:
        self.key, self.image = key, image

    @property
    def image_key(self) -> str:
        return self.key

    def run(self, ctx: JobContext) -> Event:
        return embed(ctx, ctx.predictor, self.key, self.image)


class ImageReady(Job):
    """The image on screen, whose embedding is in memory already: say so."""

    kind = "encode"
    uses_sam = False

    def __init__(self, key: str) -> None:
        self.key = key

    def run(self, ctx: JobContext) -> Event:
        return Encoded(self.key, 0.0)


class PrefetchImage(Job):
    """The image the user will probably open next (``BACKGROUND`` lane), so that going
    there is instant. Same reports as :class:`EncodeImage`."""

    kind = "encode"

    def __init__(self, key: str, image: np.ndarray) -> None:
        self.key, self.image = key, image

    @property
    def image_key(self) -> str:
        return self.key

    def run(self, ctx: JobContext) -> Event:
        return embed(ctx, ctx.predictor, self.key, self.image)


def embed(ctx: JobContext, predictor: SamPredictor, key: str, image: np.ndarray) -> Encoded:
    """Give ``predictor`` the embedding of ``image``, from the disk cache when it is there,
    else by encoding it; keep it in memory under ``key`` and store a fresh one on disk."""
    disk = ctx.disk
    image_hash, restored = disk.restore(predictor, image) if disk is not None else (None, None)
    if restored is None:
        ctx.report(EncodeStarted(key, str(predictor.device)))
        seconds = ctx.encode(predictor, key, image)
    else:
        ctx.report(CacheHit(key, restored))
        seconds = 0.0
    ctx.keep(key, predictor)
    if restored is None and disk is not None:
        disk.store(predictor, image_hash)  # on the writer thread: the image is ready meanwhile
    return Encoded(key, seconds)
