"""One image's annotations as the canvas draws them, kept up to date change by change (no Qt).

The layer holds a *label map*: for each display pixel, the slot of the annotation drawn
on top there (0: none). A change (an annotation shown, hidden, edited, recoloured)
marks the display box it touches; :meth:`AnnotationLayer.flush` recomputes the labels
in those boxes from the few annotations that reach into them, found through a coarse
grid, painted in drawing order, and turns them into RGBA through a palette (one colour
per slot). So a change costs its box and the annotations overlapping it, never the
whole image or every annotation, and the result is exactly what
:func:`app.ui.canvas.overlay.compose` draws from scratch (the tests compare them pixel
for pixel). Colours are opaque: the canvas applies the view's opacity to the whole
layer. In outline mode only each region's border is coloured (see ``compose``), found
with a min and max filter over the labels, which a change again needs only near its box.

Display frame: the image shrunk by ``factor``, (h, w) = ``shape``; boxes are
(x0, y0, x1, y1) display pixels, end-exclusive.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import cv2
import numpy as np

from app.model import Annotation, Mask
from app.ui.canvas.overlay import crop_to_display

CELL = 128  # display pixels per side of a grid cell
Box = tuple[int, int, int, int]
RGB = tuple[int, int, int]


@dataclass
class _Stamp:
    """An annotation's mask in the display frame: a bool crop whose top-left is (x0, y0)."""

    mask: Mask
    crop: np.ndarray
    x0: int
    y0: int
    x1: int
    y1: int
    slot: int


def _rgba_word(color: RGB) -> np.uint32:
    return np.array((*color, 255), dtype=np.uint8).view(np.uint32)[0]


class AnnotationLayer:
    """The shown annotations of one image: ``labels`` (hxw int32 slots) and ``rgba``
    (hxwx4 uint8), see the module docstring. ``order_key(annotation_id)`` sorts annotations
    into drawing order (:meth:`app.model.Dataset.order_key`)."""

    def __init__(self, shape: tuple[int, int], factor: float, order_key: Callable[[int], int],
                 outline: int = 0) -> None:
        """``outline``: 0 to fill the masks, else the border's width in display pixels."""
        self.shape, self.factor, self.order_key = (int(shape[0]), int(shape[1])), float(factor), order_key
        self.labels = np.zeros(self.shape, dtype=np.int32)
        self.rgba = np.zeros((*self.shape, 4), dtype=np.uint8)
        self.outline = int(outline)
        self._words = self.rgba.view(np.uint32)[..., 0]  # one RGBA pixel per word: 4x fewer writes
        self._palette = np.zeros(64, dtype=np.uint32)  # slot -> RGBA word; slot 0 is transparent
        self._free: list[int] = []
        self._next_slot = 1
        self._stamps: dict[int, _Stamp] = {}
        self._columns = -(-self.shape[1] // CELL)
        self._grid: dict[int, set[int]] = {}
        self._relabel: list[Box] = []  # labels to recompute (and paint)
        self._repaint: list[Box] = []  # colours to repaint only

    # -- reading --------------------------------------------------------------------------------------
    def __contains__(self, annotation_id: object) -> bool:
        return annotation_id in self._stamps

    def __len__(self) -> int:
        return len(self._stamps)

    @property
    def whole(self) -> Box:
        return 0, 0, self.shape[1], self.shape[0]

    @property
    def pending(self) -> bool:
        """Whether a change waits for :meth:`flush`."""
        return bool(self._relabel or self._repaint)

    # -- changes --------------------------------------------------------------------------------------
    def add(self, annotation: Annotation, color: RGB) -> None:
        """Show ``annotation`` (newly added, or shown again) in ``color``."""
        if annotation.id in self._stamps:
            self.update(annotation, color)
            return
        stamp = self._stamp(annotation.mask, self._take_slot())
        self._palette[stamp.slot] = _rgba_word(color)
        self._stamps[annotation.id] = stamp
        self._index(annotation.id, stamp, add=True)
        self._mark(self._relabel, stamp)

    def add_all(self, annotations: Iterable[tuple[Annotation, RGB]]) -> None:
        """Show many annotations at once (an image opened): one relabel of the whole image."""
        for annotation, color in annotations:
            stamp = self._stamp(annotation.mask, self._take_slot())
            self._palette[stamp.slot] = _rgba_word(color)
            self._stamps[annotation.id] = stamp
            self._index(annotation.id, stamp, add=True)
        self._relabel.append(self.whole)

    def remove(self, annotation_id: int) -> None:
        """Stop showing an annotation (deleted, hidden, being painted); no-op when not shown."""
        stamp = self._stamps.pop(annotation_id, None)
        if stamp is None:
            return
        self._index(annotation_id, stamp, add=False)
        self._free.append(stamp.slot)
        self._mark(self._relabel, stamp)

    def update(self, annotation: Annotation, color: RGB) -> None:
        """A new version of a shown annotation: its mask and colour (either may be the same)."""
        stamp = self._stamps.get(annotation.id)
        if stamp is None:
            return
        word = _rgba_word(color)
        if annotation.mask is not stamp.mask and annotation.mask != stamp.mask:
            self._mark(self._relabel, stamp)
            self._index(annotation.id, stamp, add=False)
            stamp = self._stamps[annotation.id] = self._stamp(annotation.mask, stamp.slot)
            self._index(annotation.id, stamp, add=True)
            self._mark(self._relabel, stamp)
        elif self._palette[stamp.slot] != word:
            self._mark(self._repaint, stamp)
        self._palette[stamp.slot] = word

    def recolor(self, color_of: Callable[[int], RGB]) -> None:
        """Give every shown annotation ``color_of(annotation id)`` (colour by category or instance)."""
        for annotation_id, stamp in self._stamps.items():
            self._palette[stamp.slot] = _rgba_word(color_of(annotation_id))
        self._repaint.append(self.whole)

    def set_outline(self, width: int) -> None:
        """Fill (0) or draw borders ``width`` display pixels wide."""
        if int(width) != self.outline:
            self.outline = int(width)
            self._repaint.append(self.whole)

    # -- drawing --------------------------------------------------------------------------------------
    def flush(self) -> list[Box]:
        """Bring ``labels`` and ``rgba`` up to date; returns the display boxes whose pixels
        may have changed (what the canvas must upload again)."""
        relabel, repaint = _merge(self._relabel, self.shape), self._relabel + self._repaint
        self._relabel, self._repaint = [], []
        for box in relabel:
            self._draw_labels(box)
        painted = _merge([self._grow(box, self.outline) for box in repaint], self.shape)
        for box in painted:
            self._paint(box)
        return painted

    def _draw_labels(self, box: Box) -> None:
        x0, y0, x1, y1 = box
        region = self.labels[y0:y1, x0:x1]
        region.fill(0)
        ids = self._reaching(box)
        ids.sort(key=self.order_key)
        for annotation_id in ids:
            s = self._stamps[annotation_id]
            ix0, iy0, ix1, iy1 = max(x0, s.x0), max(y0, s.y0), min(x1, s.x1), min(y1, s.y1)
            if ix0 < ix1 and iy0 < iy1:
                np.copyto(region[iy0 - y0 : iy1 - y0, ix0 - x0 : ix1 - x0], s.slot,
                          where=s.crop[iy0 - s.y0 : iy1 - s.y0, ix0 - s.x0 : ix1 - s.x0])

    def _paint(self, box: Box) -> None:
        x0, y0, x1, y1 = box
        labels = self.labels[y0:y1, x0:x1]
        if self.outline:
            labels = labels * self._border(box)
        np.take(self._palette, labels, out=self._words[y0:y1, x0:x1])

    def _border(self, box: Box) -> np.ndarray:
        """Bool (y1-y0, x1-x0): which pixels of ``box`` lie on a region's border (see ``compose``)."""
        t = self.outline
        wx0, wy0, wx1, wy1 = self._grow(box, t)
        window = self.labels[wy0:wy1, wx0:wx1].astype(np.float32)  # exact for slots below 2**24
        kernel = cv2.getStructuringElement(cv2.MORPH_CROSS, (2 * t + 1, 2 * t + 1))
        low = cv2.erode(window, kernel, borderType=cv2.BORDER_CONSTANT, borderValue=0)
        high = cv2.dilate(window, kernel, borderType=cv2.BORDER_CONSTANT, borderValue=0)
        x0, y0, x1, y1 = box
        # Past the window's sides inside the image the constant border is wrong, but those
        # pixels lie more than t from the box: only the box is read back.
        return (low != high)[y0 - wy0 : y1 - wy0, x0 - wx0 : x1 - wx0]

    # -- bookkeeping ----------------------------------------------------------------------------------
    def _take_slot(self) -> int:
        if self._free:
            return self._free.pop()
        slot, self._next_slot = self._next_slot, self._next_slot + 1
        if slot >= len(self._palette):
            self._palette = np.concatenate([self._palette, np.zeros_like(self._palette)])
        return slot

    def _stamp(self, mask: Mask, slot: int) -> _Stamp:
        if mask.is_empty:
            return _Stamp(mask, np.zeros((0, 0), dtype=bool), 0, 0, 0, 0, slot)
        crop, dx, dy = crop_to_display(mask.crop, *mask.origin, self.factor, self.shape)
        crop = crop[: self.shape[0] - dy, : self.shape[1] - dx]
        return _Stamp(mask, crop, dx, dy, dx + crop.shape[1], dy + crop.shape[0], slot)

    def _cells(self, box: Box) -> Iterable[int]:
        x0, y0, x1, y1 = box
        if x0 >= x1 or y0 >= y1:
            return ()
        columns = range(x0 // CELL, (x1 - 1) // CELL + 1)
        return (row * self._columns + column for row in range(y0 // CELL, (y1 - 1) // CELL + 1) for column in columns)

    def _index(self, annotation_id: int, stamp: _Stamp, add: bool) -> None:
        for cell in self._cells((stamp.x0, stamp.y0, stamp.x1, stamp.y1)):
            if add:
                self._grid.setdefault(cell, set()).add(annotation_id)
            else:
                members = self._grid[cell]
                members.discard(annotation_id)
                if not members:
                    del self._grid[cell]

    def _reaching(self, box: Box) -> list[int]:
        """Shown annotations whose display box overlaps ``box``."""
        if box == self.whole:
            return [i for i, s in self._stamps.items() if s.x0 < s.x1]
        found: set[int] = set()
        for cell in self._cells(box):
            found |= self._grid.get(cell, set())
        x0, y0, x1, y1 = box
        stamps = self._stamps
        return [i for i in found if stamps[i].x0 < x1 and stamps[i].x1 > x0 and stamps[i].y0 < y1 and stamps[i].y1 > y0]

    def _mark(self, boxes: list[Box], stamp: _Stamp) -> None:
        if stamp.x0 < stamp.x1 and stamp.y0 < stamp.y1:
            boxes.append((stamp.x0, stamp.y0, stamp.x1, stamp.y1))

    def _grow(self, box: Box, margin: int) -> Box:
        x0, y0, x1, y1 = box
        return max(0, x0 - margin), max(0, y0 - margin), min(self.shape[1], x1 + margin), min(self.shape[0], y1 + margin)


def _merge(boxes: list[Box], shape: tuple[int, int]) -> list[Box]:
    """The boxes with overlapping ones joined; the whole image once they cover much of it
    (one pass over everything is then cheaper than many over parts)."""
    if len(boxes) > 64:
        return [(0, 0, shape[1], shape[0])]
    merged: list[Box] = []
    for box in boxes:
        x0, y0, x1, y1 = box
        joined = True
        while joined:
            joined = False
            for i, (a0, b0, a1, b1) in enumerate(merged):
                if a0 < x1 and x0 < a1 and b0 < y1 and y0 < b1:
                    x0, y0, x1, y1 = min(x0, a0), min(y0, b0), max(x1, a1), max(y1, b1)
                    del merged[i]
                    joined = True
                    break
        merged.append((x0, y0, x1, y1))
    area = sum((x1 - x0) * (y1 - y0) for x0, y0, x1, y1 in merged)
    if len(merged) > 64 or area > shape[0] * shape[1] // 2:
        return [(0, 0, shape[1], shape[0])] if merged else []
    return merged


__all__ = ["CELL", "AnnotationLayer"]
