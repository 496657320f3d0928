"""The one image reader under hostile files: sizes from the header before decoding (a
decompression bomb costs nothing), the limits stated once, one full-size copy, decoder warnings
for damaged data it still decodes, shrunk decodes, and folders whose odd entries are named."""
from __future__ import annotations

import io
import os
import struct
import tracemalloc
import zlib

import cv2
import numpy as np
import pytest
from PIL import Image

from sam_core.image_files import ImageReadError, list_folder, read_image, read_image_file
from sam_core.image_header import header_size
from sam_core.limits import DEFAULT_LIMITS, PIXEL_CEILING, LimitError, Limits, json_depth


def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims ``width`` x ``height`` RGB pixels, with one row of data: what a
    1.8 MB file of 30000 x 20000 black pixels looks like to a reader that checks the header."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(bytes(1 + 3 * width)))
            + chunk(b"IEND", b""))


def test_the_header_gives_the_size_of_every_core_format(tmp_path):
    image = np.zeros((37, 53, 3), np.uint8)
    for suffix in (".png", ".jpg", ".bmp", ".tif", ".webp", ".ppm"):
        assert header_size(cv2.imencode(suffix, image)[1]) == (53, 37), suffix
    assert header_size(cv2.imencode(".pgm", image[:, :, 0])[1]) == (53, 37)
    for kind, options in (("GIF", {}), ("WEBP", {"lossless": True}), ("WEBP", {}), ("TIFF", {})):
        buffer = io.BytesIO()
        Image.fromarray(image).save(buffer, kind, **options)
        assert header_size(buffer.getvalue()) == (53, 37), kind
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, "JPEG", progressive=True, exif=_exif_rotated())
    assert header_size(buffer.getvalue()) == (53, 37)  # as stored, behind a big EXIF block
    assert header_size(b"") is None and header_size(b"\xff\xd8\xff") is None and header_size(b"garbage" * 9) is None


def _exif_rotated() -> bytes:
    exif = Image.Exif()
    exif[0x0112] = 6  # shown turned a quarter
    exif[0x010E] = "x" * 20_000  # a long description: the frame header comes late
    return exif.tobytes()


def test_a_decompression_bomb_is_refused_from_its_header_without_decoding(tmp_path):
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(png_header_only(30000, 20000))
    assert bomb.stat().st_size < 200_000
    tracemalloc.start()
    try:
        with pytest.raises(ImageReadError) as failure:
            read_image(bomb)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert str(failure.value) == ("bomb.png: 30000 x 20000 = 600 MP is more than the 500 MP limit "
                                  "(max_image_megapixels in the settings raises it)")
    assert peak < 20e6  # not the 1.8 GB the pixels would take
    tall = tmp_path / "tall.png"
    tall.write_bytes(png_header_only(3, 2**21))
    with pytest.raises(ImageReadError, match="tall.png: 3 x 2097152 pixels: a side longer than 1,048,576"):
        read_image_file(tall)


def test_the_limits_are_stated_once_and_the_user_may_raise_the_pixel_limit():
    assert (DEFAULT_LIMITS.warn_pixels, DEFAULT_LIMITS.max_pixels) == (100_000_000, 500_000_000)
    assert DEFAULT_LIMITS.check_image_size(4000, 3000) is None
    assert "is a very large image" in DEFAULT_LIMITS.check_image_size(12000, 10000)
    with pytest.raises(LimitError, match="600 MP is more than the 500 MP limit"):
        DEFAULT_LIMITS.check_image_size(30000, 20000)
    raised = Limits.with_max_megapixels(800)
    assert raised.max_pixels == 800_000_000 and "very large" in raised.check_image_size(30000, 20000)
    assert Limits.with_max_megapixels(10**9).max_pixels == PIXEL_CEILING  # what COCO RLE can describe
    assert Limits.with_max_megapixels(50).warn_pixels == 50_000_000
    with pytest.raises(ValueError):
        Limits(max_pixels=2**33)


def test_a_large_image_loads_with_a_warning_and_one_full_size_copy(tmp_path):
    rng = np.random.default_rng(0)
    rgb = cv2.resize(rng.integers(0, 255, (40, 60, 3), dtype=np.uint8), (3000, 2000))
    path = tmp_path / "large.png"
    cv2.imencode(".png", rgb[:, :, ::-1])[1].tofile(path)
    tracemalloc.start()
    try:
        decoded = read_image_file(path, Limits(warn_pixels=1_000_000))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert np.array_equal(decoded.pixels, rgb) and decoded.size == (2000, 3000)
    (warning,) = decoded.warnings
    assert warning.startswith("3000 x 2000 = 6.0 MP is a very large image")
    assert peak < rgb.nbytes * 1.2 + path.stat().st_size  # the file's bytes and one image, never two


def test_a_truncated_jpeg_that_still_ends_in_ffd9_loads_with_a_warning(tmp_path, photo):
    data = cv2.imencode(".jpg", photo(300, 400, seed=1)[:, :, ::-1])[1].tobytes()
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(data[: len(data) * 4 // 10] + b"\xff\xd9")
    decoded = read_image_file(cut)
    assert decoded.size == (300, 400)
    (warning,) = decoded.warnings
    assert "Corrupt JPEG data: premature end of data segment" in warning and "grey" in warning
    (tmp_path / "whole.jpg").write_bytes(data)
    assert read_image_file(tmp_path / "whole.jpg").warnings == ()


def test_a_jpeg_is_decoded_shrunk_for_a_thumbnail_and_keeps_its_true_size(tmp_path, photo):
    buffer = io.BytesIO()
    Image.fromarray(photo(1200, 1600, seed=2)).save(buffer, "JPEG", exif=_exif_rotated())
    path = tmp_path / "turned.jpg"
    path.write_bytes(buffer.getvalue())
    full = read_image_file(path)
    small = read_image_file(path, max_side=150)
    assert full.size == small.size == (1600, 1200)  # EXIF turned it upright
    assert small.reduced and max(small.pixels.shape[:2]) == 150 and small.pixels.shape[0] > small.pixels.shape[1]


def test_json_depth_is_measured_without_parsing():
    assert json_depth(b"5") == 0 and json_depth(b"[]") == 1 and json_depth(b'{"a": [[1], {"b": []}]}') == 4
    assert json_depth(b'["[[[", "\\"[[", "\\\\", [1]]') == 2  # brackets inside strings do not count
    assert json_depth(b"[" * 100_000 + b"]" * 100_000) == 100_000


@pytest.mark.skipif(os.name != "posix", reason="FIFOs and symbolic links as Linux and macOS have them")
def test_the_listing_says_why_it_leaves_a_file_out(tmp_path):
    folder = tmp_path / "folder"
    folder.mkdir()
    for name in ("a.png", ".hidden.png", "notes.txt"):
        (folder / name).write_bytes(b"x")
    (folder / "gone.png").symlink_to(tmp_path / "nowhere.png")
    os.mkfifo(folder / "pipe.jpg")
    (folder / "album.png").mkdir()
    odd = os.fsdecode(b"odd \xff.png")
    (folder / odd).write_bytes(b"x")
    images, left_out = list_folder(folder)
    assert [p.name for p in images] == ["a.png", odd]
    reasons = dict((p.name, reason) for p, reason in left_out)
    assert reasons == {
        ".hidden.png": ".hidden.png: left out: a hidden file (the name starts with a dot)",
        "album.png": "album.png: left out: a folder, not an image",
        "gone.png": f"gone.png: left out: a symbolic link to {tmp_path / 'nowhere.png'}, which does not exist",
        "pipe.jpg": "pipe.jpg: left out: a FIFO, not a regular file",
    }
