"""Image preparation for the app, without Qt: a thumbnail for the folder scan and a shrunk
display copy for the canvas. Reading files is :mod:`sam_core.image_files`'s (the one reader
of the app, the CLI and the engine); its :class:`~sam_core.image_files.ImageReadError` is
what every failure here raises.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from sam_core.image_files import read_image


@dataclass(frozen=True)
class ScannedImage:
    """What the folder scan learns about one file: its size and a small preview."""

    path: Path
    width: int
    height: int
    thumbnail: np.ndarray  # hxwx3 uint8 RGB, longest side <= the scan's max side


def scan_image(path: Path, max_side: int = 64) -> ScannedImage:
    """Decode ``path`` once to learn its size and make a thumbnail; raises ImageReadError."""
    image = read_image(path)
    return ScannedImage(Path(path), image.shape[1], image.shape[0], downsample(image, max_side)[0])


def downsample(image: np.ndarray, max_side: int) -> tuple[np.ndarray, float]:
    """``image`` shrunk so its longest side is at most ``max_side`` (area filter),
    and the factor (original pixels per returned pixel, >= 1)."""
    h, w = image.shape[:2]
    factor = max(h, w) / max_side
    if factor <= 1:
        return image, 1.0
    size = (max(1, round(w / factor)), max(1, round(h / factor)))
    small = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(small), factor
