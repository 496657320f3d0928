""""Precompute": encode one image of the folder into the disk cache (``BACKGROUND`` lane)."""
from __future__ import annotations


from app.services.sam.context import JobContext
from app.services.sam.events import Event, Precomputed, PrecomputeFailed
from app.services.sam.job import Job
from app.services.sam.requests import PrecomputeRequest


class PrecomputeImage(Job):
    """Reports :class:`Precomputed` once the file is written, or :class:`PrecomputeFailed`.
    Gives way, to be resumed, when the user opens an image that needs encoding."""

    kind = "precompute"

    def __init__(self, request: PrecomputeRequest) -> None:
        self.request = request

    @property
    def image_key(self) -> str:
        return self.request.key

    def run(self, ctx: JobContext) -> Event:
        key, disk, sam = self.request.key, ctx.disk, ctx.sam
        if disk is None:
            raise RuntimeError("no embedding cache folder is set")
        if disk.contains(self.request.image_hash, sam.checkpoint_id):
            return Precomputed(key, 0.0, True)
        predictor = ctx.predictor
        seconds = ctx.encode(predictor, key, self.request.image)
        if ctx.wanted(key):  # the user went there meanwhile: it is ready in memory too
            ctx.keep(key, predictor)
        disk.store(predictor, self.request.image_hash).result()
        return Precomputed(key, seconds, False)

    def failure(self, ctx: JobContext, text: str) -> tuple[Event, ...]:
        return (PrecomputeFailed(self.request.key, text),)  # one bad image must not end the precompute
