"""Operations on masks that make new masks: add, subtract, fill holes, remove
specks, and taking pixels away from other annotations ("no overlap"). No Qt.

All work happens on the bounding-box crops, never on full-image arrays unless
the masks themselves span the image. Connectivity: a mask's parts are
8-connected; holes (the background enclosed by a mask) are 4-connected, the
pairing that makes "a hole" and "a part" mean what one sees.
"""
from __future__ import annotations

from collections.abc import Iterable

import cv2
import numpy as np

from app.model.annotation import Annotation
from app.model.commands import RegionDiff, box_union
from app.model.mask import Mask


def as_mask(mask: Mask | np.ndarray) -> Mask:
    """A :class:`Mask` from a Mask or a full HxW array (nonzero = in the mask)."""
    return mask if isinstance(mask, Mask) else Mask.from_full(mask)


def _combine(a: Mask, b: Mask, op) -> Mask:
    if a.shape != b.shape:
        raise ValueError(f"masks of different images: {a.shape} and {b.shape} (HxW)")
    box = box_union((a.bbox, b.bbox))
    if box is None:
        return a
    x, y, w, h = box
    return Mask(op(a.region(x, y, w, h), b.region(x, y, w, h)), x, y, *a.shape)


def union(mask: Mask, other: Mask | np.ndarray) -> Mask:
    """Pixels in ``mask`` or ``other`` (e.g. adding SAM's candidate to an annotation)."""
    return _combine(mask, as_mask(other), np.logical_or)


def subtract(mask: Mask, other: Mask | np.ndarray) -> Mask:
    """Pixels in ``mask`` and not in ``other``."""
    return _combine(mask, as_mask(other), lambda a, b: a & ~b)


def fill_holes(mask: Mask) -> Mask:
    """``mask`` with every enclosed hole filled (background not connected to the
    outside of the mask's box, 4-connectivity)."""
    if mask.is_empty:
        return mask
    padded = np.pad(mask.crop, 1).view(np.uint8) * np.uint8(255)
    # Flood the outside from the padding; what stays 0 is enclosed.
    flood = padded.copy()
    cv2.floodFill(flood, np.zeros((flood.shape[0] + 2, flood.shape[1] + 2), np.uint8), (0, 0), 255, flags=4)
    holes = flood[1:-1, 1:-1] == 0
    if not holes.any():
        return mask
    x, y = mask.origin
    return Mask(mask.crop | holes, x, y, *mask.shape)


def remove_specks(mask: Mask, min_area: int) -> Mask:
    """``mask`` without its parts (8-connected) smaller than ``min_area`` pixels.
    When every part is smaller, the largest is kept so the annotation stays."""
    if mask.is_empty or min_area <= 1:
        return mask
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask.crop.view(np.uint8), connectivity=8)
    sizes = stats[1:, cv2.CC_STAT_AREA]
    keep = sizes >= min_area
    if keep.all():
        return mask
    if not keep.any():
        keep[int(np.argmax(sizes))] = True
    lookup = np.concatenate([[False], keep])
    x, y = mask.origin
    return Mask(lookup[labels], x, y, *mask.shape)


def take_from(annotations: Iterable[Annotation], pixels: np.ndarray, x: int, y: int) -> list[tuple[int, RegionDiff]]:
    """The diffs that remove the (h, w) bool ``pixels`` at (x, y) from each of
    ``annotations`` they overlap: ``[(annotation id, diff)]``.

    This is "no overlap": a new or edited mask takes its pixels from the others.
    """
    pixels = np.asarray(pixels, dtype=bool)
    h, w = pixels.shape
    taken = []
    for annotation in annotations:
        ax, ay, aw, ah = annotation.mask.bbox
        x0, y0, x1, y1 = max(x, ax), max(y, ay), min(x + w, ax + aw), min(y + h, ay + ah)
        if x0 >= x1 or y0 >= y1:
            continue
        old = annotation.mask.region(x0, y0, x1 - x0, y1 - y0)
        diff = RegionDiff.within(annotation.mask, x0, y0, old & ~pixels[y0 - y : y1 - y, x0 - x : x1 - x])
        if diff is not None:
            taken.append((annotation.id, diff))
    return taken
