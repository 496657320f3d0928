"""The whole loop through the real window: open, click, pick, accept, next, export."""
from __future__ import annotations

import numpy as np
import pytest
from pycocotools.coco import COCO
from PySide6.QtCore import QPoint, QPointF, Qt

from tests.app.conftest import listed_ids, wait_ready


# pycocotools' decode (behind annToMask) trips a numpy 2 deprecation; the app never calls it.
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy keyword")


def view_pos(canvas, x: float, y: float) -> QPoint:
    """Widget (viewport) coordinates of the image point (x, y)."""
    return canvas.mapFromScene(canvas.view_box.mapViewToScene(QPointF(x, y)))


def test_click_pick_accept_next_export(qtbot, make_app, image_folder, tiny_checkpoint, tmp_path):
    app = make_app(image_folder, tiny_checkpoint)
    window, lab = app.window, app
    wait_ready(qtbot, app)
    first = lab.state.image_id

    # A real left click on the canvas at image pixel (60, 50).
    canvas = window.canvas
    pos = view_pos(canvas, 60.5, 50.5)
    qtbot.mouseClick(canvas.viewport(), Qt.LeftButton, pos=pos)
    qtbot.waitUntil(lambda: lab.state.prompts.candidates is not None, timeout=10000)
    x, y = lab.state.prompts.points[0]
    assert abs(x - 60.5) < 1.5 and abs(y - 50.5) < 1.5
    assert lab.state.prompts.labels.tolist() == [1]

    candidates = lab.state.prompts.candidates
    assert len(candidates) == 3
    assert lab.state.prompts.selected == candidates.best
    panel = window.candidates
    shown = [float(b.text().split("IoU ")[1].split()[0]) for b in panel.buttons if b.isEnabled()]
    assert len(shown) == 3 and shown == sorted(shown, reverse=True)
    assert "click→mask" in window.click_label.text() and "ms" in window.click_label.text()

    window.actions["label.candidate_2"].trigger()
    assert lab.state.prompts.selected == candidates.order[1]
    assert panel.buttons[1].isChecked()
    window.actions["label.cycle"].trigger()
    assert lab.state.prompts.selected == candidates.order[2]
    window.actions["label.candidate_2"].trigger()
    chosen = candidates.mask(candidates.order[1]).copy()
    if not chosen.any():  # random weights may give an empty mask: take any non-empty one
        rank = next(r for r, i in enumerate(candidates.order) if candidates.mask(i).any())
        lab.prompting.pick(rank)
        chosen = candidates.mask(candidates.order[rank]).copy()

    window.actions["label.accept"].trigger()
    annotations = lab.state.project.dataset.annotations(first)
    assert len(annotations) == 1
    assert np.array_equal(annotations[0].mask.full_mask(), chosen)
    assert lab.state.prompts.prompts == [] and lab.state.prompts.candidates is None
    assert "1 annotation" in window.image_list.text_of(first)
    assert listed_ids(window.annotations) == [annotations[0].id]

    # The next image was pre-encoded in the background, so moving on is instant.
    second = lab.state.project.neighbour(first, 1)
    qtbot.waitUntil(lambda: app.worker.is_encoded(lab.state.project.key(second)), timeout=20000)
    window.actions["image.next"].trigger()
    assert lab.state.image_id == second
    qtbot.waitUntil(lambda: window.canvas.image_shape == lab.state.project.dataset.images[second].shape, timeout=5000)

    out = tmp_path / "export.json"
    with qtbot.waitSignal(lab.controllers.export.exported, timeout=10000):
        lab.controllers.export.export("coco_rle", out)
    coco = COCO(str(out))
    (ann,) = coco.loadAnns(coco.getAnnIds())
    assert np.array_equal(coco.annToMask(ann).astype(bool), chosen)
    assert coco.imgs[ann["image_id"]]["file_name"] == "img_0.png"
    assert window.message_bar.isVisible() and "Exported COCO" in window.message_bar.text
