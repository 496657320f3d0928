"""An image's size from its file header, before anything is decoded.

A 1.8 MB PNG can hold 30000 x 20000 pixels; decoding it first and asking later
costs 14 s and 3.8 GB. :func:`header_size` reads the stored width and height of
PNG, JPEG, GIF, BMP, WebP, TIFF and PNM files from their first bytes, so the
reader can refuse or warn (:mod:`sam_core.limits`) before it allocates. Written
here because OpenCV reads headers only as part of decoding and Pillow is not a
dependency of the engine.

Sizes are as stored (EXIF rotation swaps them, the pixel count stays). A format
not listed, or a header too damaged to parse, gives None: the decoder then
applies OpenCV's own limit (2**30 pixels) and the reader checks what it decoded.
"""
from __future__ import annotations

import re
import struct

_PNM = re.compile(rb"\AP[1-7](?:\s|#[^\n]*\n)+(\d+)(?:\s|#[^\n]*\n)+(\d+)")
# JPEG markers that start a frame (SOF0..SOF15 except DHT, JPG and DAC).
_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def header_size(data) -> tuple[int, int] | None:
    """``(width, height)`` as the header of the file ``data`` (bytes, or a uint8 array of the
    whole file) states them, or None when unknown."""
    data = memoryview(data).cast("B")  # indexing gives Python ints, never wrapping uint8
    head = bytes(data[:32])
    try:
        if head.startswith(b"\x89PNG\r\n\x1a\n") and head[12:16] == b"IHDR":
            return struct.unpack(">II", head[16:24])
        if head.startswith(b"\xff\xd8"):
            return _jpeg_size(data)
        if head[:4] in (b"GIF8",):
            return struct.unpack("<HH", head[6:10])
        if head.startswith(b"BM"):
            return _bmp_size(bytes(data[:26]))
        if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
            return _webp_size(bytes(data[:30]))
        if head[:4] in (b"II*\x00", b"MM\x00*"):
            return _tiff_size(data)
        if head[:1] == b"P":
            match = _PNM.match(bytes(data[:1024]))
            return (int(match[1]), int(match[2])) if match else None
    except (struct.error, IndexError, ValueError):
        return None
    return None


def _jpeg_size(data) -> tuple[int, int] | None:
    i, end = 2, len(data)
    while i + 4 <= end:
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker in (0x01, 0xD8) or 0xD0 <= marker <= 0xD7:  # no length follows
            i += 2
            continue
        if marker in (0xD9, 0xDA):  # end of image, or entropy-coded data before any frame
            return None
        length = (data[i + 2] << 8) | data[i + 3]
        if marker in _SOF:
            if i + 9 > end:
                return None
            height = (data[i + 5] << 8) | data[i + 6]
            width = (data[i + 7] << 8) | data[i + 8]
            return width, height
        i += 2 + length
    return None


def _bmp_size(head: bytes) -> tuple[int, int] | None:
    (dib,) = struct.unpack("<I", head[14:18])
    if dib == 12:  # BITMAPCOREHEADER
        return struct.unpack("<HH", head[18:22])
    width, height = struct.unpack("<ii", head[18:26])
    return abs(width), abs(height)  # a negative height means top-down rows


def _webp_size(head: bytes) -> tuple[int, int] | None:
    kind = head[12:16]
    if kind == b"VP8 ":
        width, height = struct.unpack("<HH", head[26:30])
        return width & 0x3FFF, height & 0x3FFF
    if kind == b"VP8L":
        (bits,) = struct.unpack("<I", head[21:25])
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if kind == b"VP8X":
        width = int.from_bytes(head[24:27], "little") + 1
        height = int.from_bytes(head[27:30], "little") + 1
        return width, height
    return None


def _tiff_size(data) -> tuple[int, int] | None:
    order = "<" if bytes(data[:2]) == b"II" else ">"
    (offset,) = struct.unpack(order + "I", bytes(data[4:8]))
    (count,) = struct.unpack(order + "H", bytes(data[offset : offset + 2]))
    found: dict[int, int] = {}
    for n in range(min(count, 4096)):
        entry = bytes(data[offset + 2 + 12 * n : offset + 14 + 12 * n])
        tag, kind = struct.unpack(order + "HH", entry[:4])
        if tag in (256, 257):
            found[tag] = struct.unpack(order + ("H" if kind == 3 else "I"), entry[8:10] if kind == 3 else entry[8:12])[0]
    return (found[256], found[257]) if 256 in found and 257 in found else None


def jpeg_orientation(data) -> int:
    """The EXIF orientation (1-8) a JPEG's APP1 segment states, 1 when it states none or the data
    (the file's first bytes are enough: APP1 comes before the frame) cannot be parsed.
    Orientations 5-8 turn the image a quarter: the shown width is the stored height."""
    data = memoryview(data).cast("B")
    i, end = 2, len(data)
    try:
        while i + 4 <= end and data[i] == 0xFF:
            marker = data[i + 1]
            if marker in (0xD9, 0xDA) or marker in _SOF:  # the frame starts: no APP1 before it
                return 1
            length = (data[i + 2] << 8) | data[i + 3]
            if marker == 0xE1 and bytes(data[i + 4 : i + 10]) == b"Exif\x00\x00":
                return _tiff_orientation(bytes(data[i + 10 : min(end, i + 2 + length)]))
            i += 2 + length
    except (struct.error, IndexError, ValueError):
        return 1
    return 1


def _tiff_orientation(tiff: bytes) -> int:
    """Tag 0x0112 of IFD0 of a TIFF structure (EXIF's), 1 when absent or out of range."""
    order = "<" if tiff[:2] == b"II" else ">"
    (offset,) = struct.unpack(order + "I", tiff[4:8])
    (count,) = struct.unpack(order + "H", tiff[offset : offset + 2])
    for n in range(min(count, 1024)):
        entry = tiff[offset + 2 + 12 * n : offset + 14 + 12 * n]
        tag, kind = struct.unpack(order + "HH", entry[:4])
        if tag == 0x0112 and kind == 3:
            (value,) = struct.unpack(order + "H", entry[8:10])
            return value if 1 <= value <= 8 else 1
    return 1


__all__ = ["header_size", "jpeg_orientation"]
