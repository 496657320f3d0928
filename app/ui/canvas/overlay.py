"""Mask overlays in the display frame, as numpy arrays (no Qt): the whole-image recompose,
the candidate's patch, the selected annotation's outline and the live stroke.

The display frame is the image shrunk by ``factor`` (original pixels per display
pixel, >= 1) for big images; masks stay full-resolution in the document and are
only resampled here, for drawing.
"""
from __future__ import annotations

import colorsys
import math
from collections.abc import Callable, Iterable

import cv2
import numpy as np

from app.model import Annotation
from app.model.paint import Stroke

FILL_ALPHA = 110
CANDIDATE_ALPHA = 140


def display_shape(shape: tuple[int, int], factor: float) -> tuple[int, int]:
    """(h, w) of the display copy of an (H, W) image, as :func:`images.downsample` makes it."""
    if factor <= 1:
        return shape
    return max(1, round(shape[0] / factor)), max(1, round(shape[1] / factor))


def crop_to_display(crop: np.ndarray, x: int, y: int, factor: float, shape: tuple[int, int]):
    """A bool crop at (x, y) of the original frame, resampled to the display frame:
    returns (display crop, dx, dy), clipped to ``shape`` (h, w of the display)."""
    if factor <= 1:
        return crop, x, y
    dx0, dy0 = int(x / factor), int(y / factor)
    dx1 = min(shape[1], max(dx0 + 1, round((x + crop.shape[1]) / factor)))
    dy1 = min(shape[0], max(dy0 + 1, round((y + crop.shape[0]) / factor)))
    small = cv2.resize(crop.view(np.uint8), (dx1 - dx0, dy1 - dy0), interpolation=cv2.INTER_NEAREST)
    return small.astype(bool), dx0, dy0


def instance_color(annotation_id: int) -> tuple[int, int, int]:
    """A distinct RGB colour for one annotation, when the view colours by instance: hues a
    golden-ratio step apart, so neighbours made one after the other never look alike."""
    hue = (annotation_id * 0.618033988749895 + 0.31) % 1.0
    r, g, b = colorsys.hsv_to_rgb(hue, 0.8, 0.95)
    return round(r * 255), round(g * 255), round(b * 255)


def outline_width(shape: tuple[int, int]) -> int:
    """How many display pixels wide outlines are drawn: about one per 1200 pixels of the
    longer side, so they stay visible when a big image is fitted to the window."""
    return max(1, round(max(shape) / 1200))


def compose(
    annotations: Iterable[Annotation],
    color_of: Callable[[Annotation], tuple[int, int, int]],
    shape: tuple[int, int],
    factor: float = 1.0,
    alpha: int = 255,
    outline: int = 0,
) -> np.ndarray:
    """An hxwx4 uint8 RGBA overlay of ``annotations`` in drawing order (later ones on top),
    each in ``color_of(annotation)``; ``shape`` is the display (h, w).

    With ``outline`` > 0 only each visible region's border is drawn: the pixels that have,
    within ``outline`` pixels along their row or column, a pixel of another annotation,
    of none, or the image's edge.

    This is the whole-image recompose, the reference the incremental
    :class:`~app.ui.canvas.annotation_layer.AnnotationLayer` must match pixel for pixel.
    """
    annotations = list(annotations)
    top = np.zeros(shape, dtype=np.int64)  # 1 + index of the annotation drawn at each pixel
    for number, annotation in enumerate(annotations, start=1):
        mask = annotation.mask
        if mask.is_empty:
            continue
        crop, dx, dy = crop_to_display(mask.crop, *mask.origin, factor, shape)
        region = top[dy : dy + crop.shape[0], dx : dx + crop.shape[1]]
        region[crop[: region.shape[0], : region.shape[1]]] = number
    if outline > 0:
        padded = np.pad(top, outline)  # outside the image counts as no annotation
        h, w = shape
        border = np.zeros(shape, dtype=bool)
        for d in range(1, outline + 1):
            for oy, ox in ((d, 0), (-d, 0), (0, d), (0, -d)):
                border |= padded[outline + oy : outline + oy + h, outline + ox : outline + ox + w] != top
        top = np.where(border, top, 0)
    colors = np.zeros((len(annotations) + 1, 4), dtype=np.uint8)
    for number, annotation in enumerate(annotations, start=1):
        colors[number] = (*color_of(annotation), alpha)
    return colors[top]


def mask_patch(mask: np.ndarray, color: tuple[int, int, int], shape: tuple[int, int], factor: float = 1.0,
               alpha: int = CANDIDATE_ALPHA) -> tuple[np.ndarray, tuple[float, float, float, float]] | None:
    """One full-resolution HxW bool mask (a candidate) as an RGBA patch of the display frame
    over its bounding box: (hxwx4 uint8, XYWH of the patch in the original frame); None
    when the mask is empty. Only the box is resampled and coloured, never the whole image."""
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if len(rows) == 0:
        return None
    y, x = int(rows[0]), int(cols[0])
    crop = np.ascontiguousarray(mask[y : rows[-1] + 1, x : cols[-1] + 1], dtype=bool)
    small, dx, dy = crop_to_display(crop, x, y, factor, shape)
    small = small[: shape[0] - dy, : shape[1] - dx]
    rgba = np.zeros((*small.shape, 4), dtype=np.uint8)
    rgba[small] = (*color, alpha)
    sy, sx = mask.shape[0] / shape[0], mask.shape[1] / shape[1]  # original pixels per display pixel
    return rgba, (dx * sx, dy * sy, small.shape[1] * sx, small.shape[0] * sy)


def outline(crop: np.ndarray, x: int, y: int, factor: float, shape: tuple[int, int]) -> list[np.ndarray]:
    """Outer and hole boundaries of a mask crop as Kx2 (x, y) polylines in the
    original frame, traced at display resolution (enough to see, cheap to draw)."""
    small, dx, dy = crop_to_display(crop, x, y, factor, shape)
    if not small.any():
        return []
    padded = np.pad(small.view(np.uint8), 1)
    contours, _ = cv2.findContours(padded, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)
    scale = max(factor, 1.0)
    lines = []
    for contour in contours:
        pts = contour[:, 0, :].astype(np.float64) - 1 + 0.5  # pixel centres
        pts[:, 0] = (pts[:, 0] + dx) * scale
        pts[:, 1] = (pts[:, 1] + dy) * scale
        lines.append(np.vstack([pts, pts[:1]]))
    return lines


def _samples(d0: int, d1: int, factor: float, size: int) -> np.ndarray:
    """Original indices shown by display pixels d0..d1-1: the pixel under each one's centre."""
    if factor <= 1:
        return np.arange(d0, d1)
    return np.minimum(((np.arange(d0, d1) + 0.5) * factor).astype(np.intp), size - 1)


def _display_span(a0: int, a1: int, factor: float, size: int, display_size: int) -> tuple[int, int]:
    """Display pixels d0..d1-1 that may show original pixels a0..a1-1 (one of margin each side)."""
    if factor <= 1:
        return max(0, a0), min(display_size, a1)
    d0 = max(0, math.floor(a0 / factor - 0.5))
    d1 = display_size if a1 >= size else min(display_size, math.ceil(a1 / factor - 0.5) + 1)
    return d0, d1


class StrokePreview:
    """A live :class:`Stroke`'s mask as one RGBA image in the display frame.

    Each move redraws only the box the stroke says it changed. A display pixel
    shows the original pixel under its centre, whatever box it is drawn with, so
    piecewise redraws give the same image as one whole redraw. The image grows
    (with slack) when the stroke leaves it.
    """

    def __init__(self, stroke: Stroke, color: tuple[int, int, int], factor: float, shape: tuple[int, int],
                 alpha: int = FILL_ALPHA) -> None:
        """``shape``: the display (h, w); ``factor``: original pixels per display pixel."""
        self.stroke, self.factor, self.shape = stroke, max(float(factor), 1.0), shape
        self._color = np.array((*color, alpha), dtype=np.uint8).view(np.uint32)[0]  # one RGBA pixel as a word
        self.rgba = np.zeros((0, 0, 4), dtype=np.uint8)
        self.origin = (0, 0)  # display (column, row) of rgba[0, 0]
        stroke.take_changed()
        box = stroke.preview_box()
        if box is not None:
            self.update(box)

    @property
    def rect(self) -> tuple[float, float, float, float]:
        """Where the image lies in the original frame, XYWH."""
        f = self.factor
        return self.origin[0] * f, self.origin[1] * f, self.rgba.shape[1] * f, self.rgba.shape[0] * f

    def update(self, box: tuple[int, int, int, int]) -> None:
        """Redraw the display pixels over the original XYWH ``box``."""
        x, y, w, h = box
        (height, width), f = self.stroke.shape, self.factor
        c0, c1 = _display_span(x, x + w, f, width, self.shape[1])
        r0, r1 = _display_span(y, y + h, f, height, self.shape[0])
        if c0 >= c1 or r0 >= r1:
            return
        self._grow(c0, r0, c1, r1)
        cols, rows = _samples(c0, c1, f, width), _samples(r0, r1, f, height)
        region = self.stroke.region(int(cols[0]), int(rows[0]), int(cols[-1] + 1 - cols[0]),
                                    int(rows[-1] + 1 - rows[0]))
        if f > 1:
            region = region.take(rows - rows[0], axis=0).take(cols - cols[0], axis=1)
        ox, oy = self.origin
        pixels = self.rgba.view(np.uint32)[..., 0]  # whole RGBA words: 4x faster than per channel
        np.multiply(region, self._color, out=pixels[r0 - oy : r1 - oy, c0 - ox : c1 - ox], casting="unsafe")

    def _grow(self, c0: int, r0: int, c1: int, r1: int) -> None:
        (ox, oy), (h, w) = self.origin, self.rgba.shape[:2]
        if w and ox <= c0 and oy <= r0 and c1 <= ox + w and r1 <= oy + h:
            return
        if w:
            c0, r0, c1, r1 = min(c0, ox), min(r0, oy), max(c1, ox + w), max(r1, oy + h)
        pad_x, pad_y = max(16, (c1 - c0) // 4), max(16, (r1 - r0) // 4)  # slack: grow seldom
        c0, r0 = max(0, c0 - pad_x), max(0, r0 - pad_y)
        c1, r1 = min(self.shape[1], c1 + pad_x), min(self.shape[0], r1 + pad_y)
        grown = np.zeros((r1 - r0, c1 - c0, 4), dtype=np.uint8)
        if w:
            grown[oy - r0 : oy - r0 + h, ox - c0 : ox - c0 + w] = self.rgba
        self.rgba, self.origin = grown, (c0, r0)
