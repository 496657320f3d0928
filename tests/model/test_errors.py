"""Malformed and foreign files give one clear FormatError and change nothing."""

import json
import re

import pytest

from app.model.io import FormatError, import_coco, import_sa1b, read_coco, read_sa1b, write_coco, write_sa1b

DELETE = object()


def edited(document, path, value):
    """A copy of ``document`` with the value at ``path`` (keys and indices) replaced or deleted."""
    document = json.loads(json.dumps(document))
    node = document
    for key in path[:-1]:
        node = node[key]
    if value is DELETE:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return document


def check(error: FormatError, path, field: str, problem: str) -> None:
    message = str(error)
    assert "\n" not in message
    assert error.file == str(path) and error.field == field
    assert re.fullmatch(problem, error.problem), error.problem
    assert message == (f"{path}: {field}: {error.problem}" if field else f"{path}: {error.problem}")


@pytest.fixture
def coco_document(dataset, tmp_path):
    write_coco(dataset, tmp_path / "valid.json", segmentation="polygons", holes="drop")
    return json.loads((tmp_path / "valid.json").read_text())


COCO_CASES = [
    (["images"], DELETE, "images", "missing"),
    (["images", 0, "width"], "64", "images[0].width", "must be an integer, got a string"),
    (["images", 0, "height"], 0, "images[0].height", "must be at least 1, got 0"),
    (["images", 1, "id"], 1, "images[1].id", "duplicate image id 1"),
    (["categories", 0, "name"], None, "categories[0].name", "must be a string, got null"),
    (["categories", 0, "maskwright", "color"], [1, 2], "categories[0].maskwright.color", "must have 3 values, got 2"),
    (["annotations"], {}, "annotations", "must be a list, got an object"),
    (["annotations", 0, "category_id"], DELETE, "annotations[0].category_id", "missing"),
    (["annotations", 0, "image_id"], 99, "annotations[0].image_id", "no image with id 99"),
    (["annotations", 1, "id"], 1, "annotations[1].id", "duplicate annotation id 1"),
    (["annotations", 0, "iscrowd"], 2, "annotations[0].iscrowd", "must be 0 or 1, got 2"),
    (["annotations", 0, "segmentation"], "abc", "annotations[0].segmentation",
     "must be an RLE object or a list of polygons"),
    (["annotations", 0, "segmentation"], {"size": [48, 64], "counts": 5}, "annotations[0].segmentation.counts",
     "must be a string or a list of ints"),
    (["annotations", 0, "segmentation"], {"size": [48, 64], "counts": [1.5, 3070.5]},
     "annotations[0].segmentation.counts", "must be a string or a list of ints"),
    (["annotations", 0, "segmentation"], {"size": [48, 64], "counts": [10, 20]},
     "annotations[0].segmentation.counts", r"counts sum to 30, expected 48 \* 64 = 3072"),
    (["annotations", 0, "segmentation"], {"size": [48, 64], "counts": "a~b"}, "annotations[0].segmentation.counts",
     "invalid compressed RLE: .*"),
    (["annotations", 0, "segmentation"], {"size": [10, 10], "counts": [100]}, "annotations[0].segmentation.size",
     r"is \[10, 10\] but the image is \[48, 64\] \(height, width\)"),
    (["annotations", 0, "segmentation"], {"counts": [3072]}, "annotations[0].segmentation.size", "missing"),
    (["annotations", 0, "segmentation"], [[1, 2, 3, 4]], "annotations[0].segmentation[0]",
     "must have at least 3 points, got 2"),
    (["annotations", 0, "segmentation"], [[1, 2, 3, 4, 5, 6, 7]], "annotations[0].segmentation[0]",
     "must hold x, y pairs, got 7 numbers"),
    (["annotations", 0, "segmentation"], [[1, "2", 3, 4, 5, 6]], "annotations[0].segmentation[0][1]",
     "must be a number, got a string"),
    (["annotations", 0, "maskwright", "source"], "magic", "annotations[0].maskwright.source",
     "must be one of sam, auto, brush, box, polygon, import, got 'magic'"),
    (["annotations", 0, "maskwright", "points"], [[1]], "annotations[0].maskwright.points[0]",
     "must have 2 numbers, got 1"),
    (["annotations", 0, "maskwright", "point_labels"], [1], "annotations[0].maskwright.point_labels",
     "has 1 labels for 2 points"),
    (["annotations", 0, "maskwright", "edited"], 0, "annotations[0].maskwright.edited",
     "must be true or false, got the number 0"),
]


@pytest.mark.parametrize(("path", "value", "field", "problem"), COCO_CASES, ids=[c[2] + ":" + c[3][:20] for c in COCO_CASES])
def test_coco_field_errors(coco_document, tmp_path, path, value, field, problem):
    bad = tmp_path / "annotations.json"
    bad.write_text(json.dumps(edited(coco_document, path, value)))
    with pytest.raises(FormatError) as caught:
        read_coco(bad)
    check(caught.value, bad, field, problem)


@pytest.mark.parametrize(
    ("content", "field", "problem"),
    [
        (b'{"images": [', "", "invalid JSON at line 1 column 13: .*"),
        (b"\xff\xfe\x00", "", r"not UTF-8 text \(byte 0\)"),
        (b'{"images": [], "categories": [], "annotations": [], "x": NaN}', "", "NaN is not valid JSON"),
        (b"[]", "", "must be an object, got a list"),
        (b'{"image": {}, "annotations": []}', "images", r"missing \(this looks like an SA-1B file: use read_sa1b\)"),
    ],
)
def test_coco_file_errors(tmp_path, content, field, problem):
    bad = tmp_path / "annotations.json"
    bad.write_bytes(content)
    with pytest.raises(FormatError) as caught:
        read_coco(bad)
    check(caught.value, bad, field, problem)


@pytest.fixture
def sa1b_document(dataset, tmp_path):
    write_sa1b(dataset, tmp_path / "valid")
    return json.loads((tmp_path / "valid" / "a.json").read_text())


SA1B_CASES = [
    (["image", "width"], DELETE, "image.width", "missing"),
    (["image", "file_name"], "", "image.file_name", "must not be empty"),
    (["annotations", 0, "segmentation", "counts"], ["1"], "annotations[0].segmentation.counts",
     "must be a string or a list of ints"),
    (["annotations", 0, "segmentation", "size"], [64, 48], "annotations[0].segmentation.size",
     r"is \[64, 48\] but the image is \[48, 64\] \(height, width\)"),
    (["annotations", 0, "predicted_iou"], "high", "annotations[0].predicted_iou", "must be a number, got a string"),
    (["annotations", 0, "point_coords"], [[1, 2, 3]], "annotations[0].point_coords[0]", "must have 2 numbers, got 3"),
    (["annotations", 0, "crop_box"], [0, 0, 1], "annotations[0].crop_box", "must have 4 numbers, got 3"),
    (["annotations", 0, "maskwright", "category_id"], 42, "annotations[0].maskwright.category_id",
     "no category with id 42"),
    (["annotations", 0, "maskwright", "iscrowd"], "no", "annotations[0].maskwright.iscrowd",
     "must be true or false, got a string"),
]


@pytest.mark.parametrize(("path", "value", "field", "problem"), SA1B_CASES, ids=[c[2] for c in SA1B_CASES])
def test_sa1b_field_errors(sa1b_document, tmp_path, path, value, field, problem):
    bad = tmp_path / "sa_1.json"
    bad.write_text(json.dumps(edited(sa1b_document, path, value)))
    with pytest.raises(FormatError) as caught:
        read_sa1b(bad)
    check(caught.value, bad, field, problem)


def test_sa1b_importer_rejects_coco_and_inconsistent_directories(dataset, coco_document, tmp_path):
    coco = tmp_path / "coco.json"
    coco.write_text(json.dumps(coco_document))
    with pytest.raises(FormatError) as caught:
        read_sa1b(coco)
    check(caught.value, coco, "image", r"missing \(this looks like a COCO file: use read_coco\)")

    write_sa1b(dataset, tmp_path / "dir")
    clone = tmp_path / "dir" / "zz.json"
    clone.write_bytes((tmp_path / "dir" / "a.json").read_bytes())
    with pytest.raises(FormatError) as caught:
        read_sa1b(tmp_path / "dir")
    check(caught.value, clone, "image.image_id", r"duplicate image id 1 \(also in another file\)")

    (tmp_path / "none").mkdir()
    with pytest.raises(FormatError, match="no .json files"):
        read_sa1b(tmp_path / "none")


def snapshot(dataset, tmp_path):
    path = tmp_path / "snapshot.json"
    write_coco(dataset, path)
    return path.read_bytes()


def test_failed_imports_leave_the_model_untouched(dataset, coco_document, sa1b_document, tmp_path):
    before = snapshot(dataset, tmp_path)
    events = []
    dataset.events.connect(events.append)

    bad_coco = tmp_path / "bad.json"
    # The error is in the last annotation: everything before it parsed fine.
    bad_coco.write_text(json.dumps(edited(coco_document, ["annotations", -1, "segmentation"], 7)))
    with pytest.raises(FormatError, match=r"annotations\[6\]\.segmentation"):
        import_coco(dataset, bad_coco)

    directory = tmp_path / "sa1b"
    directory.mkdir()
    (directory / "a.json").write_text(json.dumps(sa1b_document))
    (directory / "b.json").write_text("{ not json")
    with pytest.raises(FormatError, match="b.json: invalid JSON"):
        import_sa1b(dataset, directory)

    assert events == []
    assert snapshot(dataset, tmp_path) == before
    assert isinstance(FormatError("f", "x", "y"), ValueError)
