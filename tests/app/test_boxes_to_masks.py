"""Auto > Boxes to masks: a detection dataset (box-only COCO) becomes SAM masks, in the window."""
from __future__ import annotations

import json

import numpy as np

from sam_core import SamPredictor
from sam_core.image_files import read_image
from tests.app.conftest import wait_ready

BOXES = {"img_0.png": [(10, 12, 60, 50, "car"), (80, 20, 150, 100, "person")],
         "img_2.png": [(5, 5, 40, 30, "person"), (50, 40, 110, 85, "car"), (0, 0, 120, 90, "car")]}


def box_only_coco(path) -> None:
    """What CVAT writes for rectangles: ``"segmentation": []`` and the box as ``bbox``."""
    names = {"car": 1, "person": 2}
    images, annotations = [], []
    for image_id, (name, boxes) in enumerate(BOXES.items(), start=1):
        images.append({"id": image_id, "file_name": name, "width": 160 if name == "img_0.png" else 120,
                       "height": 120 if name == "img_0.png" else 90})
        for x0, y0, x1, y1, category in boxes:
            annotations.append({"id": len(annotations) + 1, "image_id": image_id, "category_id": names[category],
                                "segmentation": [], "bbox": [x0, y0, x1 - x0, y1 - y0], "area": (x1 - x0) * (y1 - y0),
                                "iscrowd": 0, "attributes": {"occluded": False}})
    categories = [{"id": i, "name": n, "supercategory": ""} for n, i in names.items()]
    path.write_text(json.dumps({"images": images, "categories": categories, "annotations": annotations}))


def test_a_box_only_coco_file_becomes_sam_masks(qtbot, make_app, image_folder, tmp_path, tiny_checkpoint, tiny_sam):
    path = tmp_path / "cvat_boxes.json"
    box_only_coco(path)
    app = make_app(image_folder, tiny_checkpoint)
    wait_ready(qtbot, app)
    dataset = app.state.dataset
    with qtbot.waitSignal(app.controllers.importing.plan_ready, timeout=15000) as ready:
        app.controllers.importing.read(path)
    app.controllers.importing.apply(ready.args[0])
    waiting = [a for a in dataset.annotations() if a.waits_for_sam]
    assert len(waiting) == 5 and "5 boxes waiting for SAM" in app.window.messages.texts()[0]
    assert app.window.annotations.tree.topLevelItem(0).text(4) == "box, waiting for SAM (Ctrl+B)"
    drawn = app.bound.presenter._waiting.items  # dashed rectangles on the canvas, until SAM fills them
    qtbot.waitUntil(lambda: sum(i.isVisible() for i in drawn) == 2, timeout=5000)
    app.state.select(waiting[0].id)  # selecting one draws it solid; it has no outline to draw
    assert drawn[0].pen().width() == 3

    boxes = app.controllers.boxes
    with qtbot.waitSignal(boxes.running_changed, timeout=60000, check_params_cb=lambda running: not running):
        app.window.actions["auto.boxes_folder"].trigger()
        assert app.window.actions["auto.cancel"].isEnabled()

    predictor = SamPredictor(tiny_sam)
    for image in dataset.images.values():
        expected = BOXES.get(image.file_name, [])
        annotations = dataset.annotations(image.id)
        assert len(annotations) == len(expected)  # one mask per box, in the boxes' places
        if expected:
            predictor.set_image(read_image(image_folder / image.file_name))
        for annotation, (x0, y0, x1, y1, category) in zip(annotations, expected):
            assert dataset.categories[annotation.category_id].name == category
            assert annotation.provenance.source == "auto" and annotation.provenance.box == (x0, y0, x1, y1)
            assert annotation.attributes == (("occluded", False),)
            masks, iou, _ = predictor.predict(box=np.array([x0, y0, x1, y1]), multimask_output=False)
            assert np.array_equal(annotation.mask.full_mask(), masks[0])  # SAM's own answer for that box
            assert abs(annotation.provenance.predicted_iou - float(iou[0])) < 1e-5
        assert app.prelabel.to_review(image.id) == [a for a in annotations if not a.mask.is_empty]

    assert not any(i.isVisible() for i in drawn)

    # One undo step per image: the boxes come back, waiting.
    img_2 = dataset.image_by_name("img_2.png")
    app.history.set_image(img_2.id)
    assert app.history.undo_text.startswith("Boxes to masks: 3 masks")
    app.history.undo()
    assert all(a.waits_for_sam for a in dataset.annotations(img_2.id))
    app.history.redo()

    app.history.set_image(app.state.image_id)
    assert not app.controllers.boxes.run_image()  # nothing left waiting on this image
    assert "No boxes waiting for SAM on this image" in app.window.statusBar().currentMessage()
