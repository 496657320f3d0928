"""A click: decode the latest prompt against its image's embedding (``CLICKS`` lane)."""
from __future__ import annotations


from app.services.sam.context import JobContext
from app.services.sam.events import Decoded
from app.services.sam.job import Job
from app.services.sam.requests import DecodeRequest


class Decode(Job):
    """Reports :class:`Decoded` as soon as the best candidate's full-resolution mask is made,
    then makes the others while nothing newer waits. A result whose request is no longer
    the latest is never reported."""

    kind = "decode"

    def __init__(self, request: DecodeRequest) -> None:
        self.request = request

    def run(self, ctx: JobContext) -> None:
        request = self.request
        predictor = ctx.predictor_holding(request.key)
        if predictor is None:  # its embedding went meanwhile (another checkpoint): after the re-encode
            ctx.decode_again(request)
            return None
        candidates = predictor.predict_candidates(
            point_coords=request.points if len(request.points) else None,
            point_labels=request.labels if len(request.labels) else None,
            box=request.box,
            mask_input=request.mask_input,
            multimask_output=request.multimask,
        )
        if ctx.is_stale(request):
            return None
        candidates.mask(candidates.best)  # the shown one, upscaled here rather than in the UI
        if ctx.is_stale(request):
            return None
        ctx.report(Decoded(request.id, candidates))
        for index in candidates.order[1:]:  # the others, for the candidate strip
            if ctx.is_stale(request) or ctx.decode_waiting():
                break
            candidates.mask(index)
        return None
