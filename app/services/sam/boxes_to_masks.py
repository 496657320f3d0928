"""*Boxes to masks* as work for the SAM worker (no Qt): each box waiting for SAM gets SAM's mask.

A box-only label (a detection dataset's box, CVAT's rectangle, labelme's
rectangle) is a box prompt that nobody has decoded yet. The UI thread describes
the job (:class:`BoxJob`: images, their files, the waiting boxes, XYXY in the
image frame); the worker's ``BACKGROUND`` lane runs :class:`BoxesToMasks`, which
gives each image its embedding (from memory, the disk cache, or the encoder) on
that lane's predictor, so the image on screen keeps its own, and
:func:`masks_for_boxes` decodes every box with SAM's single-mask output, which
SAM's authors recommend for a box alone, as the interactive path does once a box
is drawn.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import traceback

import numpy as np

from app.model import Mask
from app.services.messages import one_line
from app.services.sam.context import JobContext
from app.services.sam.encode_jobs import embed
from app.services.sam.events import Boxed, BoxesFinished, BoxesProgress, Event, Failed
from app.services.sam.job import Cancelled, Job, Reason
from sam_core import SamPredictor
from sam_core.image_files import read_image


@dataclass(frozen=True)
class WaitingBox:
    """The annotation holding the box, and the box, XYXY in the image pixel frame."""

    annotation_id: int
    box: tuple[float, float, float, float]


@dataclass(frozen=True)
class BoxItem:
    """One image: its id, its key for the worker's embeddings, its file and its waiting boxes."""

    image_id: int
    key: str
    path: Path
    boxes: tuple[WaitingBox, ...]


@dataclass(frozen=True)
class BoxJob:
    id: int
    items: tuple[BoxItem, ...]


@dataclass(frozen=True)
class BoxMask:
    """SAM's mask for one box, with its predicted IoU and stability score."""

    annotation_id: int
    mask: Mask
    predicted_iou: float
    stability_score: float


class BoxesCancelled(Exception):
    """The job was told to stop between two boxes."""


def masks_for_boxes(predictor: SamPredictor, item: BoxItem, stop: Callable[[], bool]) -> list[BoxMask]:
    """Decode each of ``item``'s boxes on ``predictor``, which holds the image's embedding.
    ``stop()`` is asked between boxes (it waits while the user's work runs); when it says
    stop, :class:`BoxesCancelled` is raised."""
    height, width = predictor.original_size
    out = []
    for waiting in item.boxes:
        if stop():
            raise BoxesCancelled()
        candidates = predictor.predict_candidates(box=np.asarray(waiting.box, dtype=np.float64),
                                                  multimask_output=False)
        mask = Mask.from_full(candidates.mask(0))
        if mask.shape != (height, width):  # cannot happen with one predictor; said plainly if it does
            raise ValueError(f"{item.path.name}: SAM's mask is {mask.shape}, the image {(height, width)}")
        out.append(BoxMask(waiting.annotation_id, mask, float(candidates.iou_predictions[0]),
                           float(candidates.stability_scores[0])))
    return out


class BoxesToMasks(Job):
    """One :class:`BoxJob`: reports :class:`Boxed` per image and :class:`BoxesFinished` at the
    end. Between two boxes it waits while the user's work runs (a checkpoint, the image on
    screen); while it encodes an image, opening an image that needs the encoder makes it give
    way, and the queue takes it back from the image it was on (:attr:`done` images are not
    redone). One bad image is reported and skipped."""

    kind = "boxes"

    def __init__(self, request: BoxJob) -> None:
        self.request = request
        self.done = 0  # images finished (reported or failed)
        self._encoding: str | None = None

    @property
    def image_key(self) -> str | None:
        return self._encoding

    def run(self, ctx: JobContext) -> Event:
        job = self.request
        stop = ctx.between_batches
        try:
            while self.done < len(job.items):
                item = job.items[self.done]
                ctx.report(BoxesProgress(job.id, self.done, len(job.items)))
                if stop():
                    return BoxesFinished(job.id, True)
                try:
                    masks = masks_for_boxes(self._predictor_for(ctx, item), item, stop)
                except (BoxesCancelled, Cancelled):
                    raise
                except Exception as exc:  # one bad image must not end the job; it is reported
                    traceback.print_exc()
                    text = one_line(exc)
                    ctx.report(Failed(self.kind, text if item.path.name in text else f"{item.path.name}: {text}"))
                else:
                    ctx.report(Boxed(job.id, item.image_id, masks))
                self.done += 1
        except BoxesCancelled:
            return BoxesFinished(job.id, True)
        except Cancelled as cancelled:
            if cancelled.reason in (Reason.GAVE_WAY, Reason.DEVICE_SWITCH):
                raise  # the queue takes the job back, from this image
            return BoxesFinished(job.id, True)
        ctx.report(BoxesProgress(job.id, len(job.items), len(job.items)))
        return BoxesFinished(job.id, False)

    def _predictor_for(self, ctx: JobContext, item: BoxItem) -> SamPredictor:
        """This lane's predictor holding ``item``'s embedding (memory, disk cache or encoder)."""
        image = read_image(item.path)
        predictor = ctx.predictor_holding(item.key)
        if predictor is None:
            predictor = ctx.predictor
            self._encoding = item.key  # the user's image makes this encode give way
            try:
                embed(ctx, predictor, item.key, image)
            finally:
                self._encoding = None
        if predictor.original_size != image.shape[:2]:
            raise ValueError(f"{item.path.name}: the file changed size since it was annotated")
        return predictor

    def failure(self, ctx: JobContext, text: str) -> tuple[Event, ...]:
        return Failed(self.kind, text), BoxesFinished(self.request.id, True)  # the UI stops waiting for it


__all__ = ["BoxItem", "BoxJob", "BoxMask", "BoxesCancelled", "BoxesToMasks", "WaitingBox", "masks_for_boxes"]
