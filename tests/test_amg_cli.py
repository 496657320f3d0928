"""``python -m sam_core.amg``: SA-1B JSON output, image decoding, and one-line failures."""
from __future__ import annotations

import io
import json
import struct
import subprocess
import zlib
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from sam_core.amg import ProgressBar, main
from sam_core.image_files import read_image
from sam_core.sa1b_files import image_ids
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
    for image_id, name in zip(image_ids(["a é.jpg", "b.png"]), ["a é.jpg", "b.png"]):
        doc = json.loads((out / (Path(name).stem + ".json")).read_text(encoding="utf-8"))
        assert list(doc) == ["maskwright", "image", "annotations"]
        assert doc["image"] == {"image_id": image_id, "width": 120, "height": 90, "file_name": name}
        assert doc["maskwright"]["generator"]["masks"] == len(doc["annotations"]) > 0
        for n, ann in enumerate(doc["annotations"], start=1):
            assert set(ann) == {"id", "segmentation", "bbox", "area", "predicted_iou", "point_coords",
                                "crop_box", "stability_score"}  # fmt: skip
            assert ann["segmentation"]["size"] == [90, 120] and isinstance(ann["segmentation"]["counts"], str)
            assert rle_to_mask(ann["segmentation"]).sum() == ann["area"]
            assert ann["crop_box"] == [0, 0, 120, 90]
            assert ann["id"] == image_id * 1_000_000 + n
            ids.append(ann["id"])
    assert len(set(ids)) == len(ids)  # unique over the folder
    err = capsys.readouterr().err
    # Not a terminal: one line per image, no bar redrawn with carriage returns.
    assert "\r" not in err and "Traceback" not in err
    assert [line.split(":")[0] for line in err.splitlines()] == ["[1/2] a é.jpg", "[2/2] b.png"]


def test_subfolders_keep_their_relative_names_and_a_rerun_skips(tmp_path, tiny_checkpoint, photo_rgb, capsys) -> None:
    folder = tmp_path / "images"
    (folder / "day 1" / "cam").mkdir(parents=True)
    (folder / ".hidden").mkdir()
    write(folder / "top.png", photo_rgb[..., ::-1])
    write(folder / "day 1" / "cam" / "x.png", photo_rgb[..., ::-1])
    write(folder / "day 1" / "cam" / "x.jpg", photo_rgb[..., ::-1])  # same stem: named x.jpg.json
    write(folder / ".hidden" / "skip.png", photo_rgb[..., ::-1])
    out = tmp_path / "out"
    args = [str(folder), "--checkpoint", str(tiny_checkpoint), "--out", str(out), *FAST]
    assert main(args) == 0
    written = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert written == ["day 1/cam/x.jpg.json", "day 1/cam/x.png.json", "top.json"]
    doc = json.loads((out / "day 1/cam/x.png.json").read_text(encoding="utf-8"))
    assert doc["image"]["file_name"] == "day 1/cam/x.png"
    stamps = {p: p.stat().st_mtime_ns for p in out.rglob("*.json")}
    capsys.readouterr()

    assert main(args) == 0  # the same checkpoint and settings: nothing to do
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*.json")} == stamps
    assert capsys.readouterr().err.count("skipped") == 3
    assert main([*args, "--points-per-side", "2"]) == 0  # other settings: done again
    assert all(p.stat().st_mtime_ns != stamps[p] for p in stamps)


def test_list_file_names_entries_below_its_folder(tmp_path, tiny_checkpoint, photo_rgb) -> None:
    (tmp_path / "set" / "a").mkdir(parents=True)
    write(tmp_path / "set" / "a" / "one.png", photo_rgb[..., ::-1])
    write(tmp_path / "set" / "two.png", photo_rgb[..., ::-1])
    listing = tmp_path / "set" / "todo.txt"
    listing.write_text(f"# images to label\na/one.png\n\n{tmp_path / 'set' / 'two.png'}\na/one.png\n")
    out = tmp_path / "out"
    assert main([str(listing), "--checkpoint", str(tiny_checkpoint), "--out", str(out), *FAST]) == 0
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*.json")) == ["a/one.json", "two.json"]


def test_progress_bar_redraws_only_on_a_terminal() -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    for stream, redraws in ((Terminal(), True), (io.StringIO(), False)):
        bar = ProgressBar("[1/1] a.png:", stream)
        for done in range(5):
            bar(done, 4)
        bar.finish("3 masks -> out/a.json")
        text = stream.getvalue()
        assert text.split("\r")[-1].rstrip() == "[1/1] a.png: 3 masks -> out/a.json"
        assert text.count("\n") == 1
        assert ("\r" in text and "4/4 batches" in text) == redraws
        assert ("batches" in text) == redraws


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


def png_claiming(width: int, height: int) -> bytes:
    """A 60-byte PNG whose header claims ``width`` x ``height`` pixels (a decompression bomb's shape)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 16)) + chunk(b"IEND", b"")


def test_bad_images_fail_one_line_each_and_others_still_written(tmp_path, tiny_checkpoint, photo_rgb, capsys) -> None:
    folder = tmp_path / "images"
    folder.mkdir()
    (folder / "broken.jpg").write_bytes(b"\xff\xd8 definitely not a jpeg")
    (folder / "huge.png").write_bytes(png_claiming(40_000, 40_000))  # over the 500 MP limit (and OpenCV's 2**30)
    write(folder / "good.png", photo_rgb[..., ::-1])
    out = tmp_path / "out"
    rc = main([str(folder), "--checkpoint", str(tiny_checkpoint), "--out", str(out), *FAST])
    assert rc == 1
    assert sorted(p.name for p in out.iterdir()) == ["good.json"]
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert errors == [
        f"error: {folder / 'broken.jpg'}: not a readable image (unknown or unsupported format)",
        f"error: {folder / 'huge.png'}: 40000 x 40000 = 1,600 MP is more than the 500 MP limit "
        "(max_image_megapixels in the settings raises it)",
    ]
    assert "Traceback" not in err


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
