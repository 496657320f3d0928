"""Masks to COCO polygons and back, and how much a polygon loses.

COCO polygons are flat ``[x0, y0, x1, y1, ...]`` lists in the image pixel frame
(x = column, y = row). ``pycocotools`` rasterises them by pixel centres: pixel
(col, row) is inside when (col + 0.5, row + 0.5) is. So the lossless outline of
a mask runs along pixel *edges*, e.g. a single pixel at (3, 5) is
``[3, 5, 4, 5, 4, 6, 3, 6]``. :func:`mask_to_polygons` traces that outline (one
polygon per outer boundary), then simplifies it with shapely.

Polygons cannot express holes: a traced mask loses them. Compressed RLE is the
lossless encoding; exporters fall back to it for masks with holes.
"""

from __future__ import annotations

import cv2
import numpy as np
import shapely
from pycocotools import mask as mask_utils

from app.model.mask import Mask

Polygon = list[float]

_DILATE = np.ones((3, 3), dtype=np.uint8)


def has_holes(mask: Mask) -> bool:
    """Whether some background region is enclosed by the mask.

    Background is 4-connected (and parts 8-connected, as in OpenCV's contours), so
    pixels enclosed by diagonal steps count as a hole too.
    """
    h, w = mask.crop.shape
    if h < 3 or w < 3:
        return False
    background = np.ones((h + 2, w + 2), dtype=np.uint8)
    background[1:-1, 1:-1] = ~mask.crop
    n_labels, _ = cv2.connectedComponents(background, connectivity=4)
    return n_labels > 2  # label 0 is the mask itself, label 1 the outside


def trace_outlines(mask: Mask) -> list[np.ndarray]:
    """Outer boundaries along pixel edges: one float64 (N, 2) array of (x, y)
    vertices per part, in the image pixel frame. Holes are ignored."""
    crop = mask.crop
    h, w = crop.shape
    if h == 0:
        return []
    # Doubled lattice: pixel centres sit at odd cells, pixel corners and edges at
    # even ones. Dilating the centres marks each pixel's closed square, so the
    # contour of the marked cells runs through pixel corners. One cell of padding
    # keeps the contour off the array border.
    lattice = np.zeros((2 * h + 3, 2 * w + 3), dtype=np.uint8)
    lattice[2 : 2 * h + 1 : 2, 2 : 2 * w + 1 : 2] = crop
    lattice = cv2.dilate(lattice, _DILATE)
    contours, _ = cv2.findContours(lattice, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    x0, y0 = mask.origin
    offset = np.array([x0, y0], dtype=np.float64)
    return [(c.reshape(-1, 2).astype(np.float64) - 1.0) / 2.0 + offset for c in contours]


def trace_rings(mask: Mask) -> list[tuple[int, np.ndarray]]:
    """Every boundary of the mask along pixel edges, holes included: ``(depth, vertices)`` per
    ring, ``vertices`` a float64 (N, 2) array of (x, y) in the image pixel frame and ``depth``
    0 for a part's outer boundary, 1 for a hole in it, 2 for a part inside that hole, and so
    on. Filling rings of even depth and erasing those of odd depth, in depth order (or filling
    them all with the even-odd rule), gives the mask back exactly."""
    crop = mask.crop
    h, w = crop.shape
    if h == 0:
        return []
    lattice = np.zeros((2 * h + 3, 2 * w + 3), dtype=np.uint8)
    lattice[2 : 2 * h + 1 : 2, 2 : 2 * w + 1 : 2] = crop
    lattice = cv2.dilate(lattice, _DILATE)
    contours, hierarchy = cv2.findContours(lattice, cv2.RETR_TREE, cv2.CHAIN_APPROX_SIMPLE)
    parents = hierarchy[0][:, 3]
    offset = np.array(mask.origin, dtype=np.float64)
    rings = []
    for index, contour in enumerate(contours):
        depth, parent = 0, parents[index]
        while parent >= 0:
            depth, parent = depth + 1, parents[parent]
        vertices = (contour.reshape(-1, 2).astype(np.float64) - 1.0) / 2.0 + offset
        if len(vertices) >= 3:
            rings.append((depth, vertices))
    return sorted(rings, key=lambda ring: ring[0])


def keyhole(rings: list[np.ndarray]) -> Polygon:
    """One flat polygon through every ring: each ring is walked round from its first vertex and
    joined to the first ring's first vertex by a bridge walked both ways. Under the even-odd
    rule (pycocotools fills each polygon so) the bridges cancel, so it fills what the rings do:
    several parts and their holes in one polygon, for formats with one polygon per object."""
    if not rings:
        return []
    anchor = rings[0][0]
    points = [*rings[0], anchor]
    for ring in rings[1:]:
        points += [*ring, ring[0], anchor]
    return [float(v) for p in points for v in p]


def simplify_outline(outline: np.ndarray, tolerance: float) -> list[np.ndarray]:
    """Douglas-Peucker simplification (shapely, topology preserved) of one closed
    outline; ``tolerance`` is in pixels. May split into several rings."""
    if tolerance <= 0 or len(outline) <= 4:
        return [outline]
    simplified = shapely.Polygon(outline).simplify(tolerance, preserve_topology=True)
    parts = getattr(simplified, "geoms", [simplified])
    rings = [np.asarray(p.exterior.coords)[:-1] for p in parts if isinstance(p, shapely.Polygon) and not p.is_empty]
    rings = [r for r in rings if len(r) >= 3]
    return rings or [outline]


def mask_to_polygons(mask: Mask, tolerance: float = 1.0) -> list[Polygon]:
    """COCO polygons of the outer boundary of each part, simplified by
    ``tolerance`` pixels (0 = exact outline). Holes are dropped. Each polygon has
    at least 3 vertices. An empty mask gives ``[]``."""
    polygons = []
    for outline in trace_outlines(mask):
        for ring in simplify_outline(outline, tolerance):
            polygons.append([float(v) for v in ring.reshape(-1)])
    return polygons


def polygons_to_rle(polygons: list[Polygon], height: int, width: int) -> dict:
    """Rasterise polygons as pycocotools (and so every COCO consumer) does:
    compressed RLE of their union, ``counts`` as bytes."""
    if not polygons:
        return mask_utils.encode(np.zeros((height, width, 1), dtype=np.uint8, order="F"))[0]
    return mask_utils.merge(mask_utils.frPyObjects([list(p) for p in polygons], height, width))


def polygons_to_mask(polygons: list[Polygon], height: int, width: int) -> Mask:
    return Mask.from_rle(polygons_to_rle(polygons, height, width))


def iou(a: dict, b: dict) -> float:
    """IoU of two compressed RLEs of the same size; 1.0 when both are empty."""
    area_a, area_b = mask_utils.area([a, b])
    if area_a == 0 and area_b == 0:
        return 1.0
    return float(mask_utils.iou([a], [b], [0])[0, 0])
