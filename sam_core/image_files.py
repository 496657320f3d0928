"""Image files on disk: which files are images, and reading one into HxWx3 uint8 RGB.

The one image reader of Maskwright, shared by the batch CLI, the data engine and
the app. Decoding needs a codec: OpenCV (a dependency of the package) is imported
here, lazily, inside :func:`read_image`, and nowhere else in ``sam_core``, so
``import sam_core`` never loads it and the engine stays torch + numpy.

``cv2.imdecode(np.fromfile(path))`` copes with non-ASCII paths on every OS.
``IMREAD_ANYDEPTH | IMREAD_ANYCOLOR`` keeps 16-bit and grey data for
:func:`sam_core.utils.image.to_rgb_uint8` to convert, and applies the EXIF
orientation (only ``IMREAD_UNCHANGED`` would ignore it), so masks line up with
what the user sees; alpha is dropped. Every failure is an :class:`ImageReadError`
naming the file and saying what is wrong with it: empty, truncated, damaged, or a
format this build cannot decode (sniffed from the first bytes, whatever the
suffix says).
"""
from __future__ import annotations

import os
import stat
import sys
import tempfile
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .image_header import header_size
from .limits import DEFAULT_LIMITS, LimitError, Limits
from .utils.image import to_rgb_uint8

#: Suffixes read as images. The last ones decode when this OpenCV build supports them.
IMAGE_SUFFIXES = (
    ".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp",
    ".gif", ".jp2", ".avif", ".pbm", ".pgm", ".ppm", ".pnm",
)
#: Image formats OpenCV cannot decode: listed, so they are reported as skipped with the reason.
UNSUPPORTED_SUFFIXES = {
    ".heic": "HEIC", ".heif": "HEIF", ".jxl": "JPEG XL", ".psd": "Photoshop", ".svg": "SVG", ".ico": "icon",
    ".dng": "camera raw", ".cr2": "camera raw", ".cr3": "camera raw", ".nef": "camera raw",
    ".arw": "camera raw", ".raw": "camera raw", ".exr": "OpenEXR",
}
#: A file of this name marks a folder of exported masks (PNG masks are images too): a recursive
#: listing leaves such a subfolder out, so an export saved inside the image folder never comes
#: back as images to label.
EXPORT_MARKER = ".maskwright-export"
# Formats OpenCV always decodes: a failure there means the file is damaged.
_CORE_FORMATS = ("PNG", "JPEG", "BMP", "TIFF", "WebP", "PNM")


class ImageReadError(ValueError):
    """An image file cannot be read. ``str(error)`` is one line, ``"<file name>: <reason>"``;
    ``path`` and ``reason`` are kept apart for callers that name the file their own way."""

    def __init__(self, path: str | os.PathLike, reason: str) -> None:
        self.path, self.reason = Path(path), reason
        super().__init__(f"{self.path.name}: {reason}")


def is_image_name(path: str | os.PathLike) -> bool:
    """Whether the suffix says image (decodable or not)."""
    suffix = Path(path).suffix.lower()
    return suffix in IMAGE_SUFFIXES or suffix in UNSUPPORTED_SUFFIXES


def list_images(target: str | os.PathLike, recursive: bool = False) -> list[Path]:
    """The image files of ``target``: a file is taken as it is; a folder gives its image
    files (by suffix, formats OpenCV cannot decode included, so :func:`read_image` can
    say why), sorted case-insensitively by their path inside the folder. Names starting
    with a dot are left out, and so are the folders they name when ``recursive``;
    :func:`list_folder` also says what it left out and why.

    Raises FileNotFoundError when ``target`` does not exist.
    """
    return list_folder(target, recursive)[0]


def list_folder(target: str | os.PathLike, recursive: bool = False) -> tuple[list[Path], list[tuple[Path, str]]]:
    """:func:`list_images`, and the files with an image suffix it left out, each with a
    one-line reason (a subfolder holding an :data:`EXPORT_MARKER` is not listed at all) (``"<name>: <why>"``): hidden names (starting with a dot), symbolic
    links whose target is missing, and FIFOs, sockets or devices (reading one could wait
    forever). Any name the OS gives is listed, bytes that are not UTF-8 included.

    Raises FileNotFoundError when ``target`` does not exist.
    """
    target = Path(target)
    if target.is_file():
        return [target], []
    if not target.is_dir():
        raise FileNotFoundError(f"{target}: no such file or folder")
    if recursive:
        found = []
        for folder, dirs, files in os.walk(target):
            if EXPORT_MARKER in files and Path(folder) != target:  # masks exported into the folder
                dirs[:] = []
                continue
            dirs[:] = [d for d in dirs if not d.startswith(".")]
            found += [Path(folder) / f for f in files if is_image_name(f)]
    else:
        found = [p for p in target.iterdir() if is_image_name(p)]
    files, left_out = [], []
    for path in found:
        reason = _left_out_because(path)
        if reason is None:
            files.append(path)
        else:
            left_out.append((path, f"{path.name}: {reason}"))
    order = lambda p: (p.relative_to(target).as_posix().lower(), p.as_posix())  # noqa: E731
    return sorted(files, key=order), sorted(left_out, key=lambda item: order(item[0]))


def _left_out_because(path: Path) -> str | None:
    if path.name.startswith("."):
        return "left out: a hidden file (the name starts with a dot)"
    try:
        info = path.stat()
    except FileNotFoundError:
        try:
            target = os.readlink(path)
        except OSError:
            return "left out: it vanished while the folder was read"
        return f"left out: a symbolic link to {target}, which does not exist"
    except OSError as exc:
        return f"left out: cannot be read ({exc.strerror or exc})"
    if stat.S_ISDIR(info.st_mode):
        return "left out: a folder, not an image"
    if not stat.S_ISREG(info.st_mode):
        kind = "a FIFO" if stat.S_ISFIFO(info.st_mode) else "a socket" if stat.S_ISSOCK(info.st_mode) else "a device"
        return f"left out: {kind}, not a regular file"
    return None


@dataclass(frozen=True)
class DecodedImage:
    """What :func:`read_image_file` read. ``pixels`` is C-contiguous HxWx3 uint8 RGB, EXIF-rotated:
    the whole image, or when a ``max_side`` was asked for, possibly a shrunk copy (``reduced``);
    ``size`` is the whole image's (H, W) either way. ``warnings`` are one line each, without the
    file name: a very large image, or what the decoder reported about damaged data it decoded
    anyway (a truncated JPEG shows grey where its data ends)."""

    pixels: np.ndarray
    size: tuple[int, int]
    warnings: tuple[str, ...] = ()

    @property
    def reduced(self) -> bool:
        return self.pixels.shape[:2] != self.size


def read_image(path: str | os.PathLike, limits: Limits = DEFAULT_LIMITS) -> np.ndarray:
    """The image at ``path`` as a C-contiguous HxWx3 uint8 RGB array, EXIF-rotated.

    Raises :class:`ImageReadError` with a one-line reason, also for an image beyond ``limits``
    (checked on the header, before decoding). :func:`read_image_file` also gives the warnings.
    """
    return read_image_file(path, limits).pixels


def read_image_file(path: str | os.PathLike, limits: Limits = DEFAULT_LIMITS,
                    max_side: int | None = None) -> DecodedImage:
    """Read the image at ``path`` (see :class:`DecodedImage`). With ``max_side``, an image
    bigger than that may come back shrunk, as little as to ``max_side`` on its longest side: a
    JPEG is then decoded at 1/2, 1/4 or 1/8 scale directly (fast, a fraction of the memory).

    Raises :class:`ImageReadError` with a one-line reason.
    """
    path = Path(path)
    try:
        data = np.fromfile(path, dtype=np.uint8)
    except OSError as exc:
        raise ImageReadError(path, f"cannot read the file ({exc.strerror or exc})") from None
    return decode_image_file(data, path, limits, max_side)


def decode_image(data: bytes | np.ndarray, path: str | os.PathLike, limits: Limits = DEFAULT_LIMITS) -> np.ndarray:
    """The encoded image file ``data`` (its bytes) as :func:`read_image` returns it; ``path``
    names the file in errors and its suffix is checked as there."""
    return decode_image_file(data, path, limits).pixels


def decode_image_file(data: bytes | np.ndarray, path: str | os.PathLike, limits: Limits = DEFAULT_LIMITS,
                      max_side: int | None = None) -> DecodedImage:
    """:func:`read_image_file` for a file's bytes already in memory."""
    import cv2  # the only codec dependency of sam_core; see the module docstring

    path = Path(path)
    data = np.frombuffer(data, dtype=np.uint8) if isinstance(data, (bytes, bytearray, memoryview)) else data
    if data.size == 0:
        raise ImageReadError(path, "the file is empty")
    kind = sniff_format(data[:32].tobytes())
    unsupported = UNSUPPORTED_SUFFIXES.get(path.suffix.lower())
    if unsupported is not None and kind not in _CORE_FORMATS:
        raise ImageReadError(path, f"unsupported format ({kind or unsupported}); convert it to PNG or JPEG")
    if kind == "JPEG" and not _has_jpeg_end(data):
        raise ImageReadError(path, "truncated JPEG (the file ends before the image data does)")
    stored = header_size(data)
    warnings = [] if stored is None else _check_size(path, limits, *stored)
    flags, scale = cv2.IMREAD_ANYDEPTH | cv2.IMREAD_ANYCOLOR, 1
    if kind == "JPEG" and stored is not None and max_side:
        scale = next((s for s in (8, 4, 2) if -(-max(stored) // s) >= max_side), 1)
        if scale > 1 and -(-stored[0] // scale) == -(-stored[1] // scale) and stored[0] != stored[1]:
            scale = 1  # a shrunk shape would not tell whether EXIF turned the image
        flags = {8: cv2.IMREAD_REDUCED_COLOR_8, 4: cv2.IMREAD_REDUCED_COLOR_4, 2: cv2.IMREAD_REDUCED_COLOR_2}.get(
            scale, flags)
    with decoder_messages() as said:
        try:
            image = cv2.imdecode(data, flags)
        except cv2.error as exc:
            raise ImageReadError(path, _decoder_failure(exc)) from None
        except MemoryError:
            raise ImageReadError(path, "not enough memory to decode the image") from None
    if image is None:
        if kind in _CORE_FORMATS:
            raise ImageReadError(path, f"not a readable image (corrupt or truncated {kind} data)")
        if kind is not None:
            raise ImageReadError(
                path, f"not a readable image ({kind} is damaged or not supported by this OpenCV build; "
                "convert it to PNG or JPEG)")
        raise ImageReadError(path, "not a readable image (unknown or unsupported format)")
    size = image.shape[:2]
    if scale > 1:
        turned = image.shape[0] != -(-stored[1] // scale)
        size = (stored[0], stored[1]) if turned else (stored[1], stored[0])
    elif stored is None or (size[1], size[0]) not in (stored, stored[::-1]):  # the header told nothing true
        warnings = _check_size(path, limits, size[1], size[0])
    if said:
        warnings.append("the decoder reported damaged data (" + "; ".join(said)[:300]
                        + "): parts of the image may be missing or grey")
    try:
        pixels = _to_rgb(image)
    except ValueError as exc:
        raise ImageReadError(path, str(exc)) from None
    del image
    if max_side and max(pixels.shape[:2]) > max_side:
        factor = max(pixels.shape[:2]) / max_side
        shrunk = (max(1, round(pixels.shape[1] / factor)), max(1, round(pixels.shape[0] / factor)))
        pixels = np.ascontiguousarray(cv2.resize(pixels, shrunk, interpolation=cv2.INTER_AREA))
    return DecodedImage(pixels, (int(size[0]), int(size[1])), tuple(warnings))


def _check_size(path: Path, limits: Limits, width: int, height: int) -> list[str]:
    try:
        warning = limits.check_image_size(width, height)
    except LimitError as exc:
        raise ImageReadError(path, str(exc)) from None
    return [] if warning is None else [warning]


def _to_rgb(image: np.ndarray) -> np.ndarray:
    """OpenCV's BGR(A) or grey decode as RGB, converting 8-bit colour in place so a big image
    is never held twice."""
    import cv2

    if image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3 and image.flags.c_contiguous:
        return cv2.cvtColor(image, cv2.COLOR_BGR2RGB, dst=image)
    if image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 4:
        return np.ascontiguousarray(cv2.cvtColor(image, cv2.COLOR_BGRA2RGB))
    if image.dtype == np.uint8 and image.ndim == 2:
        return np.ascontiguousarray(cv2.cvtColor(image, cv2.COLOR_GRAY2RGB))
    return to_rgb_uint8(image, "BGR" if image.ndim == 3 else "RGB")


_STDERR = threading.Lock()


@contextmanager
def decoder_messages():
    """Collect, as a list of lines, what the codecs print to the process's standard error
    (file descriptor 2) meanwhile: libjpeg says "Corrupt JPEG data: premature end of data
    segment" there and decodes grey for the rest, and OpenCV gives no other sign of it.

    fd 2 belongs to the whole process, so decodes that collect take turns (a lock), and what
    was captured is written on to the real standard error afterwards: nothing another thread
    printed meanwhile is lost, only delayed.
    """
    lines: list[str] = []
    with _STDERR:
        try:
            sys.stderr.flush()
        except (AttributeError, OSError, ValueError):  # no usable sys.stderr (a windowed frozen build)
            pass
        try:
            saved = os.dup(2)
        except OSError:  # no fd 2 at all: nothing to collect
            yield lines
            return
        sink = tempfile.TemporaryFile()
        try:
            os.dup2(sink.fileno(), 2)
            try:
                yield lines
            finally:
                os.dup2(saved, 2)
            sink.seek(0)
            text = sink.read()
        finally:
            os.close(saved)
            sink.close()
    if text:
        try:
            os.write(2, text)
        except OSError:
            pass
        lines.extend(dict.fromkeys(line.strip() for line in text.decode("utf-8", "replace").splitlines()
                                   if line.strip()))


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


def _decoder_failure(exc: Exception) -> str:
    """OpenCV's multi-line C++ error as one line for the user."""
    if "CV_IO_MAX_IMAGE_PIXELS" in str(exc):
        limit = os.environ.get("OPENCV_IO_MAX_IMAGE_PIXELS", "").strip() or str(1 << 30)
        limit = f"{int(limit):,}" if limit.isdigit() else limit
        return f"too many pixels to decode (OpenCV's limit is {limit}; OPENCV_IO_MAX_IMAGE_PIXELS raises it)"
    detail = next((line.strip() for line in str(exc).splitlines() if line.strip()), type(exc).__name__)
    return f"the decoder failed ({detail[-200:]})"


def _has_jpeg_end(data: np.ndarray) -> bool:
    # Some cameras pad after the end-of-image marker; look at the tail only.
    tail = data[-4096:].tobytes().rstrip(b"\x00\r\n ")
    return tail.endswith(b"\xff\xd9")


__all__ = ["EXPORT_MARKER", "IMAGE_SUFFIXES", "UNSUPPORTED_SUFFIXES", "DecodedImage", "ImageReadError", "decode_image",
           "decode_image_file", "decoder_messages", "is_image_name", "list_folder", "list_images", "read_image",
           "read_image_file", "sniff_format"]
