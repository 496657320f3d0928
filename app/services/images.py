"""Reading images from disk into HxWx3 uint8 RGB arrays, without Qt.

``cv2.imdecode(np.fromfile(path))`` copes with non-ASCII paths on every OS.
``IMREAD_ANYDEPTH | IMREAD_ANYCOLOR`` keeps 16-bit and grey data for
:func:`sam_core.utils.image.to_rgb_uint8` to convert, and applies the EXIF
orientation (only ``IMREAD_UNCHANGED`` would ignore it); alpha is dropped.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from sam_core.utils.image import to_rgb_uint8

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")
_JPEG_SUFFIXES = (".jpg", ".jpeg")


class ImageLoadError(ValueError):
    """An image file cannot be read; ``str(error)`` is one line naming the file."""


def list_images(folder: Path) -> list[Path]:
    """Image files directly in ``folder``, sorted by name (case-insensitive)."""
    files = [p for p in Path(folder).iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES]
    return sorted(files, key=lambda p: (p.name.lower(), p.name))


def load_image(path: Path) -> np.ndarray:
    """The image at ``path`` as a C-contiguous HxWx3 uint8 RGB array, EXIF-rotated.

    Raises :class:`ImageLoadError` with a one-line reason.
    """
    path = Path(path)
    try:
        data = np.fromfile(path, dtype=np.uint8)
    except OSError as exc:
        raise ImageLoadError(f"{path.name}: cannot read the file ({exc.strerror or exc})") from None
    if data.size == 0:
        raise ImageLoadError(f"{path.name}: the file is empty")
    if path.suffix.lower() in _JPEG_SUFFIXES and not _has_jpeg_end(data):
        raise ImageLoadError(f"{path.name}: truncated JPEG (the file ends before the image data does)")
    image = cv2.imdecode(data, cv2.IMREAD_ANYDEPTH | cv2.IMREAD_ANYCOLOR)
    if image is None:
        raise ImageLoadError(f"{path.name}: not a readable image (corrupt, truncated or unsupported format)")
    if image.ndim == 3 and image.shape[2] == 3:
        image = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    try:
        return to_rgb_uint8(image)
    except ValueError as exc:
        raise ImageLoadError(f"{path.name}: {exc}") from None


def _has_jpeg_end(data: np.ndarray) -> bool:
    # Some cameras pad after the end-of-image marker; look at the tail only.
    tail = data[-4096:].tobytes().rstrip(b"\x00\r\n ")
    return tail.endswith(b"\xff\xd9")


@dataclass(frozen=True)
class ScannedImage:
    """What the folder scan learns about one file: its size and a small preview."""

    path: Path
    width: int
    height: int
    thumbnail: np.ndarray  # hxwx3 uint8 RGB, longest side <= the scan's max side


def scan_image(path: Path, max_side: int = 64) -> ScannedImage:
    """Decode ``path`` once to learn its size and make a thumbnail; raises ImageLoadError."""
    image = load_image(path)
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
