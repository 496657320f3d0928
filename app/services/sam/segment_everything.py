"""Automatic pre-labelling ("segment everything") as a job for the SAM worker (no Qt).

The UI thread describes the job (:class:`PrelabelJob`: images, their files, the
masks already annotated on them, generator settings); the worker's ``BACKGROUND``
lane runs :class:`SegmentEverything`, which calls :func:`run_item` per image with
:class:`sam_core.SamAutomaticMaskGenerator`; that skips grid points on annotated
pixels and drops candidates that mostly cover annotations. Results are
:class:`AutoMask` s in the image frame.
"""
from __future__ import annotations

import traceback
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from app.model import Mask
from app.services.messages import one_line
from app.services.sam.context import JobContext
from app.services.sam.events import Event, Failed, PrelabelFinished, Prelabelled, PrelabelProgress
from app.services.sam.job import Job
from sam_core import GenerationCancelled, Sam, SamAutomaticMaskGenerator
from sam_core.image_files import read_image


@dataclass(frozen=True)
class PrelabelParams:
    """Generator settings; the defaults are SAM's own (only confident, stable masks).
    ``pred_iou_thresh`` None is the loaded family's own (SAM v1 0.88, SAM 2 0.8), as are
    the settings not listed here (SAM 2's ``use_m2m``)."""

    points_per_side: int = 32
    points_per_batch: int = 64
    pred_iou_thresh: float | None = None
    stability_score_thresh: float = 0.95
    box_nms_thresh: float = 0.7
    min_mask_region_area: int = 0
    covered_thresh: float = 0.5  # drop candidates with more than this fraction on annotations

    def generator(self, model: Sam) -> SamAutomaticMaskGenerator:
        return SamAutomaticMaskGenerator(model, output_mode="uncompressed_rle", **asdict(self))


@dataclass(frozen=True)
class PrelabelItem:
    """One image: its id and file, and the masks already annotated on it (immutable)."""

    image_id: int
    path: Path
    existing: tuple[Mask, ...] = ()


@dataclass(frozen=True)
class PrelabelJob:
    id: int
    items: tuple[PrelabelItem, ...]
    params: PrelabelParams = PrelabelParams()


@dataclass(frozen=True)
class AutoMask:
    """One generated mask with SAM's scores; ``point`` (x, y) and ``crop_box`` (XYWH) in the image frame."""

    mask: Mask
    predicted_iou: float
    stability_score: float
    point: tuple[float, float]
    crop_box: tuple[float, float, float, float]


def covered(masks: tuple[Mask, ...], shape: tuple[int, int]) -> np.ndarray | None:
    """HxW bool union of ``masks`` (None when there are none), built from their crops."""
    if not masks:
        return None
    union = np.zeros(shape, dtype=bool)
    for mask in masks:
        x, y, w, h = mask.bbox
        union[y : y + h, x : x + w] |= mask.crop
    return union


def run_item(generator: SamAutomaticMaskGenerator, item: PrelabelItem,
             progress: Callable[[int, int], None], cancel: Callable[[], bool]) -> list[AutoMask]:
    """Segment everything on one image; raises ImageReadError for an unreadable file
    and ``GenerationCancelled`` when ``cancel`` says so."""
    image = read_image(item.path)
    h, w = image.shape[:2]
    if any(m.shape != (h, w) for m in item.existing):
        raise ValueError(f"{item.path.name}: the file changed size since it was annotated")
    records = generator.generate(image, existing_masks=covered(item.existing, (h, w)), progress=progress,
                                 cancel=cancel)
    return [
        AutoMask(
            Mask.from_counts(np.asarray(r["segmentation"]["counts"], dtype=np.int64), h, w),
            float(r["predicted_iou"]),
            float(r["stability_score"]),
            tuple(float(v) for v in r["point_coords"][0]),
            tuple(float(v) for v in r["crop_box"]),
        )
        for r in records
    ]


class SegmentEverything(Job):
    """One :class:`PrelabelJob`: reports :class:`Prelabelled` per image and :class:`PrelabelFinished`
    at the end. It is long, so between two point batches it waits while the user's work
    (a checkpoint, the image on screen) runs, and stops when cancelled. One bad image is
    reported and skipped."""

    kind = "pre-label"

    def __init__(self, request: PrelabelJob) -> None:
        self.request = request

    def run(self, ctx: JobContext) -> Event:
        job = self.request
        generator = job.params.generator(ctx.sam)
        for number, item in enumerate(job.items, start=1):
            def progress(done: int, total: int, number: int = number) -> None:
                ctx.report(PrelabelProgress(job.id, number, len(job.items), done, total))
            try:
                try:
                    masks = run_item(generator, item, progress, ctx.between_batches)
                except torch.OutOfMemoryError as exc:  # this image again, on the CPU
                    if not ctx.fall_back_to_cpu(exc):
                        raise
                    generator = job.params.generator(ctx.sam)
                    masks = run_item(generator, item, progress, ctx.between_batches)
            except GenerationCancelled:
                return PrelabelFinished(job.id, True)
            except Exception as exc:  # reported, and the job goes on with the next image
                traceback.print_exc()
                text = one_line(exc)
                ctx.report(Failed(self.kind, text if item.path.name in text else f"{item.path.name}: {text}"))
                continue
            ctx.report(Prelabelled(job.id, item.image_id, masks))
        return PrelabelFinished(job.id, False)

    def failure(self, ctx: JobContext, text: str) -> tuple[Event, ...]:
        return Failed(self.kind, text), PrelabelFinished(self.request.id, True)  # the UI stops waiting for it
