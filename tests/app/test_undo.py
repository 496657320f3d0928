"""Undo and redo through the real window: a click, accept, brush, erase session
undone three times and redone three times exports exactly the masks it had."""
from __future__ import annotations

import pytest
from pycocotools.coco import COCO
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from tests.app.conftest import wait_ready
from tests.app.test_brush import drag_path
from tests.app.test_workflow import view_pos

# pycocotools' decode (behind annToMask) trips a numpy 2 deprecation; the app never calls it.
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy keyword")


def masks_of(dataset, image_id) -> dict[int, bytes]:
    return {a.id: a.mask.full_mask().tobytes() for a in dataset.annotations(image_id)}


def test_click_accept_brush_erase_undo3_redo3_export_gives_the_same_masks(qtbot, make_app, image_folder,
                                                                           tiny_checkpoint, tmp_path):
    app = make_app(image_folder, tiny_checkpoint)
    window, lab = app.window, app
    wait_ready(qtbot, app)
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=3000)
    canvas, dataset, image = window.canvas, lab.state.project.dataset, lab.state.image_id
    states = [masks_of(dataset, image)]

    # Click, then accept a non-empty candidate with Enter.
    qtbot.mouseClick(canvas.viewport(), Qt.LeftButton, pos=view_pos(canvas, 60.5, 50.5))
    qtbot.waitUntil(lambda: lab.state.prompts.candidates is not None, timeout=10000)
    candidates = lab.state.prompts.candidates
    if not lab.state.prompts.selected_mask().any():  # random weights may make an empty one
        lab.prompting.pick(next(r for r, i in enumerate(candidates.order) if candidates.mask(i).any()))
    click = list(lab.state.prompts.prompts)
    qtbot.keyClick(canvas, Qt.Key_Return)
    (annotation,) = dataset.annotations(image)
    states.append(masks_of(dataset, image))

    # Brush onto it (B), then erase from it (E): each stroke one step.
    lab.state.select(annotation.id)
    qtbot.keyClick(canvas, Qt.Key_B)
    drag_path(canvas, [(10, 100), (60, 105), (120, 110)])
    states.append(masks_of(dataset, image))
    qtbot.keyClick(canvas, Qt.Key_E)
    drag_path(canvas, [(30, 100), (90, 108)])
    states.append(masks_of(dataset, image))
    assert len({s.get(annotation.id) for s in states[1:]}) == 3  # each step changed the mask
    done = states[-1]

    qtbot.keyClick(canvas, Qt.Key_Z, Qt.ControlModifier)
    assert masks_of(dataset, image) == states[2]
    qtbot.keyClick(canvas, Qt.Key_Z, Qt.ControlModifier)
    assert masks_of(dataset, image) == states[1]
    qtbot.keyClick(canvas, Qt.Key_Z, Qt.ControlModifier)
    assert masks_of(dataset, image) == states[0] and lab.state.prompts.prompts == click  # the click is back
    assert window.actions["edit.redo"].text() == "Redo Accept mask"
    qtbot.keyClick(canvas, Qt.Key_Z, Qt.ControlModifier | Qt.ShiftModifier)
    assert masks_of(dataset, image) == states[1] and lab.state.prompts.prompts == []
    qtbot.keyClick(canvas, Qt.Key_Y, Qt.ControlModifier)
    assert masks_of(dataset, image) == states[2]
    qtbot.keyClick(canvas, Qt.Key_Z, Qt.ControlModifier | Qt.ShiftModifier)
    assert masks_of(dataset, image) == done  # bit for bit what the session made

    out = tmp_path / "export.json"
    with qtbot.waitSignal(lab.controllers.export.exported, timeout=10000):
        lab.controllers.export.export("coco_rle", out)
    coco = COCO(str(out))
    (ann,) = coco.loadAnns(coco.getAnnIds())
    assert coco.annToMask(ann).astype(bool).tobytes() == done[annotation.id]


def test_each_image_keeps_its_own_history_and_prompts(qtbot, make_app, image_folder):
    app = make_app(image_folder, None)  # no checkpoint: boxes make rectangle candidates
    window, lab = app.window, app
    qtbot.waitUntil(lambda: window.canvas.image_shape is not None and len(lab.state.project.image_ids()) == 3,
                    timeout=10000)
    dataset = lab.state.project.dataset
    first = lab.state.image_id
    lab.prompting.set_box(10, 10, 40, 30)
    accepted = lab.prompting.accept()
    lab.prompting.set_box(50, 50, 70, 70)  # a prompt left on the first image
    lab.navigation.go(1)
    second = lab.state.image_id
    assert lab.state.prompts.prompts == []
    window.actions["edit.undo"].trigger()  # the second image has nothing to undo
    assert [a.id for a in dataset.annotations(first)] == [accepted.id]
    lab.prompting.set_box(5, 5, 25, 25)
    lab.prompting.accept()
    window.actions["category.new"].trigger()  # categories are recorded on the current image's stack
    assert len(dataset.categories) == 2

    lab.navigation.go(-1)
    assert lab.state.prompts.box.tolist() == [50, 50, 70, 70]  # its prompt waited for it
    window.actions["edit.undo"].trigger()
    window.actions["edit.undo"].trigger()
    assert dataset.annotations(first) == [] and len(dataset.annotations(second)) == 1
    assert lab.state.prompts.box.tolist() == [10, 10, 40, 30]
    lab.navigation.go(1)
    window.actions["edit.undo"].trigger()  # the new category
    assert len(dataset.categories) == 1
    window.actions["edit.undo"].trigger()
    assert dataset.annotations(second) == [] and lab.state.prompts.box.tolist() == [5, 5, 25, 25]


def test_an_annotation_leaves_the_selection_however_it_is_removed(qtbot, make_app, image_folder):
    app = make_app(image_folder, None)
    window, lab = app.window, app
    qtbot.waitUntil(lambda: window.canvas.image_shape is not None, timeout=10000)
    lab.prompting.set_box(10, 10, 40, 30)
    first = lab.prompting.accept()
    lab.prompting.set_box(50, 50, 70, 70)
    second = lab.prompting.accept()
    lab.state.select(first.id)
    lab.controllers.annotations.delete(second.id)  # another one: the selection stays
    assert lab.state.selected == first.id and not window.canvas.outline_item.path().isEmpty()
    window.actions["edit.undo"].trigger()  # the delete
    lab.state.select(second.id)
    window.actions["edit.undo"].trigger()  # the second accept: removes the selected annotation
    assert lab.state.selected is None and window.canvas.outline_item.path().isEmpty()
    window.actions["edit.redo"].trigger()
    lab.state.select(second.id)
    window.actions["label.delete"].trigger()
    assert lab.state.selected is None and lab.state.project.dataset.annotations(lab.state.image_id) == [first]
