"""Reading COCO ``segmentation`` values (RLE or polygons) into masks, with checks.

Accepted forms, all describing a mask of the annotation's image (H x W):

- compressed RLE ``{"size": [H, W], "counts": str}`` (column-major),
- uncompressed RLE ``{"size": [H, W], "counts": [int, ...]}`` summing to H*W,
- polygons ``[[x0, y0, x1, y1, ...], ...]`` in the image pixel frame, each with
  at least 3 vertices; their union, rasterised as pycocotools does.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from app.model import crop_rle as rle_codec
from app.model.io.fields import Where, as_dict, as_int, as_list, as_number, field
from app.model.io.polygons import polygons_to_mask
from app.model.mask import Mask


def read_rle(value: Any, where: Where, height: int, width: int) -> Mask:
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
        counts = np.asarray(counts, dtype=np.int64)
    else:
        raise counts_where.error("must be a string or a list of ints")
    try:
        return Mask.from_counts(counts, height, width)
    except ValueError as exc:
        raise counts_where.error(str(exc)) from None


def read_polygons(value: Any, where: Where, height: int, width: int) -> tuple[Mask, tuple[tuple[float, ...], ...]]:
    """Checked COCO polygons, and the mask pycocotools rasterises them to."""
    polygons = []
    for i, polygon in enumerate(as_list(value, where)):
        coords = tuple(as_number(v, where[i][j]) for j, v in enumerate(as_list(polygon, where[i])))
        if len(coords) % 2:
            raise where[i].error(f"must hold x, y pairs, got {len(coords)} numbers")
        if len(coords) < 6:
            raise where[i].error(f"must have at least 3 points, got {len(coords) // 2}")
        polygons.append(coords)
    return polygons_to_mask([list(p) for p in polygons], height, width), tuple(polygons)


def read_segmentation(
    value: Any, where: Where, height: int, width: int
) -> tuple[Mask, tuple[tuple[float, ...], ...] | None]:
    """The mask of a COCO ``segmentation`` and, for polygons, the polygons."""
    if isinstance(value, dict):
        return read_rle(value, where, height, width), None
    if isinstance(value, list):
        return read_polygons(value, where, height, width)
    raise where.error("must be an RLE object or a list of polygons")
