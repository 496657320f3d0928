"""Mask overlays in the display frame, as numpy arrays (no Qt).

The display frame is the image shrunk by ``factor`` (original pixels per display
pixel, >= 1) for big images; masks stay full-resolution in the document and are
only resampled here, for drawing.
"""
from __future__ import annotations

from collections.abc import Iterable

import cv2
import numpy as np

from app.model import Annotation

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


def compose(
    annotations: Iterable[Annotation],
    colors: dict[int, tuple[int, int, int]],
    shape: tuple[int, int],
    factor: float = 1.0,
    alpha: int = FILL_ALPHA,
) -> np.ndarray:
    """An hxwx4 uint8 RGBA overlay of ``annotations`` (later ones on top), each in
    its category's colour; ``shape`` is the display (h, w)."""
    rgba = np.zeros((*shape, 4), dtype=np.uint8)
    for annotation in annotations:
        mask = annotation.mask
        if mask.is_empty:
            continue
        crop, dx, dy = crop_to_display(mask.crop, *mask.origin, factor, shape)
        region = rgba[dy : dy + crop.shape[0], dx : dx + crop.shape[1]]
        crop = crop[: region.shape[0], : region.shape[1]]
        region[crop] = (*colors.get(annotation.category_id, (255, 0, 0)), alpha)
    return rgba


def mask_overlay(mask: np.ndarray, color: tuple[int, int, int], shape: tuple[int, int], factor: float = 1.0,
                 alpha: int = CANDIDATE_ALPHA) -> np.ndarray:
    """An hxwx4 RGBA overlay of one full-resolution HxW bool mask."""
    small, _, _ = crop_to_display(np.ascontiguousarray(mask), 0, 0, factor, shape)
    rgba = np.zeros((*shape, 4), dtype=np.uint8)
    rgba[small[: shape[0], : shape[1]]] = (*color, alpha)
    return rgba


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


def patch_overlay(patch: np.ndarray, x: int, y: int, color: tuple[int, int, int], factor: float,
                  shape: tuple[int, int], alpha: int = FILL_ALPHA):
    """An RGBA overlay of the bool ``patch`` at (x, y), resampled like :func:`compose`
    so it lines up with the annotation overlay. Returns ``(rgba, (x, y, w, h))``,
    the box being where to place it in the original frame; None when it is empty."""
    small, dx, dy = crop_to_display(np.ascontiguousarray(patch), x, y, factor, shape)
    small = small[: max(0, shape[0] - dy), : max(0, shape[1] - dx)]
    if small.size == 0:
        return None
    rgba = np.zeros((*small.shape, 4), dtype=np.uint8)
    rgba[small] = (*color, alpha)
    scale = max(factor, 1.0)
    return rgba, (dx * scale, dy * scale, small.shape[1] * scale, small.shape[0] * scale)
