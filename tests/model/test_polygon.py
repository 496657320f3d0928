"""Polygon rasterisation: pixel centres, even-odd, full resolution (no Qt)."""
from __future__ import annotations

import numpy as np
import pytest

from app.model.paint import capsule
from app.model.polygon import clamp_vertex, rasterize


def centres_inside(vertices, shape) -> np.ndarray:
    """Brute force: each pixel centre against every edge (even-odd, half-open crossings)."""
    height, width = shape
    ys, xs = np.mgrid[0:height, 0:width] + 0.5
    inside = np.zeros(shape, bool)
    points = np.asarray(vertices, float)
    for (x0, y0), (x1, y1) in zip(points, np.roll(points, -1, axis=0)):
        if y0 == y1:
            continue
        crosses = (min(y0, y1) <= ys) & (ys < max(y0, y1))
        x_at = x0 + (ys - y0) * ((x1 - x0) / (y1 - y0))
        inside ^= crosses & (x_at <= xs)  # crossings at or left of the centre
    return inside


@pytest.mark.parametrize("grid", [None, 1.0, 0.5])
def test_random_polygons_match_the_pixel_centre_rule(grid):
    rng = np.random.default_rng(7)
    shape = (37, 53)
    for _ in range(200):
        vertices = rng.uniform(-6, 60, size=(int(rng.integers(3, 10)), 2))
        if grid:
            vertices = np.round(vertices / grid) * grid  # vertices on pixel corners and centres
        mask = rasterize(vertices, shape)
        assert mask.shape == shape
        np.testing.assert_array_equal(mask.full_mask(), centres_inside(vertices, shape))


def test_a_rectangle_on_pixel_corners_is_exactly_its_pixels_and_neighbours_share_none():
    left = rasterize([(2, 3), (7, 3), (7, 9), (2, 9)], (12, 12))
    assert left.bbox == (2, 3, 5, 6) and left.area == 30
    right = rasterize([(7, 3), (10, 3), (10, 9), (7, 9)], (12, 12))
    assert not (left.full_mask() & right.full_mask()).any() and right.area == 18


def test_self_intersecting_polygons_use_even_odd_and_degenerate_ones_are_empty():
    bowtie = rasterize([(0, 0), (10, 10), (10, 0), (0, 10)], (10, 10)).full_mask()
    assert bowtie[5, 1] and bowtie[5, 8] and not bowtie[1, 5] and not bowtie[8, 5]
    assert rasterize([(1, 1), (5, 5)], (10, 10)).is_empty
    assert rasterize([(1, 1), (5, 5), (9, 9)], (10, 10)).is_empty  # no area
    assert rasterize([(2.1, 2.1), (2.9, 2.1), (2.9, 2.4)], (10, 10)).is_empty  # misses every centre
    assert rasterize([(20, 20), (30, 20), (30, 30)], (10, 10)).is_empty  # off the image


def test_the_brush_and_the_polygon_agree_on_what_a_square_covers():
    """A brush dab and a polygon around the same centres pick the same pixels (same frame)."""
    patch, x, y = capsule(5.5, 5.5, 5.5, 5.5, 0.5, (12, 12))  # one pixel: (5, 5)
    assert (x, y, patch.shape) == (5, 5, (1, 1))
    assert rasterize([(5, 5), (6, 5), (6, 6), (5, 6)], (12, 12)).bbox == (5, 5, 1, 1)


def test_full_resolution_on_a_big_image_and_clamping():
    shape = (4000, 6000)
    mask = rasterize([(0, 0), (6000, 0), (6000, 4000), (0, 4000)], shape)
    assert mask.area == 4000 * 6000
    assert clamp_vertex(-3.0, 4100.0, shape) == (0.0, 4000.0)
    assert clamp_vertex(12.5, 7.25, shape) == (12.5, 7.25)
