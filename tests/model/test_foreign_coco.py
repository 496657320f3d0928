"""COCO files written by other tools, used as they are: supervision and datumaro (test-only packages).

Each imported mask must equal what pycocotools decodes from the file (``annToMask``),
pixel for pixel: that is what every COCO consumer trains on. CI installs the two
packages as the README's "Formats" section says (datumaro with ``--no-deps``).
"""
from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
from pycocotools.coco import COCO

from app.model import Category, Dataset, ImageRecord
from app.model.history import History
from app.model.import_plan import apply_plan, plan_import, project_images
from app.model.io.readers import read_labels

# pycocotools' decode (behind annToMask) trips a numpy 2 deprecation; the app never calls it.
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy keyword")

H, W = 48, 64


def shapes() -> list[np.ndarray]:
    """A rectangle, a ring (a hole), two parts, a rotated ellipse: every kind a writer treats apart."""
    rect = np.zeros((H, W), bool)
    rect[5:20, 4:30] = True
    ring = np.zeros((H, W), bool)
    ring[24:44, 6:30] = True
    ring[30:36, 12:20] = False
    two = np.zeros((H, W), bool)
    two[2:8, 40:48] = two[12:18, 54:62] = True
    ellipse = np.zeros((H, W), np.uint8)
    cv2.ellipse(ellipse, (46, 34), (12, 7), 25, 0, 360, 1, -1)
    return [rect, ring, two, ellipse.astype(bool)]


def pycocotools_masks(path) -> dict[int, np.ndarray]:
    coco = COCO()
    coco.dataset = json.loads(path.read_text())
    coco.createIndex()
    return {a["id"]: coco.annToMask(a).astype(bool) for a in coco.dataset["annotations"] if a["segmentation"]}


def imported(path, name: str) -> Dataset:
    project = Dataset()
    project.add_image(ImageRecord(1, name, W, H))
    project.add_category(Category(1, "object"))
    plan = plan_import(read_labels(path), project_images(project))
    assert plan.unmatched == [] and plan.skipped.total == 0
    apply_plan(project, History(), plan)
    return project


def test_a_supervision_coco_file_imports_pixel_exact(tmp_path):
    sv = pytest.importorskip("supervision", reason="test-only: pip install supervision (see README, Formats)")
    image = tmp_path / "a.png"
    cv2.imwrite(str(image), np.zeros((H, W, 3), np.uint8))
    masks = np.stack(shapes())
    detections = sv.Detections(xyxy=sv.mask_to_xyxy(masks).astype(float), mask=masks, class_id=np.array([0, 1, 0, 1]))
    dataset = sv.DetectionDataset(classes=["cat", "dog"], images=[str(image)], annotations={str(image): detections})
    path = tmp_path / "supervision.json"
    dataset.as_coco(annotations_path=str(path), approximation_percentage=0.0)
    expected = pycocotools_masks(path)
    project = imported(path, "a.png")
    got = [a.mask.full_mask() for a in project.annotations()]
    assert len(got) == 4 and all(np.array_equal(g, e) for g, e in zip(got, expected.values()))
    crowd = [a for a in json.loads(path.read_text())["annotations"] if a["iscrowd"]]
    assert len(crowd) == 2  # the ring and the two parts go out as RLE: lossless
    assert np.array_equal(got[1], masks[1]) and np.array_equal(got[2], masks[2])
    names = [project.categories[a.category_id].name for a in project.annotations()]
    assert names == ["cat", "dog", "cat", "dog"]


def test_a_datumaro_coco_file_imports_pixel_exact(tmp_path):
    pytest.importorskip("datumaro", reason="test-only: pip install --no-deps datumaro ... (see README, Formats)")
    from datumaro.components.annotation import Bbox, Mask, Polygon
    from datumaro.components.dataset import Dataset as DmDataset
    from datumaro.components.dataset_base import DatasetItem
    from datumaro.components.media import Image

    rect, ring, two, ellipse = shapes()
    annotations = [Mask(image=ring.astype(np.uint8), label=0, id=1), Mask(image=two.astype(np.uint8), label=1, id=2),
                   Polygon([4, 5, 30, 5, 30, 20, 4, 20], label=1, id=3), Bbox(40, 30, 12, 9, label=0, id=4)]
    item = DatasetItem(id="train/a", media=Image.from_numpy(np.zeros((H, W, 3), np.uint8)), annotations=annotations)
    DmDataset.from_iterable([item], categories=["cat", "dog"]).export(str(tmp_path / "dm"), "coco_instances")
    path = tmp_path / "dm" / "annotations" / "instances_default.json"
    expected = pycocotools_masks(path)
    project = imported(path, "images/train/a.jpg")  # datumaro names the image train/a.jpg
    masks, polygon, box = project.annotations()[:2], project.annotations()[2], project.annotations()[3]
    assert np.array_equal(masks[0].mask.full_mask(), ring) and np.array_equal(masks[1].mask.full_mask(), two)
    assert np.array_equal(polygon.mask.full_mask(), expected[3]) and polygon.mask.area == 26 * 15
    assert box.waits_for_sam and box.provenance.box == (40, 30, 52, 39)  # a box for SAM to fill
