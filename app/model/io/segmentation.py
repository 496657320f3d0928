"""Reading COCO ``segmentation`` values (RLE or polygons) into masks, with checks.

Accepted forms, all describing a mask of the annotation's image (H x W):

- compressed RLE ``{"size": [H, W], "counts": str}`` (column-major),
- uncompressed RLE ``{"size": [H, W], "counts": [int, ...]}`` summing to H*W,
- polygons ``[[x0, y0, x1, y1, ...], ...]`` in the image pixel frame, each with
  at least 3 vertices; their union, rasterised as pycocotools does.

The caller has checked the image's size against :mod:`sam_core.limits`. A
:class:`~sam_core.limits.MaskBudget` passed in is charged each mask's bounding box
before it is allocated, so a few hundred bytes of RLE cannot ask for gigabytes.
Polygon vertices must lie within one image size of the image, and their outline
must be short enough for pycocotools to rasterise (it walks it in 1/5 pixel steps).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from app.model import crop_rle as rle_codec
from app.model.io.fields import Where, as_coordinate, as_dict, as_int, as_list, field
from app.model.io.polygons import polygons_to_mask
from app.model.mask import Mask
from sam_core.limits import LimitError, MaskBudget

_MAX_COUNT = 2**32 - 1
# pycocotools' rasteriser holds two ints for every 1/5 pixel of a polygon's outline.
_MAX_OUTLINE_STEPS = 1 << 26

def read_rle(value: Any, where: Where, height: int, width: int, budget: MaskBudget | None = None) -> Mask:
    """A checked RLE object of an image of ``height`` x ``width`` pixels."""
    d = as_dict(value, where)
    size, size_where = field(d, "size", where)
    items = as_list(size, size_where)
    if len(items) != 2:
        raise size_where.error(f"must be [height, width], got {len(items)} values")
    size = [as_int(v, size_where[i], minimum=1) for i, v in enumerate(items)]
    if size != [height, width]:
        raise size_where.error(f"is {size} but the image is [{height}, {width}] (height, width)")
    counts, counts_where = field(d, "counts", where)
    if isinstance(counts, str):
        try:
            counts = rle_codec.string_to_counts(counts)
        except (ValueError, UnicodeEncodeError) as exc:
            raise counts_where.error(f"invalid compressed RLE: {exc}") from None
    elif isinstance(counts, list) and all(type(v) is int for v in counts):
        if counts and (min(counts) < 0 or max(counts) > _MAX_COUNT):
            raise counts_where.error(f"runs must be in 0..{_MAX_COUNT:,} (COCO RLE counts are uint32)")
        counts = np.asarray(counts, dtype=np.int64)
    else:
        raise counts_where.error("must be a string or a list of ints")
    try:
        return Mask.from_counts(counts, height, width, None if budget is None else budget.take)
    except LimitError as exc:
        raise where.error(f"too big: {exc}") from None
    except ValueError as exc:
        raise counts_where.error(str(exc)) from None


def check_polygons(value: Any, where: Where, height: int, width: int) -> tuple[tuple[float, ...], ...]:
    """COCO polygons checked as our readers and pycocotools need them: lists of x, y pairs, at
    least 3 points each, every vertex within one image size of the image."""
    polygons = []
    for i, polygon in enumerate(as_list(value, where)):
        coords = tuple(as_coordinate(v, where[i][j]) for j, v in enumerate(as_list(polygon, where[i])))
        if len(coords) % 2:
            raise where[i].error(f"must hold x, y pairs, got {len(coords)} numbers")
        if len(coords) < 6:
            raise where[i].error(f"must have at least 3 points, got {len(coords) // 2}")
        xy = np.asarray(coords, dtype=np.float64).reshape(-1, 2)
        if (xy < -np.array([width, height])).any() or (xy > 2 * np.array([width, height])).any():
            raise where[i].error(f"has a vertex more than an image size outside the {width}x{height} image")
        steps = np.abs(np.diff(np.vstack([xy, xy[:1]]), axis=0)).max(axis=1).sum() * 5 + len(xy)
        if steps > _MAX_OUTLINE_STEPS:
            raise where[i].error(f"has an outline of {steps / 5:,.0f} pixels, too long to rasterise")
        polygons.append(coords)
    return tuple(polygons)


def read_polygons(
    value: Any, where: Where, height: int, width: int, budget: MaskBudget | None = None
) -> tuple[Mask, tuple[tuple[float, ...], ...]]:
    """Checked COCO polygons, and the mask pycocotools rasterises them to."""
    polygons = check_polygons(value, where, height, width)
    if budget is not None and polygons:
        xy = np.concatenate([np.asarray(p).reshape(-1, 2) for p in polygons])
        box = (np.clip(xy.max(axis=0), 0, [width, height]) - np.clip(xy.min(axis=0), 0, [width, height]) + 1)
        try:
            budget.take(int(box[0] * box[1]))
        except LimitError as exc:
            raise where.error(f"too big: {exc}") from None
    return polygons_to_mask([list(p) for p in polygons], height, width), polygons


def read_segmentation(
    value: Any, where: Where, height: int, width: int, budget: MaskBudget | None = None
) -> tuple[Mask, tuple[tuple[float, ...], ...] | None]:
    """The mask of a COCO ``segmentation`` and, for polygons, the polygons."""
    if isinstance(value, dict):
        return read_rle(value, where, height, width, budget), None
    if isinstance(value, list):
        return read_polygons(value, where, height, width, budget)
    raise where.error("must be an RLE object or a list of polygons")
