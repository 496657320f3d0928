"""Mask operations and brush geometry, without Qt, checked against plain numpy."""
from __future__ import annotations

import numpy as np

from app.model import Annotation, Mask, mask_ops
from app.model.paint import Stroke, capsule
from tests.model.conftest import H, W, holed_two_parts, rectangle


def full(mask: Mask) -> np.ndarray:
    return mask.full_mask()


def test_union_and_subtract_match_numpy():
    rng = np.random.default_rng(1)
    for _ in range(20):
        a, b = rng.random((2, H, W)) < rng.uniform(0, 0.2, (2, 1, 1))
        a[: rng.integers(0, H)] = False  # different boxes, sometimes empty
        assert np.array_equal(full(mask_ops.union(Mask.from_full(a), b)), a | b)
        assert np.array_equal(full(mask_ops.subtract(Mask.from_full(a), Mask.from_full(b))), a & ~b)


def test_fill_holes_fills_enclosed_background_only():
    holed = holed_two_parts((H, W))
    filled = full(mask_ops.fill_holes(Mask.from_full(holed)))
    assert np.array_equal(filled, rectangle((H, W), 2, 2, 20, 16) | rectangle((H, W), 30, 20, 25, 20))
    # A "C" open to the outside has no hole; a ring touching the image border does.
    c_shape = rectangle((H, W), 10, 10, 20, 20)
    c_shape[15:25, 15:30] = False
    assert mask_ops.fill_holes(Mask.from_full(c_shape)) == Mask.from_full(c_shape)
    ring = rectangle((H, W), 0, 0, 12, 12)
    ring[3:9, 3:9] = False
    assert np.array_equal(full(mask_ops.fill_holes(Mask.from_full(ring))), rectangle((H, W), 0, 0, 12, 12))
    # Diagonal gaps: the background is 4-connected, so a hole closed by corners is a hole.
    diamond = np.zeros((H, W), bool)
    diamond[[10, 11, 11, 12], [11, 10, 12, 11]] = True
    assert full(mask_ops.fill_holes(Mask.from_full(diamond)))[11, 11]


def test_remove_specks_drops_small_8_connected_parts():
    mask = rectangle((H, W), 5, 5, 10, 10)  # 100 px
    mask[30, 30] = mask[31, 31] = mask[32, 32] = True  # one diagonal part of 3 px
    mask[40, 50:55] = True  # 5 px
    cleaned = full(mask_ops.remove_specks(Mask.from_full(mask), 4))
    expected = mask.copy()
    expected[30:33, 30:33] = False
    assert np.array_equal(cleaned, expected)
    assert np.array_equal(full(mask_ops.remove_specks(Mask.from_full(mask), 6)), rectangle((H, W), 5, 5, 10, 10))
    # All parts small: the largest stays, so the annotation is not wiped out.
    small = np.zeros((H, W), bool)
    small[1, 1] = True
    small[10, 10:13] = True
    assert np.array_equal(full(mask_ops.remove_specks(Mask.from_full(small), 50)), small & (np.arange(W) >= 10))


def test_take_from_removes_only_overlapping_pixels():
    a = Mask.from_full(rectangle((H, W), 0, 0, 20, 20))
    b = Mask.from_full(rectangle((H, W), 40, 30, 5, 5))
    annotations = [Annotation(1, 1, 1, a), Annotation(2, 1, 1, b)]
    pixels = rectangle((H, W), 10, 10, 20, 20)[5:35, 5:35]
    diffs = mask_ops.take_from(annotations, pixels, 5, 5)
    assert [i for i, _ in diffs] == [1]
    annotation_id, diff = diffs[0]
    assert diff.bbox == (10, 10, 10, 10)
    assert np.array_equal(full(diff.apply(a)), rectangle((H, W), 0, 0, 20, 20) & ~rectangle((H, W), 10, 10, 20, 20))


def test_capsule_covers_pixel_centres_within_the_radius():
    patch, x, y = capsule(20.0, 20.0, 20.0, 20.0, 5.0, (H, W))
    cols, rows = np.meshgrid(np.arange(W) + 0.5, np.arange(H) + 0.5)
    disc = (cols - 20) ** 2 + (rows - 20) ** 2 <= 25
    canvas = np.zeros((H, W), bool)
    canvas[y : y + patch.shape[0], x : x + patch.shape[1]] = patch
    assert np.array_equal(canvas, disc) and patch.sum() == 80
    # Clipped at the image edge, and nothing at all far outside it.
    patch, x, y = capsule(-2.0, 3.0, 5.0, 3.0, 4.0, (H, W))
    assert (x, y) == (0, 0) and patch.shape[1] == 9
    assert capsule(-50, -50, -40, -40, 3, (H, W)) is None


def test_strokes_keep_holes_and_parts_and_straight_lines_ignore_the_path():
    holed = holed_two_parts((H, W))
    stroke = Stroke(Mask.from_full(holed), radius=1.5)
    stroke.add_point(26.0, 5.0)  # between the parts, far from the holes
    stroke.add_point(26.0, 10.0)
    after = full(stroke.after())
    assert not after[6:12, 8:14].any() and not after[24:27, 34:38].any()  # holes kept
    assert after[2:18, 2:22].sum() == holed[2:18, 2:22].sum()  # first part untouched
    assert after[7, 26] and (after & ~holed).sum() == stroke.painted_area

    wiggle = Stroke(Mask.empty(H, W), radius=2)
    wiggle.add_point(5.0, 5.0)
    for x, y in [(20.0, 40.0), (35.0, 2.0), (40.0, 30.0)]:
        wiggle.line_to(x, y)  # Shift held: only the line from the start counts
    straight = Stroke(Mask.empty(H, W), radius=2)
    straight.add_point(5.0, 5.0)
    straight.add_point(40.0, 30.0)
    assert wiggle.after() == straight.after()

    eraser = Stroke(Mask.from_full(holed), radius=3, erase=True)
    eraser.add_point(40.0, 30.0)
    erased = full(eraser.after())
    assert not erased[28:32, 38:42].any() and erased[2:18, 2:22].sum() == holed[2:18, 2:22].sum()
    assert Stroke(Mask.from_full(holed), radius=2, erase=True).diff() is None  # no points, no change
