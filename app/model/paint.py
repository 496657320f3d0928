"""Brush and eraser strokes on a mask, at full image resolution (no Qt).

Frames: x = column, y = row in original image pixels; pixel (c, r) covers
[c, c+1) x [r, r+1) and its centre is (c + 0.5, r + 0.5). A brush of radius r
covers the pixels whose centres lie within r of the pointer's path, so the
footprint drawn on screen and the pixels painted agree at any zoom.

A :class:`Stroke` keeps the mask it started from and the pixels its path has
covered so far, inside their growing bounding box only; at the end it yields
one :class:`RegionDiff`, the whole stroke's undo step. It also tells a live
preview which box each move changed, so that only that box is redrawn.
"""
from __future__ import annotations

import math

import numpy as np

from app.model.commands import RegionDiff, box_union
from app.model.mask import Mask


def capsule(x0: float, y0: float, x1: float, y1: float, radius: float, shape: tuple[int, int]):
    """Pixels within ``radius`` of the segment (x0, y0)-(x1, y1) of an (H, W) image.

    Returns ``(patch, x, y)``: an (h, w) bool patch at column x, row y, clipped
    to the image, or None when nothing of the image is covered.
    """
    height, width = shape
    r = max(float(radius), 0.5)
    cx0, cy0 = max(0, math.floor(min(x0, x1) - r)), max(0, math.floor(min(y0, y1) - r))
    cx1, cy1 = min(width, math.ceil(max(x0, x1) + r)), min(height, math.ceil(max(y0, y1) + r))
    if cx0 >= cx1 or cy0 >= cy1:
        return None
    px = np.arange(cx0, cx1, dtype=np.float64)[None, :] + 0.5
    py = np.arange(cy0, cy1, dtype=np.float64)[:, None] + 0.5
    dx, dy = x1 - x0, y1 - y0
    length2 = dx * dx + dy * dy
    # Distance from each pixel centre to the nearest point of the segment.
    t = 0.0 if length2 == 0 else np.clip(((px - x0) * dx + (py - y0) * dy) / length2, 0.0, 1.0)
    patch = (px - (x0 + t * dx)) ** 2 + (py - (y0 + t * dy)) ** 2 <= r * r
    if not patch.any():
        return None
    return patch, cx0, cy0


class Stroke:
    """One brush (``erase=False``) or eraser stroke on ``before``, radius in image pixels."""

    def __init__(self, before: Mask, radius: float, erase: bool = False) -> None:
        self.before, self.radius, self.erase = before, float(radius), bool(erase)
        self.shape = before.shape
        self.start: tuple[float, float] | None = None
        self.last: tuple[float, float] | None = None
        self._covered = np.zeros((0, 0), dtype=bool)  # pixels under the path, inside _box
        self._box = (0, 0, 0, 0)  # XYWH
        self._changed: tuple[int, int, int, int] | None = None  # XYWH changed since take_changed()

    # -- painting ------------------------------------------------------------------------------------
    def add_point(self, x: float, y: float) -> None:
        """Extend the path to (x, y); the first point paints one disc."""
        if self.start is None:
            self.start = (x, y)
        x0, y0 = self.last if self.last is not None else (x, y)
        self.last = (x, y)
        self._cover(capsule(x0, y0, x, y, self.radius, self.shape))

    def line_to(self, x: float, y: float) -> None:
        """Make the path one straight segment from the first point to (x, y) (Shift-drag)."""
        if self.start is None:
            self.add_point(x, y)
            return
        self._changed = box_union((self._changed or (0, 0, 0, 0), self._box))  # the old line goes
        self._covered, self._box = np.zeros((0, 0), dtype=bool), (0, 0, 0, 0)
        self.last = (x, y)
        self._cover(capsule(*self.start, x, y, self.radius, self.shape))

    def _cover(self, piece) -> None:
        if piece is None:
            return
        patch, px, py = piece
        ph, pw = patch.shape
        self._changed = box_union((self._changed or (0, 0, 0, 0), (px, py, pw, ph)))
        bx, by, bw, bh = self._box
        if bw == 0:
            self._covered, self._box = patch.copy(), (px, py, pw, ph)
            return
        nx0, ny0 = min(bx, px), min(by, py)
        nx1, ny1 = max(bx + bw, px + pw), max(by + bh, py + ph)
        if (nx0, ny0, nx1 - nx0, ny1 - ny0) != self._box:
            grown = np.zeros((ny1 - ny0, nx1 - nx0), dtype=bool)
            grown[by - ny0 : by - ny0 + bh, bx - nx0 : bx - nx0 + bw] = self._covered
            self._covered, self._box = grown, (nx0, ny0, nx1 - nx0, ny1 - ny0)
            bx, by = nx0, ny0
        self._covered[py - by : py - by + ph, px - bx : px - bx + pw] |= patch

    # -- results -------------------------------------------------------------------------------------
    @property
    def painted_area(self) -> int:
        return int(np.count_nonzero(self._covered))

    def region(self, x: int, y: int, w: int, h: int) -> np.ndarray:
        """The mask as the stroke leaves it, over the XYWH box: (h, w) bool."""
        out = self.before.region(x, y, w, h)
        bx, by, bw, bh = self._box
        x0, y0, x1, y1 = max(x, bx), max(y, by), min(x + w, bx + bw), min(y + h, by + bh)
        if x0 < x1 and y0 < y1:
            covered = self._covered[y0 - by : y1 - by, x0 - bx : x1 - bx]
            view = out[y0 - y : y1 - y, x0 - x : x1 - x]
            if self.erase:
                view &= ~covered
            else:
                view |= covered
        return out

    def diff(self) -> RegionDiff | None:
        """The whole stroke as one diff of ``before``: its covered box, trimmed to
        the pixels that change; None when the stroke changed nothing."""
        x, y, w, h = self._box
        if w == 0:
            return None
        return RegionDiff.within(self.before, x, y, self.region(x, y, w, h))

    def after(self) -> Mask:
        """The mask as the stroke leaves it."""
        diff = self.diff()
        return self.before if diff is None else diff.apply(self.before)

    def preview_box(self) -> tuple[int, int, int, int] | None:
        """XYWH covering the mask before the stroke and the stroke itself: what a
        live preview must redraw. None when both are empty."""
        return box_union((self.before.bbox, self._box))

    def take_changed(self) -> tuple[int, int, int, int] | None:
        """XYWH box of the pixels the path may have changed since the last call
        (None when none): what a live preview must redraw after a move."""
        changed, self._changed = self._changed, None
        return changed
