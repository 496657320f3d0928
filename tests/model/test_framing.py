"""Framing a box: margin, minimum size, aspect, clamping to the image (no Qt)."""
from __future__ import annotations

import pytest

from app.model.framing import MIN_SIDE, view_around


def contains(view, box) -> bool:
    vx, vy, vw, vh = view
    x, y, w, h = box
    return vx <= x and vy <= y and x + w <= vx + vw and y + h <= vy + vh


def test_a_box_gets_its_margin_on_each_side_centred():
    view = view_around((400, 300, 200, 100), (1000, 2000), margin=0.15)
    assert view == pytest.approx((370, 285, 260, 130))


def test_the_view_keeps_the_canvas_aspect_by_widening_the_short_side():
    x, y, w, h = view_around((400, 300, 200, 100), (1000, 2000), aspect=1.0)
    assert w == pytest.approx(h) == pytest.approx(260) and (x + w / 2, y + h / 2) == pytest.approx((500, 350))
    x, y, w, h = view_around((400, 300, 100, 200), (1000, 2000), aspect=2.0)
    assert w / h == pytest.approx(2.0) and h == pytest.approx(260) and contains((x, y, w, h), (400, 300, 100, 200))


def test_a_speck_is_not_zoomed_to_absurd_levels():
    x, y, w, h = view_around((500, 500, 1, 1), (1000, 1000))
    assert w == h == MIN_SIDE and (x + w / 2, y + h / 2) == (500.5, 500.5)


def test_near_an_edge_the_view_stays_on_the_image_and_still_holds_the_box():
    box = (0, 990, 10, 10)
    view = view_around(box, (1000, 1000), aspect=1.5)
    x, y, w, h = view
    assert x == 0 and y + h == 1000 and contains(view, box)


def test_a_box_as_large_as_the_image_is_never_framed_wider_than_the_fit():
    x, y, w, h = view_around((0, 0, 200, 100), (100, 200), aspect=1.0)
    assert (w, h) == (200, 200) and (x, y) == (0, -50)  # the whole image, centred, as "fit" shows it
    assert view_around((0, 0, 200, 100), (100, 200)) == (0, 0, 200, 100)


def test_an_image_without_pixels_is_refused():
    with pytest.raises(ValueError):
        view_around((0, 0, 1, 1), (0, 10))
