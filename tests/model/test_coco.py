import json

import numpy as np
import pytest
from pycocotools.coco import COCO

from app.model import Annotation, Category, Dataset, ImageRecord, Mask
from app.model.io import import_coco, read_coco, write_coco
from app.model.io.polygons import has_holes, mask_to_polygons, polygons_to_mask
from tests.model.conftest import jagged, rectangle

# pycocotools' decode (behind annToMask) trips a numpy 2 deprecation; the app never calls it.
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy keyword")


def load_with_pycocotools(path) -> COCO:
    coco = COCO()  # COCO(path) prints; build it the same way, quietly
    coco.dataset = json.loads(path.read_text())
    coco.createIndex()
    return coco


def test_rle_export_is_read_by_pycocotools_pixel_for_pixel(dataset, tmp_path):
    path = tmp_path / "annotations.json"
    report = write_coco(dataset, path)
    assert report.annotations == dataset.annotation_count and report.polygon_iou == {}
    coco = load_with_pycocotools(path)
    assert sorted(coco.getImgIds()) == sorted(dataset.images)
    assert sorted(coco.getCatIds()) == sorted(dataset.categories)
    for annotation in dataset.annotations():
        ann = coco.anns[annotation.id]
        assert isinstance(ann["segmentation"]["counts"], str)
        assert np.array_equal(coco.annToMask(ann).astype(bool), annotation.mask.full_mask())
        assert ann["area"] == annotation.area
        assert ann["bbox"] == list(annotation.bbox)
        assert (ann["image_id"], ann["category_id"], ann["iscrowd"]) == (annotation.image_id, annotation.category_id, 0)
    sam = coco.anns[1]["maskwright"]
    assert sam["source"] == "sam" and sam["points"] == [[10.5, 20.0], [3.0, 4.0]] and sam["box"] == [1, 2, 30, 40]


@pytest.mark.parametrize(
    "options",
    [
        {"segmentation": "rle"},
        {"segmentation": "polygons"},
        {"segmentation": "polygons", "holes": "crowd"},
        {"segmentation": "polygons", "holes": "drop", "tolerance": 0.0},
        {"segmentation": "polygons", "tolerance": 2.5},
    ],
)
def test_export_import_export_is_byte_stable(dataset, tmp_path, options):
    first, second = tmp_path / "first.json", tmp_path / "second.json"
    write_coco(dataset, first, **options)
    write_coco(read_coco(first), second, **options)
    assert first.read_bytes() == second.read_bytes()


def test_rle_round_trip_keeps_everything(dataset, tmp_path):
    path = tmp_path / "a.json"
    write_coco(dataset, path)
    back = read_coco(path)
    assert dict(back.images) == dict(dataset.images)
    assert dict(back.categories) == dict(dataset.categories)
    assert back.annotations() == dataset.annotations()  # masks with holes and parts included


def test_polygon_export_reports_iou(dataset, tmp_path):
    report = write_coco(dataset, tmp_path / "p.json", segmentation="polygons", tolerance=1.0)
    rectangle_id, jagged_id, holed_id = 1, 2, 3  # see conftest
    assert report.polygon_iou[rectangle_id] == 1.0
    assert 0.8 < report.polygon_iou[jagged_id] < 1.0
    assert holed_id in report.rle_fallback and holed_id not in report.polygon_iou
    assert report.min_iou == report.polygon_iou[jagged_id] < report.mean_iou < 1.0
    summary = report.summary()
    assert summary["worst"][0] == {"id": jagged_id, "iou": report.polygon_iou[jagged_id]}
    assert summary["polygons"] + summary["rle_fallback"] == dataset.annotation_count

    coco = load_with_pycocotools(tmp_path / "p.json")
    for annotation in dataset.annotations():
        ann = coco.anns[annotation.id]
        raster = coco.annToMask(ann).astype(bool)
        truth = annotation.mask.full_mask()
        iou = (raster & truth).sum() / (raster | truth).sum()
        if annotation.id in report.rle_fallback:
            assert isinstance(ann["segmentation"], dict) and iou == 1.0
        else:
            assert isinstance(ann["segmentation"], list)
            assert iou == pytest.approx(report.polygon_iou[annotation.id])
            assert ann["area"] == raster.sum()  # area and bbox of what consumers see


def test_exact_outlines_are_lossless_without_holes():
    for full in [jagged((40, 50), seed) for seed in range(5)] + [rectangle((9, 9), 0, 0, 9, 9)]:
        mask = Mask.from_full(full)
        assert not has_holes(mask)
        assert polygons_to_mask(mask_to_polygons(mask, tolerance=0), *full.shape) == mask


def test_holes_policies(dataset, tmp_path):
    holed = dataset.annotation(3)
    assert has_holes(holed.mask)
    for holes, kind, iscrowd in [("rle", dict, 0), ("crowd", dict, 1), ("drop", list, 0)]:
        path = tmp_path / f"{holes}.json"
        report = write_coco(dataset, path, segmentation="polygons", holes=holes)
        ann = load_with_pycocotools(path).anns[3]
        assert isinstance(ann["segmentation"], kind) and ann["iscrowd"] == iscrowd
        assert (3 in report.rle_fallback) == (holes != "drop")
    assert len(ann["segmentation"]) == 2  # two parts, holes filled
    assert report.polygon_iou[3] < 1.0


def test_imports_foreign_rle_and_polygons(tmp_path):
    full = rectangle((6, 8), 2, 1, 3, 4)
    counts = Mask.from_full(full).counts().tolist()
    document = {
        "images": [{"id": 0, "file_name": "x.png", "width": 8, "height": 6, "license": 3}],
        "categories": [{"id": 0, "name": "thing"}],
        "annotations": [
            {"id": 10, "image_id": 0, "category_id": 0, "iscrowd": 1, "segmentation": {"size": [6, 8], "counts": counts}},
            {"id": 11, "image_id": 0, "category_id": 0, "segmentation": [[2, 1, 5, 1, 5, 5, 2, 5]], "area": 12.0},
            {"id": 12, "image_id": 0, "category_id": 0, "iscrowd": False, "segmentation": Mask.from_full(full).rle()},
        ],
    }
    path = tmp_path / "foreign.json"
    path.write_text(json.dumps(document))
    dataset = read_coco(path)
    masks = [a.mask for a in dataset.annotations()]
    assert masks == [Mask.from_full(full)] * 3
    first, second, third = dataset.annotations()
    assert first.iscrowd and not second.iscrowd and not third.iscrowd
    assert second.polygons == ((2.0, 1.0, 5.0, 1.0, 5.0, 5.0, 2.0, 5.0),)
    assert {a.provenance.source for a in dataset.annotations()} == {"import"}
    assert dataset.categories[0].color  # a default colour


def test_import_coco_merges_into_an_open_project(dataset, tmp_path):
    other = Dataset()
    other.add_image(ImageRecord(1, "a.jpg", 64, 48))
    other.add_category(Category(1, "bird"))
    other.add_annotation(Annotation(1, 1, 1, Mask.from_full(rectangle((48, 64), 0, 0, 4, 4))))
    path = tmp_path / "other.json"
    write_coco(other, path)
    count = dataset.annotation_count
    added = import_coco(dataset, path)
    assert dataset.annotation_count == count + 1
    assert added[0].image_id == 1 and dataset.categories[added[0].category_id].name == "bird"


def test_writes_are_atomic_replacements(dataset, tmp_path):
    path = tmp_path / "a.json"
    path.write_text("old")
    write_coco(dataset, path)
    assert json.loads(path.read_text())["images"]
    assert [p.name for p in tmp_path.iterdir()] == ["a.json"]  # no temp file left behind
    with pytest.raises(FileNotFoundError):
        write_coco(dataset, tmp_path / "missing-dir" / "a.json")
    assert [p.name for p in tmp_path.iterdir()] == ["a.json"]
