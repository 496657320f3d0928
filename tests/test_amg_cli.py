"""``python -m sam_core.amg``: SA-1B JSON output, image decoding, and one-line failures."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from sam_core.amg import main
from sam_core.image_files import read_image
from sam_core.testing import synthetic_photo
from sam_core.utils.rle import rle_to_mask

# One prompt per image and no quality filter: every image yields a mask, quickly.
FAST = ["--points-per-side", "1", "--pred-iou-thresh", "0", "--stability-score-thresh", "0"]


def write(path: Path, image: np.ndarray) -> Path:
    """Encode with OpenCV (``image`` in OpenCV's channel order) to any, even non-ASCII, path."""
    ok, data = cv2.imencode(path.suffix, image)
    assert ok
    data.tofile(str(path))
    return path


@pytest.fixture
def photo_rgb() -> np.ndarray:
    return synthetic_photo(90, 120, seed=3)


def test_folder_to_sa1b_json(tmp_path, tiny_checkpoint, photo_rgb, capsys) -> None:
    folder = tmp_path / "images"
    folder.mkdir()
    write(folder / "b.png", photo_rgb[..., ::-1])
    write(folder / "a é.jpg", photo_rgb[..., ::-1])
    (folder / "notes.txt").write_text("not an image")
    out = tmp_path / "out"
    rc = main([str(folder), "--checkpoint", str(tiny_checkpoint), "--out", str(out), "--device", "cpu", *FAST])
    assert rc == 0
    assert sorted(p.name for p in out.iterdir()) == ["a é.json", "b.json"]
    ids = []
    for image_id, name in enumerate(["a é.jpg", "b.png"], start=1):
        doc = json.loads((out / (Path(name).stem + ".json")).read_text(encoding="utf-8"))
        assert doc["image"] == {"image_id": image_id, "width": 120, "height": 90, "file_name": name}
        assert doc["annotations"]
        for ann in doc["annotations"]:
            assert set(ann) == {"id", "segmentation", "bbox", "area", "predicted_iou", "point_coords",
                                "crop_box", "stability_score"}  # fmt: skip
            assert ann["segmentation"]["size"] == [90, 120] and isinstance(ann["segmentation"]["counts"], str)
            assert rle_to_mask(ann["segmentation"]).sum() == ann["area"]
            assert ann["crop_box"] == [0, 0, 120, 90]
            ids.append(ann["id"])
    assert ids == list(range(1, len(ids) + 1))  # unique over the whole run
    err = capsys.readouterr().err
    assert "1/1 batches" in err and "Traceback" not in err


@pytest.mark.parametrize(
    "name,encoded",
    [
        ("grey8.png", lambda rgb: cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)),
        ("grey16.png", lambda rgb: cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.uint16) * 257),
        ("rgba.png", lambda rgb: cv2.cvtColor(rgb, cv2.COLOR_RGB2BGRA)),
        ("rgb16.tif", lambda rgb: rgb[..., ::-1].astype(np.uint16) * 257),
    ],
)
def test_read_image_converts_to_rgb_uint8(tmp_path, photo_rgb, name, encoded) -> None:
    path = write(tmp_path / f"ü_{name}", encoded(photo_rgb))
    image = read_image(path)
    assert image.dtype == np.uint8 and image.shape == (90, 120, 3) and image.flags.c_contiguous
    if name.startswith("grey"):
        expected = np.repeat(cv2.cvtColor(photo_rgb, cv2.COLOR_RGB2GRAY)[..., None], 3, axis=2)
    else:
        expected = photo_rgb  # channel order restored to RGB, alpha dropped, 16 bits scaled back
    np.testing.assert_array_equal(image, expected)


def test_bad_image_fails_one_line_and_others_still_written(tmp_path, tiny_checkpoint, photo_rgb, capsys) -> None:
    folder = tmp_path / "images"
    folder.mkdir()
    (folder / "broken.jpg").write_bytes(b"\xff\xd8 definitely not a jpeg")
    write(folder / "good.png", photo_rgb[..., ::-1])
    out = tmp_path / "out"
    rc = main([str(folder), "--checkpoint", str(tiny_checkpoint), "--out", str(out), *FAST])
    assert rc == 1
    assert (out / "good.json").exists() and not (out / "broken.json").exists()
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
    assert errors == [f"error: {folder / 'broken.jpg'}: not a readable image (unknown or unsupported format)"]


def test_bad_checkpoint_and_missing_input_exit_2(tmp_path, tiny_checkpoint, photo_rgb, capsys) -> None:
    image = write(tmp_path / "x.png", photo_rgb[..., ::-1])
    bogus = tmp_path / "model.pth"
    bogus.write_bytes(b"garbage")
    assert main([str(image), "--checkpoint", str(bogus), "--out", str(tmp_path / "o")]) == 2
    missing = tmp_path / "missing"
    assert main([str(missing), "--checkpoint", str(tiny_checkpoint), "--out", str(tmp_path / "o")]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 2 and all(line.startswith("error: ") for line in lines)
    assert "model.pth" in lines[0] and "missing" in lines[1]


def test_module_entry_point_reports_without_traceback(tmp_path) -> None:
    bogus = tmp_path / "model.pth"
    bogus.write_bytes(b"garbage")
    image = tmp_path / "x.png"
    image.write_bytes(b"")
    proc = subprocess.run(
        [sys.executable, "-m", "sam_core.amg", str(image), "--checkpoint", str(bogus), "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[1],
    )
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("error: ") and "Traceback" not in proc.stderr
