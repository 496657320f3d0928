"""Import readers and writers without Qt: labelme, YOLO, COCO's damaged files, SA-1B, matching, plans."""
from __future__ import annotations

import base64
import json

import cv2
import numpy as np
import pytest

from app.model import Annotation, Category, Dataset, ImageRecord, Mask, Provenance
from app.model.history import History
from app.model.import_plan import apply_plan, plan_import, project_images
from app.model.io.coco import write_coco
from app.model.io.coco_import import parse_coco
from app.model.io.labelme import parse_labelme, write_labelme
from app.model.io.readers import detect_format, read_labels
from app.model.io.sa1b import sam_bbox, write_sa1b
from app.model.io.sa1b_import import parse_sa1b
from app.model.io.yolo import parse_yolo, write_yolo
from tests.model.conftest import holed_two_parts, rectangle


def masks_by_image(dataset: Dataset) -> dict[str, list[Mask]]:
    return {i.file_name: [a.mask for a in dataset.annotations(i.id)] for i in dataset.images.values()}


def empty_copy(dataset: Dataset) -> Dataset:
    """The same images (a project before the import), one default category."""
    copy = Dataset()
    for image in dataset.images.values():
        copy.add_image(image)
    copy.add_category(Category(1, "object"))
    return copy


def import_into(target: Dataset, parsed, mode="add") -> History:
    history = History()
    apply_plan(target, history, plan_import(parsed, project_images(target)), mode)
    return history


@pytest.mark.parametrize("fmt", ["labelme", "yolo", "coco_rle"])
def test_round_trip_through_a_format_keeps_every_mask_pixel_for_pixel(dataset, tmp_path, fmt):
    out = tmp_path / fmt
    if fmt == "labelme":
        write_labelme(dataset, out, tmp_path / "project")
        parsed = parse_labelme(out)
    elif fmt == "yolo":
        write_yolo(dataset, out)
        parsed = parse_yolo(out)
    else:
        write_coco(dataset, out.with_suffix(".json"))
        parsed = parse_coco(out.with_suffix(".json"))
    target = empty_copy(dataset)
    import_into(target, parsed)
    assert masks_by_image(target) == masks_by_image(dataset)  # holes and several parts included
    names = {c.id: c.name for c in dataset.categories.values()}
    got = {c.id: c.name for c in target.categories.values()}
    assert [got[a.category_id] for a in target.annotations()] == [names[a.category_id] for a in dataset.annotations()]


def test_labelme_shapes_holes_groups_flags_and_skips(tmp_path):
    patch = np.zeros((4, 6), np.uint8)
    patch[1:3, 2:5] = 255
    png = base64.b64encode(cv2.imencode(".png", patch)[1].tobytes()).decode()
    shapes = [
        {"label": "plate", "points": [[2, 2], [30, 2], [30, 20], [2, 20]], "shape_type": "polygon", "group_id": None,
         "flags": {"occluded": True}},
        {"label": "__background__", "points": [[10, 6], [20, 6], [20, 12], [10, 12]], "shape_type": "polygon"},
        {"label": "ring", "points": [[34, 2], [46, 2], [46, 14], [34, 14]], "group_id": 7},
        {"label": "ring", "points": [[38, 6], [42, 6], [42, 10], [38, 10]], "group_id": 7},  # inside: a hole
        {"label": "ball", "points": [[10, 30], [13, 30]], "shape_type": "circle", "attributes": {"color": "red"}},
        {"label": "blob", "points": [[40, 30], [45, 33]], "shape_type": "mask", "mask": png},
        {"label": "car", "points": [[1, 25], [8, 35]], "shape_type": "rectangle", "difficult": True},
        {"label": "dot", "points": [[5, 5]], "shape_type": "point"},
        {"label": "bad", "points": [[1, 1], [2, 2]], "shape_type": "polygon"},
    ]
    doc = {"version": "5.5.0", "flags": {"blurry": True}, "shapes": shapes, "imagePath": "..\\photos\\a.jpg",
           "imageData": None, "imageHeight": 40, "imageWidth": 50}
    (tmp_path / "labels").mkdir()
    (tmp_path / "labels" / "a.json").write_text(json.dumps(doc))
    (tmp_path / "labels" / "notes.json").write_text("{\"hello\": 1}")
    parsed = read_labels(tmp_path / "labels")
    assert parsed.format == "labelme" and parsed.images[0].name == "photos/a.jpg"  # its path tail
    project = Dataset()
    project.add_image(ImageRecord(1, "photos/a.jpg", 50, 40))
    project.add_category(Category(1, "object"))
    plan = plan_import(parsed, project_images(project))
    apply_plan(project, History(), plan)
    by_name = {project.categories[a.category_id].name: a for a in project.annotations()}
    assert set(by_name) == {"plate", "ring", "ball", "blob", "car"}
    plate = by_name["plate"].mask.full_mask()
    expected = rectangle((40, 50), 2, 2, 28, 18)
    expected[6:12, 10:20] = False
    assert np.array_equal(plate, expected) and by_name["plate"].attributes == (("occluded", True),)
    ring = rectangle((40, 50), 34, 2, 12, 12)
    ring[6:10, 38:42] = False
    assert np.array_equal(by_name["ring"].mask.full_mask(), ring)
    ball = by_name["ball"].mask.full_mask()
    assert ball[30, 10] and not ball[30, 14] and by_name["ball"].attributes == (("color", "red"),)
    blob = np.zeros((40, 50), bool)
    blob[31:33, 42:45] = True
    assert np.array_equal(by_name["blob"].mask.full_mask(), blob)
    car = by_name["car"]
    assert car.waits_for_sam and car.provenance.box == (1, 25, 8, 35) and car.attributes == (("difficult", True),)
    lines = plan.skipped.lines(where=False)
    assert "1 shape of type 'point' (no area) skipped" in lines
    assert "1 shape with fewer than 3 points skipped" in lines
    assert "1 file that are not labelme JSON skipped" in lines
    assert any(line.startswith("1 image flag") for line in lines)


def test_yolo_reads_boxes_polygons_names_and_skips_bad_lines(tmp_path):
    (tmp_path / "data.yaml").write_text("path: .\nnames:\n  0: cat\n  1: dog\n")
    labels = tmp_path / "labels" / "train"
    labels.mkdir(parents=True)
    (labels / "x.txt").write_text("0 0.5 0.5 0.5 0.5\n1 0.1 0.1 0.4 0.1 0.4 0.4 0.1 0.4\n7 0.1 0.1 0.2 0.2 0.3 0.1\n"
                                  "1 0.1 0.1 0.2\nzzz\n1 0.1 0.2\n")
    (tmp_path / "train.txt").write_text("images/train/x.jpg\n")  # an image list, not labels
    assert detect_format(tmp_path) == "yolo"
    parsed = parse_yolo(tmp_path)
    project = Dataset()
    project.add_image(ImageRecord(1, "images/train/x.jpg", 100, 80))
    project.add_category(Category(1, "object"))
    plan = plan_import(parsed, project_images(project))
    apply_plan(project, History(), plan)
    cat, dog = (project.annotations()[i] for i in (0, 1))
    assert cat.waits_for_sam and cat.provenance.box == (25.0, 20.0, 75.0, 60.0)
    assert project.categories[dog.category_id].name == "dog" and dog.mask.bbox == (10, 8, 30, 24)
    assert sorted(plan.skipped.lines(where=False)) == sorted([
        "1 line with a class id the class names do not have skipped",
        "1 line with an odd number of coordinates skipped",
        "1 line that is not numbers skipped",
        "1 polygon with fewer than 3 points skipped",
    ])


def test_a_coco_file_with_bad_parts_imports_the_good_part(tmp_path):
    coco = {
        "images": [{"id": 1, "file_name": "a.jpg", "width": 40, "height": 30}, {"id": 2, "width": 40, "height": 30},
                   {"id": 3, "file_name": "train/b.jpg", "width": 40, "height": 30}],
        "categories": [{"id": 1, "name": "cat"}, {"id": 2, "name": "dog"}],
        "annotations": [
            {"id": 1, "image_id": 1, "category_id": 1,
             "segmentation": [[1, 1, 10, 1, 10, 10, 1, 10], [20, 20, 21, 21]]},
            {"id": 2, "image_id": 1, "category_id": 9, "segmentation": [[1, 1, 10, 1, 10, 10]]},
            {"id": 3, "image_id": 1, "category_id": 2, "segmentation": [[1, 1, 10, 1, 10]]},
            {"id": 4, "image_id": 3, "category_id": 2, "segmentation": [], "bbox": [5, 6, 10, 8]},
            {"id": 5, "image_id": 3, "category_id": 2, "segmentation": {"size": [10, 10], "counts": "abc"}},
            {"id": 6, "image_id": 3, "category_id": 1, "segmentation": {"size": [30, 40], "counts": [5, 10, 1185]},
             "attributes": {"occluded": False, "track": 3}},
        ],
    }
    path = tmp_path / "cvat.json"
    path.write_text(json.dumps(coco))
    project = Dataset()
    project.add_image(ImageRecord(1, "a.jpg", 40, 30))
    project.add_image(ImageRecord(2, "data/train/b.jpg", 40, 30))
    project.add_image(ImageRecord(3, "other.jpg", 40, 30))
    project.add_category(Category(1, "cat"))
    plan = plan_import(read_labels(path), project_images(project))
    assert [c.name for c in plan.new_categories(project)] == ["dog"]
    apply_plan(project, History(), plan)
    a, box, rle = project.annotations()
    assert a.mask.area == 81 and box.waits_for_sam and box.provenance.box == (5, 6, 15, 14)
    assert rle.mask.area == 10 and rle.attributes == (("occluded", False), ("track", 3))
    assert sorted(plan.skipped.lines(where=False)) == sorted([
        "1 image entry without file_name skipped",
        "1 polygon with fewer than 3 points skipped",
        "1 polygon with an odd number of coordinates skipped",
        "1 annotation with a category_id the file does not list skipped",
        "1 annotation with no usable polygon skipped",
        "1 annotation with an RLE of another size than its image skipped",
    ])
    assert plan.unmatched == []


def test_a_file_that_is_not_the_format_is_refused_in_one_line(tmp_path):
    path = tmp_path / "x.json"
    path.write_text("[1, 2]")
    with pytest.raises(ValueError, match="x.json: not COCO"):
        read_labels(path)
    with pytest.raises(ValueError, match="not a COCO instances file"):
        read_labels(path, "coco")


def test_matching_by_relative_path_then_name_says_what_did_not_match(tmp_path):
    coco = {"images": [{"id": i, "file_name": n, "width": 10, "height": 10} for i, n in
                       enumerate(["train/a.jpg", "a.jpg", "zz/c.jpg", "b.jpg", "d.jpg"])],
            "categories": [{"id": 1, "name": "cat"}], "annotations": []}
    path = tmp_path / "c.json"
    path.write_text(json.dumps(coco))
    project = Dataset()
    for i, name in enumerate(["train/a.jpg", "val/a.jpg", "sub/c.jpg", "x/b.jpg", "y/b.jpg"], start=1):
        project.add_image(ImageRecord(i, name, 10, 10))
    plan = plan_import(read_labels(path), project_images(project))
    assert [p.name for p in plan.images] == ["train/a.jpg", "sub/c.jpg"]
    assert plan.unmatched == ["a.jpg: 2 images of the project match it equally well",
                              "b.jpg: 2 images of the project match it equally well",
                              "d.jpg: no image of that name in the project"]


def test_import_is_one_undo_step_per_image_and_replace_removes_what_was_there(dataset, tmp_path):
    path = tmp_path / "a.json"
    write_coco(dataset, path)
    target = empty_copy(dataset)
    before = Annotation(target.new_annotation_id(), 1, 1, Mask.from_full(rectangle((48, 64), 0, 0, 3, 3)))
    target.add_annotation(before)
    history = History()
    applied = apply_plan(target, history, plan_import(parse_coco(path), project_images(target)), "replace")
    assert applied.replaced == 1 and applied.categories == ["cat", "dog"]
    assert masks_by_image(target) == masks_by_image(dataset)
    history.set_image(7)  # nested/b.png's step
    history.undo()
    assert target.annotations(7) == [] and len(target.annotations(1)) == 5
    history.set_image(1)
    history.undo()  # a.jpg's step also made the categories: kept, others still use them? none do now
    assert target.annotations(1) == [before] and [c.name for c in target.categories.values()] == ["object"]


def test_coco_box_only_annotations_round_trip_as_boxes_waiting_for_sam(tmp_path):
    ds = Dataset()
    ds.add_image(ImageRecord(1, "a.jpg", 40, 30))
    ds.add_category(Category(1, "car"))
    ds.add_annotation(Annotation(1, 1, 1, Mask.empty(30, 40), Provenance(box=(2.5, 3, 12, 9), source="import")))
    path = tmp_path / "boxes.json"
    report = write_coco(ds, path)
    written = json.loads(path.read_text())["annotations"][0]
    assert report.boxes == 1 and written["segmentation"] == [] and written["bbox"] == [2.5, 3, 9.5, 6]
    target = empty_copy(ds)
    import_into(target, parse_coco(path))
    (box,) = target.annotations()
    assert box.waits_for_sam and box.provenance.box == (2.5, 3, 12, 9)


def test_sa1b_bbox_is_the_one_sams_generator_writes(dataset, tmp_path):
    from sam_core.bench.reference import load_reference

    load_reference()
    import torch
    from segment_anything.utils.amg import batched_mask_to_box, box_xyxy_to_xywh

    for annotation in dataset.annotations():
        reference = box_xyxy_to_xywh(batched_mask_to_box(torch.from_numpy(annotation.mask.full_mask())[None])[0])
        assert sam_bbox(annotation.mask) == reference.tolist()
    write_sa1b(dataset, tmp_path / "sa1b")
    written = json.loads((tmp_path / "sa1b" / "a.json").read_text())["annotations"]
    assert [a["bbox"] for a in written] == [sam_bbox(a.mask) for a in dataset.annotations(1)]


def test_sa1b_folder_with_a_broken_file_imports_the_rest(dataset, tmp_path):
    folder = tmp_path / "sa1b"
    write_sa1b(dataset, folder)
    (folder / "junk.json").write_text("{not json")
    parsed = parse_sa1b(folder)
    assert parsed.skipped.lines(where=False) == ["1 file that are not valid JSON skipped"]
    target = empty_copy(dataset)
    import_into(target, parsed)
    assert masks_by_image(target) == masks_by_image(dataset)


def test_holed_masks_survive_labelme(tmp_path):
    ds = Dataset()
    ds.add_image(ImageRecord(1, "sub/a.png", 64, 48))
    ds.add_category(Category(1, "thing"))
    ds.add_annotation(Annotation(1, 1, 1, Mask.from_full(holed_two_parts((48, 64)))))
    write_labelme(ds, tmp_path / "out", tmp_path)
    doc = json.loads((tmp_path / "out" / "sub" / "a.json").read_text())
    assert doc["imagePath"] == "../../sub/a.png"
    assert [s["label"] for s in doc["shapes"]].count("__background__") == 3
    target = empty_copy(ds)
    import_into(target, parse_labelme(tmp_path / "out"))
    assert masks_by_image(target) == masks_by_image(ds)


def test_crafted_sizes_are_skipped_before_anything_is_allocated(tmp_path):
    huge = {"images": [{"id": 1, "file_name": "a.jpg", "width": 40, "height": 30},
                       {"id": 2, "file_name": "big.jpg", "width": 10**6, "height": 10**6}],
            "categories": [{"id": 1, "name": "cat"}],
            "annotations": [
                {"id": 1, "image_id": 2, "category_id": 1, "segmentation": {"size": [10**6, 10**6],
                                                                            "counts": [0, 10**12]}},
                {"id": 2, "image_id": 1, "category_id": 1, "segmentation": [[0, 0, 1e9, 0, 1e9, 1e9]]},
                {"id": 3, "image_id": 1, "category_id": 1, "segmentation": [[1, 1, 9, 1, 9, 9]]}]}
    path = tmp_path / "crafted.json"
    path.write_text(json.dumps(huge))
    project = Dataset()
    project.add_image(ImageRecord(1, "a.jpg", 40, 30))
    project.add_category(Category(1, "cat"))
    plan = plan_import(read_labels(path), project_images(project))
    assert plan.unmatched == ["big.jpg: no image of that name in the project"]  # its RLE is never decoded
    assert plan.skipped.lines(where=False) == ["1 annotation with a vertex more than an image size outside "
                                               "the image skipped"]
    assert plan.masks == 1
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + (100000).to_bytes(4, "big") * 2 + b"\x08\x00\x00\x00\x00"
    shape = {"label": "x", "points": [[0, 0], [5, 5]], "shape_type": "mask",
             "mask": base64.b64encode(png).decode()}
    (tmp_path / "m.json").write_text(json.dumps({"shapes": [shape], "imagePath": "a.jpg"}))
    parsed = read_labels(tmp_path / "m.json")
    assert parsed.skipped.lines(where=False) == ["1 shape with a mask PNG larger than any image skipped"]
