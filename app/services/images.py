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

from sam_core.image_files import read_image_file
from sam_core.limits import DEFAULT_LIMITS, Limits


@dataclass(frozen=True)
class ScannedImage:
    """What the folder scan learns about one file: its size, a small preview, and the
    warnings of its decoder (one line each, e.g. damaged data decoded as grey)."""

    path: Path
    width: int
    height: int
    thumbnail: np.ndarray  # hxwx3 uint8 RGB, longest side <= the scan's max side
    warnings: tuple[str, ...] = ()


def scan_image(path: Path, max_side: int = 64, limits: Limits = DEFAULT_LIMITS) -> ScannedImage:
    """Decode ``path`` once, shrunk where the format allows (a JPEG at 1/8 scale still runs its
    whole decoder, so damage is still found), to learn its size and make a thumbnail; raises
    ImageReadError, also for an image beyond ``limits``."""
    decoded = read_image_file(path, limits, max_side=max_side)
    height, width = decoded.size
    return ScannedImage(Path(path), width, height, downsample(decoded.pixels, max_side)[0], decoded.warnings)


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
