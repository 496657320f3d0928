"""Framing a region: the view that shows a box with room around it (no Qt).

Frames: boxes and views are XYWH in the original image frame (x = column, y =
row; pixel (c, r) covers [c, c+1) x [r, r+1)); ``image_shape`` is (H, W);
``aspect`` is the canvas's width over height (the view keeps it, as the canvas's
locked aspect would anyway, so the clamping below sees the view that is shown).
"""
from __future__ import annotations

MARGIN = 0.15  # share of the box's width (height) added on each side
MIN_SIDE = 64.0  # image pixels: the narrowest view, so a speck is not zoomed to absurd levels


def view_around(box: tuple[float, float, float, float], image_shape: tuple[int, int], aspect: float | None = None,
                margin: float = MARGIN, min_side: float = MIN_SIDE) -> tuple[float, float, float, float]:
    """The view (XYWH) centred on ``box`` (XYWH) with ``margin`` of its size on each side, at
    least ``min_side`` pixels on each axis, widened to ``aspect`` (width / height; None: as it
    comes), never larger than fitting the whole image, and shifted to stay on the image
    where it is smaller than the image (centred on the image where it is larger)."""
    height, width = image_shape
    if height <= 0 or width <= 0:
        raise ValueError(f"an image of shape {image_shape} has no pixels")
    x, y, w, h = (float(v) for v in box)
    cx, cy = x + w / 2, y + h / 2
    vw = max(w * (1 + 2 * margin), min_side)
    vh = max(h * (1 + 2 * margin), min_side)
    if aspect is not None and aspect > 0:
        if vw / vh < aspect:
            vw = vh * aspect
        else:
            vh = vw / aspect
        fit_w = max(width, height * aspect)  # the whole image, at this aspect
        if vw > fit_w:
            vw, vh = fit_w, fit_w / aspect
    else:
        vw, vh = min(vw, width), min(vh, height)
    return _place(cx, vw, width), _place(cy, vh, height), vw, vh


def _place(centre: float, side: float, extent: float) -> float:
    """Where a view of ``side`` centred on ``centre`` starts, kept within [0, extent] when it fits."""
    if side >= extent:
        return (extent - side) / 2
    return min(max(centre - side / 2, 0.0), extent - side)


__all__ = ["MARGIN", "MIN_SIDE", "view_around"]
