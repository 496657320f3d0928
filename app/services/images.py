"""Image preparation for the app, without Qt: an image's size from its first bytes (the folder
listing), a thumbnail for the folder scan and a shrunk display copy for the canvas. Reading files is :mod:`sam_core.image_files`'s (the one reader
of the app, the CLI and the engine); its :class:`~sam_core.image_files.ImageReadError` is
what every failure here raises.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from sam_core.image_files import ImageReadError, read_image_file, sniff_format
from sam_core.image_header import header_size, jpeg_orientation
from sam_core.limits import DEFAULT_LIMITS, LimitError, Limits

HEAD_BYTES = 256 * 1024  # enough for a JPEG's EXIF and ICC segments before its frame header


@dataclass(frozen=True)
class ScannedImage:
    """What the folder scan learns about one file: its size, a small preview, and the
    warnings of its decoder (one line each, e.g. damaged data decoded as grey)."""

    path: Path
    width: int
    height: int
    thumbnail: np.ndarray | None  # hxwx3 uint8 RGB, longest side <= the scan's max side; None: not decoded yet
    warnings: tuple[str, ...] = ()
    file_size: int = 0  # bytes on disk, the cost of decoding it (0: unknown)


def peek_image(path: Path, limits: Limits = DEFAULT_LIMITS) -> ScannedImage | None:
    """What the listing learns of ``path`` from its first and last bytes, without decoding: its
    size as shown (a JPEG's EXIF quarter turns applied), no thumbnail. None when the bytes do not
    tell, or look wrong (empty, no end marker, an unknown format): :func:`scan_image` then decodes
    it and says exactly what is wrong. Raises ImageReadError for an image beyond ``limits``.

    Formats other than JPEG may carry an EXIF orientation too; the decode that makes the
    thumbnail gives the true size, and the caller corrects the record then."""
    try:
        with open(path, "rb") as file:
            head = file.read(HEAD_BYTES)
            size = file.seek(0, 2)
            file.seek(max(0, size - 4096))
            tail = file.read()
    except OSError:
        return None
    kind = sniff_format(head[:32])
    if kind not in ("PNG", "JPEG", "GIF", "BMP", "WebP", "TIFF") or not _ends_whole(kind, tail):
        return None
    stored = header_size(head)
    if stored is None:
        return None
    width, height = stored
    try:
        warning = limits.check_image_size(width, height)
    except LimitError as exc:
        raise ImageReadError(path, str(exc)) from None
    if kind == "JPEG" and jpeg_orientation(head) >= 5:
        width, height = height, width
    return ScannedImage(Path(path), width, height, None, (warning,) if warning else (), size)


def _ends_whole(kind: str, tail: bytes) -> bool:
    """Whether the file's last bytes end as a whole file of ``kind`` does (the cheap catch of a
    truncated copy; the decoder catches the rest)."""
    if kind == "JPEG":  # some cameras pad after the end-of-image marker
        return tail.rstrip(b"\x00\r\n ").endswith(b"\xff\xd9")
    if kind == "PNG":
        return b"IEND" in tail[-16:]
    return True


def scan_image(path: Path, max_side: int = 64, limits: Limits = DEFAULT_LIMITS) -> ScannedImage:
    """Decode ``path`` once, shrunk where the format allows (a JPEG at 1/8 scale still runs its
    whole decoder, so damage is still found), to learn its size and make a thumbnail; raises
    ImageReadError, also for an image beyond ``limits``."""
    decoded = read_image_file(path, limits, max_side=max_side)
    height, width = decoded.size
    try:
        file_size = Path(path).stat().st_size
    except OSError:
        file_size = 0
    thumbnail = downsample(decoded.pixels, max_side)[0]
    return ScannedImage(Path(path), width, height, thumbnail, decoded.warnings, file_size)


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
