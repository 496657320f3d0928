import json

import numpy as np
import pytest
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO

from app.model import Dataset, ImageRecord
from app.model.io import import_sa1b, read_sa1b, write_sa1b
from app.model.io.sa1b import sam_bbox

pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy keyword")

SA1B_KEYS = ["id", "segmentation", "bbox", "area", "predicted_iou", "point_coords", "crop_box", "stability_score"]


def files(directory):
    return {p.relative_to(directory).as_posix(): p.read_bytes() for p in sorted(directory.rglob("*"))
            if p.is_file()}


def test_writes_one_sa1b_file_per_image(dataset, tmp_path):
    written = write_sa1b(dataset, tmp_path / "out")
    assert sorted(p.relative_to(tmp_path / "out").as_posix() for p in written) == [
        "a.json", "empty.json", "nested/b.json"]
    document = json.loads((tmp_path / "out" / "a.json").read_text())
    assert document["image"] == {"image_id": 1, "width": 64, "height": 48, "file_name": "a.jpg"}
    first = document["annotations"][0]
    assert [k for k in first if k != "maskwright"] == SA1B_KEYS
    assert isinstance(first["segmentation"]["counts"], str) and first["segmentation"]["size"] == [48, 64]
    assert first["point_coords"] == [[10.5, 20.0], [3.0, 4.0]]
    assert first["crop_box"] == [0.0, 0.0, 64.0, 48.0]  # whole image when unknown
    assert document["annotations"][1]["crop_box"] == [0.0, 0.0, 32.0, 24.0]
    assert document["annotations"][2]["predicted_iou"] is None  # brush: SAM did not score it
    assert json.loads((tmp_path / "out" / "empty.json").read_text())["annotations"] == []


def test_masks_read_back_through_pycocotools(dataset, tmp_path):
    write_sa1b(dataset, tmp_path)
    for image in dataset.images.values():
        document = json.loads((tmp_path / image.file_name).with_suffix(".json").read_text())
        coco = COCO()
        coco.dataset = {
            "images": [{"id": image.id, "width": image.width, "height": image.height}],
            "annotations": [dict(a, image_id=image.id) for a in document["annotations"]],
        }
        coco.createIndex()
        for annotation in dataset.annotations(image.id):
            ann = coco.anns[annotation.id]
            assert np.array_equal(coco.annToMask(ann).astype(bool), annotation.mask.full_mask())
            assert ann["area"] == annotation.area and ann["bbox"] == sam_bbox(annotation.mask)  # SAM's convention


def test_export_import_export_is_byte_stable(dataset, tmp_path):
    write_sa1b(dataset, tmp_path / "first")
    back = read_sa1b(tmp_path / "first")
    write_sa1b(back, tmp_path / "second")
    assert files(tmp_path / "first") == files(tmp_path / "second")
    assert dict(back.categories) == dict(dataset.categories)
    assert [(a.id, a.category_id, a.mask, a.provenance.points) for a in back.annotations()] == [
        (a.id, a.category_id, a.mask, a.provenance.points) for a in sorted(dataset.annotations(), key=lambda a: a.id)
    ]


def test_foreign_sa1b_gets_a_default_category(tmp_path):
    full = np.zeros((4, 5), dtype=np.uint8, order="F")
    full[1:3, 0] = 1
    segmentation = mask_utils.encode(full)
    segmentation["counts"] = segmentation["counts"].decode()
    document = {
        "image": {"image_id": 3, "width": 5, "height": 4, "file_name": "sa_3.jpg"},
        "annotations": [{"id": 8, "segmentation": segmentation, "bbox": [0, 1, 1, 2], "area": 2,
                         "predicted_iou": 0.9, "point_coords": [[0.5, 1.5]], "crop_box": [0, 0, 5, 4],
                         "stability_score": 0.95}],
    }
    (tmp_path / "sa_3.json").write_text(json.dumps(document))
    dataset = read_sa1b(tmp_path / "sa_3.json")
    (annotation,) = dataset.annotations()
    assert dataset.categories[annotation.category_id].name == "object"
    assert annotation.mask.area == 2 and annotation.bbox == (0, 1, 1, 2)
    p = annotation.provenance
    assert (p.source, p.points, p.point_labels, p.predicted_iou, p.crop_box) == (
        "import", ((0.5, 1.5),), (1,), 0.9, (0.0, 0.0, 5.0, 4.0))


def test_import_sa1b_merges(dataset, tmp_path):
    write_sa1b(dataset, tmp_path)
    target = Dataset()
    target.add_image(ImageRecord(1, "nested/b.png", 30, 20))
    added = import_sa1b(target, tmp_path)
    assert len(added) == dataset.annotation_count
    assert [i.file_name for i in target.images.values()] == ["nested/b.png", "a.jpg", "empty.jpg"]


@pytest.mark.parametrize("name", ["../up.jpg", "/abs.jpg"])
def test_refuses_to_write_outside_the_directory(tmp_path, name):
    dataset = Dataset()
    dataset.add_image(ImageRecord(1, name, 2, 2))
    with pytest.raises(ValueError, match="outside"):
        write_sa1b(dataset, tmp_path / "out")


def test_refuses_clashing_file_names(tmp_path):
    dataset = Dataset()
    dataset.add_image(ImageRecord(1, "a.jpg", 2, 2))
    dataset.add_image(ImageRecord(2, "a.png", 2, 2))
    with pytest.raises(ValueError, match="both write a.json"):
        write_sa1b(dataset, tmp_path)
    assert list(tmp_path.iterdir()) == []
