"""Automatic pre-labelling ("segment everything") as a job for the SAM worker (no Qt).

The UI thread describes the job (:class:`PrelabelJob`: images, their files, the
masks already annotated on them, generator settings); the worker thread runs
:func:`run_item` per image with :class:`sam_core.SamAutomaticMaskGenerator`,
which skips grid points on annotated pixels and drops candidates that mostly
cover annotations. Results are :class:`AutoMask` s in the image frame.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from app.model import Mask
from sam_core.image_files import read_image
from sam_core import Sam, SamAutomaticMaskGenerator


@dataclass(frozen=True)
class PrelabelParams:
    """Generator settings; the defaults are SAM's own (only confident, stable masks)."""

    points_per_side: int = 32
    points_per_batch: int = 64
    pred_iou_thresh: float = 0.88
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
