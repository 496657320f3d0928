"""Image loading without Qt: odd paths, orientation, bit depths, and broken files."""
from __future__ import annotations

import io

import cv2
import numpy as np
import pytest

from app.services.images import downsample, scan_image
from sam_core.image_files import ImageReadError, list_images, read_image


def test_non_ascii_path_and_rgb_order(tmp_path):
    rgb = np.zeros((10, 20, 3), np.uint8)
    rgb[..., 0] = 200  # red
    path = tmp_path / "снимок 画像.png"
    ok, data = cv2.imencode(".png", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    data.tofile(path)
    image = read_image(path)
    assert image.shape == (10, 20, 3) and image.dtype == np.uint8 and image.flags.c_contiguous
    assert image[0, 0].tolist() == [200, 0, 0]


def test_exif_orientation_is_applied(tmp_path):
    from PIL import Image

    rgb = np.zeros((20, 40, 3), np.uint8)
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, "JPEG", exif=exif.tobytes())
    path = tmp_path / "rotated.jpg"
    path.write_bytes(buffer.getvalue())
    assert read_image(path).shape == (40, 20, 3)


@pytest.mark.parametrize(
    "array, expected",
    [
        (np.full((8, 8), 65535, np.uint16), 255),  # 16-bit grey
        (np.full((8, 8), 77, np.uint8), 77),  # 8-bit grey
        (np.dstack([np.full((8, 8, 3), 90, np.uint8), np.zeros((8, 8), np.uint8)]), 90),  # BGRA
    ],
)
def test_grey_16bit_and_alpha_become_rgb_uint8(tmp_path, array, expected):
    path = tmp_path / "odd.png"
    cv2.imencode(".png", array)[1].tofile(path)
    image = read_image(path)
    assert image.shape == (8, 8, 3) and image.dtype == np.uint8
    assert int(image[0, 0, 0]) == expected


def test_broken_files_give_one_line_reasons(tmp_path):
    good = cv2.imencode(".jpg", np.zeros((32, 32, 3), np.uint8))[1].tobytes()
    (tmp_path / "empty.png").write_bytes(b"")
    (tmp_path / "cut.jpg").write_bytes(good[: len(good) // 2])
    (tmp_path / "junk.png").write_bytes(b"this is not an image at all")
    reasons = {}
    for name in ("empty.png", "cut.jpg", "junk.png"):
        with pytest.raises(ImageReadError) as info:
            read_image(tmp_path / name)
        reasons[name] = str(info.value)
    assert all("\n" not in r and r.startswith(n) for n, r in reasons.items())
    assert "empty" in reasons["empty.png"]
    assert "truncated" in reasons["cut.jpg"]
    assert "not a readable image" in reasons["junk.png"]


def test_listing_scanning_and_downsampling(tmp_path):
    for name in ("b.PNG", "a.jpg", "notes.txt"):
        (tmp_path / name).write_bytes(b"")
    assert [p.name for p in list_images(tmp_path)] == ["a.jpg", "b.PNG"]
    path = tmp_path / "big.png"
    cv2.imencode(".png", np.zeros((300, 500, 3), np.uint8))[1].tofile(path)
    scanned = scan_image(path, max_side=50)
    assert (scanned.width, scanned.height) == (500, 300) and scanned.thumbnail.shape == (30, 50, 3)
    small, factor = downsample(np.zeros((300, 500, 3), np.uint8), 100)
    assert small.shape == (60, 100, 3) and factor == 5.0


def test_unsupported_formats_are_listed_and_named_not_ignored(tmp_path):
    (tmp_path / "phone.heic").write_bytes(b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 64)
    (tmp_path / "raw.dng").write_bytes(b"II*\x00" + b"\x00" * 64)  # a TIFF container, but no image OpenCV reads
    (tmp_path / "scan.jxl").write_bytes(b"\xff\x0a" + b"\x00" * 64)
    (tmp_path / "notes.txt").write_text("not an image")
    (tmp_path / ".hidden.png").write_bytes(b"")
    assert [p.name for p in list_images(tmp_path)] == ["phone.heic", "raw.dng", "scan.jxl"]
    reasons = {}
    for path in list_images(tmp_path):
        with pytest.raises(ImageReadError) as info:
            read_image(path)
        reasons[path.name] = str(info.value)
    assert reasons["phone.heic"] == "phone.heic: unsupported format (HEIC); convert it to PNG or JPEG"
    assert reasons["scan.jxl"].startswith("scan.jxl: unsupported format (JPEG XL)")
    assert reasons["raw.dng"].startswith("raw.dng: not a readable image (corrupt or truncated TIFF")


def test_truncated_files_of_every_common_format_are_caught(tmp_path):
    rgb = (np.random.default_rng(0).random((60, 80, 3)) * 255).astype(np.uint8)
    for suffix in (".png", ".jpg", ".webp", ".tif", ".bmp"):
        data = cv2.imencode(suffix, rgb)[1].tobytes()
        path = tmp_path / f"cut{suffix}"
        path.write_bytes(data[: len(data) * 2 // 3])
        with pytest.raises(ImageReadError) as info:
            read_image(path)
        assert str(info.value).startswith(path.name) and "\n" not in str(info.value)
        assert "truncated" in str(info.value) or "not a readable image" in str(info.value)


def test_a_png_with_a_jpeg_inside_still_loads(tmp_path):
    path = tmp_path / "misnamed.png"
    path.write_bytes(cv2.imencode(".jpg", np.full((10, 12, 3), 200, np.uint8))[1].tobytes())
    assert read_image(path).shape == (10, 12, 3)


@pytest.mark.parametrize("orientation, shape", [(1, (20, 40)), (3, (20, 40)), (6, (40, 20)), (8, (40, 20))])
def test_exif_orientations_match_what_viewers_show(tmp_path, orientation, shape):
    from PIL import Image, ImageOps

    rgb = np.zeros((20, 40, 3), np.uint8)
    rgb[:5, :10] = 255  # a white corner shows which way the image was turned
    exif = Image.Exif()
    exif[0x0112] = orientation
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, "PNG", exif=exif.tobytes())
    path = tmp_path / f"o{orientation}.png"
    path.write_bytes(buffer.getvalue())
    image = read_image(path)
    expected = np.asarray(ImageOps.exif_transpose(Image.open(io.BytesIO(buffer.getvalue()))).convert("RGB"))
    assert image.shape[:2] == shape and np.array_equal(image, expected)


def test_sixteen_bit_colour_and_grey_with_alpha(tmp_path):
    from PIL import Image

    rgb16 = np.zeros((6, 7, 3), np.uint16)
    rgb16[..., 2] = 65535  # channel 2 of what OpenCV writes (BGR) is red
    cv2.imencode(".png", rgb16)[1].tofile(tmp_path / "deep.png")
    assert read_image(tmp_path / "deep.png")[0, 0].tolist() == [255, 0, 0]
    Image.fromarray(np.full((5, 5), 120, np.uint8)).convert("LA").save(tmp_path / "grey_alpha.png")
    assert read_image(tmp_path / "grey_alpha.png")[0, 0].tolist() == [120, 120, 120]


@pytest.mark.parametrize("orientation", range(1, 9))
def test_the_listing_reads_a_jpegs_shown_size_from_its_header(tmp_path, orientation):
    from PIL import Image

    from app.services.images import peek_image

    exif = Image.Exif()
    exif[0x0112] = orientation
    buffer = io.BytesIO()
    Image.fromarray(np.zeros((20, 40, 3), np.uint8)).save(buffer, "JPEG", exif=exif.tobytes())
    path = tmp_path / f"o{orientation}.jpg"
    path.write_bytes(buffer.getvalue())
    peeked = peek_image(path)
    assert peeked.thumbnail is None and (peeked.height, peeked.width) == read_image(path).shape[:2]
    assert peeked.file_size == path.stat().st_size


def test_the_listing_leaves_what_looks_wrong_to_the_decoder_and_refuses_what_is_too_big(tmp_path):
    from app.services.images import peek_image
    from sam_core.limits import Limits

    rgb = (np.random.default_rng(0).random((60, 80, 3)) * 255).astype(np.uint8)
    files = {"whole.png": cv2.imencode(".png", rgb)[1].tobytes(), "whole.bmp": cv2.imencode(".bmp", rgb)[1].tobytes()}
    for suffix in (".png", ".jpg"):
        data = cv2.imencode(suffix, rgb)[1].tobytes()
        files[f"cut{suffix}"] = data[: len(data) * 2 // 3]  # no end marker: the decoder says what is wrong
    files.update({"empty.png": b"", "junk.png": b"not an image", "phone.heic": b"\x00\x00\x00\x18ftypheic" + bytes(64)})
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    found = {name: peek_image(tmp_path / name) for name in files}
    assert (found["whole.png"].width, found["whole.png"].height) == (80, 60) and found["whole.bmp"].width == 80
    assert all(found[name] is None for name in files if not name.startswith("whole"))
    with pytest.raises(ImageReadError) as info:
        peek_image(tmp_path / "whole.png", Limits(max_pixels=1000, warn_pixels=500))
    assert str(info.value).startswith("whole.png: 80 x 60") and "\n" not in str(info.value)
    warned = peek_image(tmp_path / "whole.png", Limits(max_pixels=10000, warn_pixels=1000))
    assert len(warned.warnings) == 1 and "very large" in warned.warnings[0]
