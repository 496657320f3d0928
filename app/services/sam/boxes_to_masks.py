"""*Boxes to masks* as work for the SAM worker (no Qt): each box waiting for SAM gets SAM's mask.

A box-only label (a detection dataset's box, CVAT's rectangle, labelme's
rectangle) is a box prompt that nobody has decoded yet. The UI thread describes
the job (:class:`BoxJob`: images, their files, the waiting boxes, XYXY in the
image frame); the worker gives each image its embedding (from memory, the disk
cache, or the encoder) and :func:`masks_for_boxes` decodes every box with SAM's
single-mask output, which SAM's authors recommend for a box alone, as the
interactive path does once a box is drawn.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from app.model import Mask
from sam_core import SamPredictor


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
    ``stop()`` is asked between boxes (where waiting clicks may be answered); it raises
    :class:`BoxesCancelled` when it says stop."""
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


__all__ = ["BoxItem", "BoxJob", "BoxMask", "BoxesCancelled", "WaitingBox", "masks_for_boxes"]
