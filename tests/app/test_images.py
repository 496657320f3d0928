"""Image loading without Qt: odd paths, orientation, bit depths, and broken files."""
from __future__ import annotations

import io

import cv2
import numpy as np
import pytest

from app.services.images import ImageLoadError, downsample, list_images, load_image, scan_image


def test_non_ascii_path_and_rgb_order(tmp_path):
    rgb = np.zeros((10, 20, 3), np.uint8)
    rgb[..., 0] = 200  # red
    path = tmp_path / "снимок 画像.png"
    ok, data = cv2.imencode(".png", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    data.tofile(path)
    image = load_image(path)
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
    assert load_image(path).shape == (40, 20, 3)


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
    image = load_image(path)
    assert image.shape == (8, 8, 3) and image.dtype == np.uint8
    assert int(image[0, 0, 0]) == expected


def test_broken_files_give_one_line_reasons(tmp_path):
    good = cv2.imencode(".jpg", np.zeros((32, 32, 3), np.uint8))[1].tobytes()
    (tmp_path / "empty.png").write_bytes(b"")
    (tmp_path / "cut.jpg").write_bytes(good[: len(good) // 2])
    (tmp_path / "junk.png").write_bytes(b"this is not an image at all")
    reasons = {}
    for name in ("empty.png", "cut.jpg", "junk.png"):
        with pytest.raises(ImageLoadError) as info:
            load_image(tmp_path / name)
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
