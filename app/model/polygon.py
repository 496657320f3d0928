"""Polygons drawn by hand, made into masks at the image's full resolution (no Qt).

Frames as in :mod:`app.model.paint`: x = column, y = row in original image pixels;
pixel (c, r) covers [c, c+1) x [r, r+1) and its centre is (c + 0.5, r + 0.5). A pixel
is in the polygon when its centre is inside it (even-odd rule): the brush's rule for
its disc, so the outline drawn on screen and the pixels that become the mask agree at
any zoom. A centre exactly on an edge counts when the polygon lies to its right or
below it (half-open spans), so two polygons sharing an edge never share a pixel.
(pycocotools rasterises COCO polygons by its own approximation, a few boundary pixels
away from this rule, so a drawn polygon is not kept as a COCO polygon: the mask is the
annotation, as for every other tool.)
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from app.model.mask import Mask

Vertex = tuple[float, float]
ROW_BLOCK = 512  # rows rasterised at once: bounds the (rows x edges) crossing table


def clamp_vertex(x: float, y: float, shape: tuple[int, int]) -> Vertex:
    """(x, y) moved onto the image of ``shape`` (H, W), borders included: a click just
    outside the image traces along its edge."""
    height, width = shape
    return float(min(max(x, 0.0), width)), float(min(max(y, 0.0), height))


def rasterize(vertices: Sequence[Vertex] | np.ndarray, shape: tuple[int, int]) -> Mask:
    """The pixels of an (H, W) image whose centres lie inside the closed polygon
    ``vertices`` (N x 2, (x, y), original frame; the last vertex joins the first).

    Works on the polygon's bounding box only. Fewer than 3 vertices, or a polygon
    that covers no pixel centre, gives an empty mask.
    """
    height, width = shape
    points = np.asarray(vertices, dtype=np.float64).reshape(-1, 2)
    if len(points) < 3 or not np.isfinite(points).all():
        return Mask.empty(height, width)
    x0, y0 = points[:, 0], points[:, 1]
    x1, y1 = np.roll(x0, -1), np.roll(y0, -1)
    sloped = y0 != y1  # horizontal edges cross no row of centres
    x0, y0, x1, y1 = x0[sloped], y0[sloped], x1[sloped], y1[sloped]
    top, bottom = np.minimum(y0, y1), np.maximum(y0, y1)
    # Rows whose centre r + 0.5 lies in [min y, max y) of some edge, inside the image.
    r0 = max(0, math.ceil(points[:, 1].min() - 0.5))
    r1 = min(height, math.ceil(points[:, 1].max() - 0.5))
    c0 = max(0, math.ceil(points[:, 0].min() - 0.5))
    c1 = min(width, math.ceil(points[:, 0].max() - 0.5))
    if r0 >= r1 or c0 >= c1 or not len(x0):
        return Mask.empty(height, width)
    crop = np.zeros((r1 - r0, c1 - c0), dtype=bool)
    slope = (x1 - x0) / (y1 - y0)
    for start in range(r0, r1, ROW_BLOCK):
        centres = np.arange(start, min(r1, start + ROW_BLOCK), dtype=np.float64)[:, None] + 0.5
        crosses = (top <= centres) & (centres < bottom)
        xs = np.where(crosses, x0 + (centres - y0) * slope, np.inf)
        xs.sort(axis=1)  # each row: its crossings left to right, then inf
        # Even-odd: the spans between crossings 1-2, 3-4, ... are inside. Pixel c is in a
        # span [a, b) when a <= c + 0.5 < b, i.e. ceil(a - 0.5) <= c < ceil(b - 0.5).
        first = np.ceil(xs[:, 0::2] - 0.5)
        last = np.ceil(xs[:, 1::2] - 0.5)
        first, last = first[:, : last.shape[1]], last
        # Toggle at each span's ends and let a running XOR fill between them (spans are
        # disjoint; an empty or abutting pair of ends toggles twice, i.e. not at all).
        toggles = np.zeros((len(centres), c1 - c0 + 1), dtype=np.uint8)
        rows = np.broadcast_to(np.arange(len(centres))[:, None], first.shape)
        real = np.isfinite(last)
        for ends in (first[real], last[real]):
            np.bitwise_xor.at(toggles, (rows[real], np.clip(ends, c0, c1).astype(np.intp) - c0), 1)
        block = np.logical_xor.accumulate(toggles.view(bool), axis=1)
        crop[start - r0 : start - r0 + len(centres)] = block[:, :-1]
    return Mask.from_crop(crop, c0, r0, (height, width))


__all__ = ["Vertex", "clamp_vertex", "rasterize"]
