"""Reading images from disk into HxWx3 uint8 RGB arrays, without Qt.

``cv2.imdecode(np.fromfile(path))`` copes with non-ASCII paths on every OS.
``IMREAD_ANYDEPTH | IMREAD_ANYCOLOR`` keeps 16-bit and grey data for
:func:`sam_core.utils.image.to_rgb_uint8` to convert, and applies the EXIF
orientation (only ``IMREAD_UNCHANGED`` would ignore it), so masks line up with
what the user sees; alpha is dropped. Every failure is an :class:`ImageLoadError`
whose one-line message names the file and says what is wrong with it: empty,
truncated, damaged, or a format this build cannot decode (sniffed from the
first bytes, whatever the suffix says).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from sam_core.utils.image import to_rgb_uint8

IMAGE_SUFFIXES = (
    ".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp",
    ".gif", ".jp2", ".avif", ".pbm", ".pgm", ".ppm", ".pnm",  # when this OpenCV build decodes them
)
#: Image formats OpenCV cannot decode: listed as skipped with the reason, never silently ignored.
UNSUPPORTED_SUFFIXES = {
    ".heic": "HEIC", ".heif": "HEIF", ".jxl": "JPEG XL", ".psd": "Photoshop", ".svg": "SVG", ".ico": "icon",
    ".dng": "camera raw", ".cr2": "camera raw", ".cr3": "camera raw", ".nef": "camera raw",
    ".arw": "camera raw", ".raw": "camera raw", ".exr": "OpenEXR",
}
_JPEG_SUFFIXES = (".jpg", ".jpeg")
# Formats OpenCV always decodes: a failure there means the file is damaged.
_CORE_FORMATS = ("PNG", "JPEG", "BMP", "TIFF", "WebP", "PNM")


class ImageLoadError(ValueError):
    """An image file cannot be read; ``str(error)`` is one line naming the file."""


def list_images(folder: Path) -> list[Path]:
    """Image files directly in ``folder``, sorted by name (case-insensitive), including
    those in formats that cannot be decoded (:func:`load_image` says why)."""
    suffixes = set(IMAGE_SUFFIXES) | set(UNSUPPORTED_SUFFIXES)
    files = [
        p for p in Path(folder).iterdir() if p.suffix.lower() in suffixes and not p.name.startswith(".") and p.is_file()
    ]
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
    kind = sniff_format(data[:32].tobytes())
    unsupported = UNSUPPORTED_SUFFIXES.get(path.suffix.lower())
    if unsupported is not None and kind not in _CORE_FORMATS:
        raise ImageLoadError(f"{path.name}: unsupported format ({kind or unsupported}); convert it to PNG or JPEG")
    if kind == "JPEG" and not _has_jpeg_end(data):
        raise ImageLoadError(f"{path.name}: truncated JPEG (the file ends before the image data does)")
    image = cv2.imdecode(data, cv2.IMREAD_ANYDEPTH | cv2.IMREAD_ANYCOLOR)
    if image is None:
        if kind in _CORE_FORMATS:
            raise ImageLoadError(f"{path.name}: not a readable image (corrupt or truncated {kind} data)")
        if kind is not None:
            raise ImageLoadError(
                f"{path.name}: not a readable image ({kind} is damaged or not supported by this OpenCV build; "
                "convert it to PNG or JPEG)"
            )
        raise ImageLoadError(f"{path.name}: not a readable image (unknown or unsupported format)")
    if image.ndim == 3 and image.shape[2] == 3:
        image = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    try:
        return to_rgb_uint8(image)
    except ValueError as exc:
        raise ImageLoadError(f"{path.name}: {exc}") from None


def sniff_format(head: bytes) -> str | None:
    """The image format the first bytes of a file announce, or None when unknown."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if head.startswith(b"BM"):
        return "BMP"
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return "TIFF"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WebP"
    if head[:4] in (b"GIF8",):
        return "GIF"
    if head[:2] in (b"P1", b"P2", b"P3", b"P4", b"P5", b"P6"):
        return "PNM"
    if head.startswith(b"\x00\x00\x00\x0cjP  ") or head.startswith(b"\xff\x4f\xff\x51"):
        return "JPEG 2000"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in (b"avif", b"avis"):
            return "AVIF"
        if brand in (b"heic", b"heix", b"hevc", b"heim", b"heis", b"mif1", b"msf1"):
            return "HEIC"
    if head.startswith(b"\xff\x0a") or head.startswith(b"\x00\x00\x00\x0cJXL "):
        return "JPEG XL"
    if head.startswith(b"8BPS"):
        return "Photoshop"
    return None


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
