"""Crafted COCO and SA-1B files of a few hundred bytes: each gets one FormatError naming the file
and the field, never a MemoryError, RecursionError, OverflowError or a bare ValueError, and a
name outside the project is read inside it with a note."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from app.model import Annotation, Category, Dataset, ImageRecord, Mask
from app.model.io.coco import read_coco, write_coco
from app.model.io.fields import FormatError
from app.model.io.sa1b import read_sa1b
from sam_core.limits import Limits


def _coco(image=None, segmentation=None, **annotation) -> dict:
    image = {"id": 1, "file_name": "a.jpg", "width": 20, "height": 10, **(image or {})}
    item = {"id": 1, "image_id": 1, "category_id": 1,
            "segmentation": segmentation if segmentation is not None else {"size": [10, 20], "counts": [200]},
            **annotation}
    return {"images": [image], "categories": [{"id": 1, "name": "thing"}], "annotations": [item]}


def _sa1b(image=None, segmentation=None, **annotation) -> dict:
    image = {"image_id": 1, "file_name": "a.jpg", "width": 20, "height": 10, **(image or {})}
    item = {"id": 1, "segmentation": segmentation or {"size": [10, 20], "counts": [200]}, **annotation}
    return {"image": image, "annotations": [item]}


BIG = 10**6
ZIGZAG = [v for i in range(3000) for v in ((0.0, 0.0) if i % 2 else (19999.0, 9999.0))]
# name: (document maker, what the one line says: the field and the problem)
CASES = {
    "width_10e30": (lambda make: make({"width": 10**30}), "width: must be at most 1,048,576"),
    "huge_image": (lambda make: make({"width": BIG, "height": BIG}, {"size": [BIG, BIG], "counts": "0"}),
                   "1000000 x 1000000 = 1,000,000 MP is more than the 500 MP limit"),
    "run_2_40": (lambda make: make(None, {"size": [10, 20], "counts": [2**40]}),
                 "segmentation.counts: runs must be in 0..4,294,967,295"),
    "run_10e30": (lambda make: make(None, {"size": [10, 20], "counts": [10**30]}), "segmentation.counts: runs must be"),
    "compressed_overlarge": (lambda make: make(None, {"size": [10, 20], "counts": "ooooooooooooo0"}),
                             "segmentation.counts: invalid compressed RLE"),
    "size_mismatch": (lambda make: make(None, {"size": [BIG, BIG], "counts": "0"}), "segmentation.size: is [1000000,"),
    "id_inf": (lambda make: make(None, None, id=float("inf")), "id: must be an integer"),
    "point_1e300": (lambda make: make(None, None, point_coords=[[1e300, 1.0]]), "point_coords[0][0]: must be at most"),
}
COCO_ONLY = {
    "polygon_1e300": (lambda make: make(None, [[1e300, 0, 5, 5, 0, 5]]), "segmentation[0][0]: must be at most"),
    "polygon_far_outside": (lambda make: make(None, [[-500, 0, 5, 5, 0, 5]]), "segmentation[0]: has a vertex more"),
    "polygon_two_points": (lambda make: make(None, [[1, 1, 5, 5]]), "segmentation[0]: must have at least 3 points"),
    "polygon_outline_bomb": (lambda make: make({"width": 20000, "height": 10000}, [ZIGZAG]),
                             "segmentation[0]: has an outline of"),
}


def _write(tmp_path, name: str, document: dict) -> str:
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(document, allow_nan=False) if "inf" not in name else
                    json.dumps(document).replace("Infinity", "1e999"))
    return str(path)


@pytest.mark.parametrize("case", sorted({**CASES, **COCO_ONLY}))
def test_crafted_coco_files_get_one_line_naming_the_file_and_the_field(tmp_path, case):
    make, said = {**CASES, **COCO_ONLY}[case]
    if case == "point_1e300":  # COCO keeps points in our extra object
        document = _coco()
        document["annotations"][0]["maskwright"] = {"points": [[1e300, 1.0]], "point_labels": [1]}
        said = "maskwright.points[0][0]: must be at most"
    else:
        document = make(_coco)
    path = _write(tmp_path, case, document)
    assert len(Path(path).read_bytes()) < 50_000  # a few hundred bytes (the zigzag: a few kB)
    with pytest.raises(FormatError) as failure:
        read_coco(path)
    text = str(failure.value)
    assert text.startswith(f"{path}: ") and said in text and "\n" not in text, text


@pytest.mark.parametrize("case", sorted(CASES))
def test_crafted_sa1b_files_get_one_line_naming_the_file_and_the_field(tmp_path, case):
    make, said = CASES[case]
    path = _write(tmp_path, case, make(_sa1b))
    with pytest.raises(FormatError) as failure:
        read_sa1b(path)
    text = str(failure.value)
    assert text.startswith(f"{path}: ") and said in text and "\n" not in text, text


def test_deep_nesting_and_big_files_are_refused_before_parsing(tmp_path):
    deep = tmp_path / "deep.json"
    deep.write_bytes(b'{"images": ' + b"[" * 100_000 + b"]" * 100_000 + b"}")
    with pytest.raises(FormatError, match="nested 100,001 levels deep, more than the limit of 64"):
        read_coco(deep)
    with pytest.raises(FormatError, match="nested 100,001 levels deep"):
        read_sa1b(deep)
    big = tmp_path / "big.json"
    big.write_text(json.dumps(_coco()) + " " * 2000)
    with pytest.raises(FormatError, match=r"the file is 2\.\d KiB, more than the 1\.0 KiB limit"):
        read_coco(big, Limits(max_json_bytes=1024))


def test_masks_beyond_the_memory_budget_are_refused_before_they_are_allocated(tmp_path):
    document = _coco({"width": 2000, "height": 2000})
    document["annotations"] = [dict(document["annotations"][0], id=i, segmentation={"size": [2000, 2000],
                                                                                   "counts": [0, 4_000_000]})
                               for i in range(1, 101)]
    path = _write(tmp_path, "budget", document)
    with pytest.raises(FormatError, match=r"annotations\[10\]\.segmentation: too big: its masks would need more"):
        read_coco(path, Limits(max_mask_pixels=10 * 4_000_000))


def test_names_outside_the_project_are_read_as_their_last_part_with_a_note(tmp_path):
    document = _coco({"file_name": "/data/coco/../train/a.jpg"})
    path = _write(tmp_path, "absolute", document)
    notes: list[str] = []
    dataset = read_coco(path, notes=notes)
    assert [i.file_name for i in dataset.images.values()] == ["a.jpg"]
    (note,) = notes
    assert note.startswith(f"{path}: images[0].file_name: '/data/coco/../train/a.jpg' is outside the project")
    sa1b = _write(tmp_path, "up", _sa1b({"file_name": "../../b.jpg"}))
    notes = []
    assert [i.file_name for i in read_sa1b(sa1b, notes=notes).images.values()] == ["b.jpg"] and len(notes) == 1
    with pytest.raises(FormatError, match="images\\[0\\].file_name: '/' is not a file inside the project"):
        read_coco(_write(tmp_path, "root", _coco({"file_name": "/"})))


def test_polygons_that_are_not_their_mask_are_traced_again_on_export(tmp_path):
    """A sidecar edited by hand can pair a mask with polygons that do not describe it; the export
    measures their IoU instead of assuming 1.0, and what it writes our own import reads."""
    dataset = Dataset()
    image = dataset.add_image(ImageRecord(1, "a.jpg", 20, 10))
    full = np.zeros((10, 20), dtype=bool)
    full[2:8, 3:15] = True
    dataset.add_category(Category(1, "thing", (1, 2, 3)))
    wrong = (0.0, 0.0, 5.0, 0.0, 5.0, 5.0)  # a triangle elsewhere
    dataset.add_annotation(Annotation(1, image.id, 1, Mask.from_full(full), polygons=(wrong,)))
    report = write_coco(dataset, tmp_path / "out.json", segmentation="polygons")
    assert report.polygon_iou[1] == 1.0  # a rectangle traces exactly...
    written = json.loads((tmp_path / "out.json").read_text())["annotations"][0]["segmentation"]
    assert written != [list(wrong)]  # ...and the traced outline, not the stale one, is written
    assert read_coco(tmp_path / "out.json").annotations()[0].mask == Mask.from_full(full)


def test_rle_never_wraps_above_2_32_pixels():
    huge = Mask.empty(70_000, 70_000)  # 4.9 G pixels: more than uint32 counts hold
    with pytest.raises(ValueError, match="more than COCO RLE can describe"):
        huge.rle()
    with pytest.raises(ValueError, match="more than COCO RLE can describe"):
        Mask.from_counts(np.array([70_000 * 70_000]), 70_000, 70_000)
