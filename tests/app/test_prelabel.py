"""Segment everything in the app: a folder in the background, clicks answered meanwhile,
cancel, masks that skip annotations, one undo step per image, and the review."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from app.model import edits
from app.model import Annotation, Mask, Provenance
from app.services.sam.segment_everything import PrelabelParams
from tests.app.conftest import wait_ready
from tests.app.test_brush import drag_path
from tests.app.test_workflow import view_pos
from tests.test_automatic_mask_generator import blob_state_dict  # noqa: F401  (a fixture)

QUICK = PrelabelParams(points_per_side=2, points_per_batch=4, pred_iou_thresh=0.0, stability_score_thresh=0.0)
SLOW = PrelabelParams(points_per_side=16, points_per_batch=1, pred_iou_thresh=0.0, stability_score_thresh=0.0)


@pytest.fixture(scope="module")
def blob_checkpoint(tmp_path_factory, blob_state_dict):
    """Random weights whose decoder makes blobs rather than speckle, so the generator has masks to keep."""
    path = tmp_path_factory.mktemp("blob") / "sam_tiny_blobs.pth"
    torch.save(blob_state_dict, path)
    return path


def focus(qtbot, window) -> None:
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=3000)


def test_segment_everything_on_a_folder_then_review(qtbot, make_app, image_folder, blob_checkpoint):
    app = make_app(image_folder, blob_checkpoint)
    window, lab = app.window, app
    wait_ready(qtbot, app)
    focus(qtbot, window)
    dataset, canvas, review = lab.state.project.dataset, window.canvas, window.review
    qtbot.waitUntil(lambda: len(dataset.images) == 3, timeout=10000)
    first = lab.state.image_id
    # An annotation made by hand: the generator must leave it alone.
    hand = np.zeros((120, 160), bool)
    hand[20:70, 30:100] = True
    lab.history.push(edits.add_annotation(dataset, Annotation(dataset.new_annotation_id(), first, 1,
                                                              Mask.from_full(hand), Provenance(source="brush"))))

    lab.prelabel.params = QUICK
    progress = []
    lab.prelabel.progress.connect(lambda text, done, total: progress.append((text, done, total)))
    window.actions["auto.folder"].trigger()
    assert lab.prelabel.running and window.actions["auto.cancel"].isEnabled()
    qtbot.waitUntil(lambda: not lab.prelabel.running, timeout=60000)
    assert any(total > 0 and "image 3/3" in text for text, _, total in progress)
    assert not window.actions["auto.cancel"].isEnabled()

    for image_id in dataset.images:
        auto = [a for a in dataset.annotations(image_id) if a.provenance.source == "auto"]
        assert auto, f"no automatic masks on image {image_id}"
        for a in auto:
            assert a.provenance.predicted_iou is not None and len(a.provenance.points) == 1
            if image_id == first:  # none mostly on the hand-made annotation
                assert (a.mask.full_mask() & hand).sum() <= QUICK.covered_thresh * a.area

    # One undo step per image: on each image's own history, one undo takes all of its masks away.
    for image_id in list(dataset.images)[::-1]:
        lab.navigation.open_image(image_id)
        count = len([a for a in dataset.annotations(image_id) if a.provenance.source == "auto"])
        assert lab.history.undo_text == f"Segment everything: {count} mask{'s' * (count != 1)}"
        lab.controllers.undo.undo()
        assert all(a.provenance.source != "auto" for a in dataset.annotations(image_id))
        lab.controllers.undo.redo()
        assert len([a for a in dataset.annotations(image_id) if a.provenance.source == "auto"]) == count
    assert lab.state.image_id == first

    # Review on the first image: the panel lists them; accept them all (Ctrl+Return).
    pending = lab.prelabel.to_review()
    assert sorted(review.ids()) == sorted(a.id for a in pending) and str(len(pending)) in review.header.text()
    qtbot.keyClick(canvas, Qt.Key_Return, Qt.ControlModifier)
    assert lab.prelabel.to_review() == [] and review.ids() == []
    assert len(dataset.annotations(first)) == len(pending) + 1  # accepting keeps them
    assert all(dataset.annotation(a.id).provenance.reviewed for a in pending)  # saved with the project
    qtbot.keyClick(canvas, Qt.Key_Z, Qt.ControlModifier)  # accepting is one undo step
    assert sorted(review.ids()) == sorted(a.id for a in pending)
    qtbot.keyClick(canvas, Qt.Key_Z, Qt.ControlModifier | Qt.ShiftModifier)
    assert review.ids() == [] and lab.prelabel.to_review() == []

    # Second image: N selects the next one to review; Delete removes it; undo brings it back.
    lab.navigation.go(1)
    second = lab.state.image_id
    pending = lab.prelabel.to_review()
    items = [review.list.item(i) for i in range(review.list.count())]
    qtbot.keyClick(canvas, Qt.Key_N)
    chosen = lab.state.selected
    assert chosen in {a.id for a in pending} and review.list.currentItem().data(Qt.UserRole) == chosen
    assert [review.list.item(i) for i in range(review.list.count())] == items  # selected, not refilled
    qtbot.keyClick(canvas, Qt.Key_Delete)
    assert chosen not in {a.id for a in dataset.annotations(second)} and chosen not in review.ids()
    qtbot.keyClick(canvas, Qt.Key_Z, Qt.ControlModifier)
    assert chosen in review.ids()
    # Editing one with the eraser marks it edited: reviewed.
    review.list.setCurrentRow(0)
    edited = lab.state.selected
    mask = dataset.annotation(edited).mask
    rows, cols = np.nonzero(mask.crop)
    x, y = mask.origin[0] + cols[len(cols) // 2] + 0.5, mask.origin[1] + rows[len(rows) // 2] + 0.5
    qtbot.keyClick(canvas, Qt.Key_E)
    lab.brush.set_radius(1)
    drag_path(canvas, [(x, y), (x + 1, y)])
    assert dataset.annotation(edited).area < mask.area
    assert dataset.annotation(edited).provenance.edited and edited not in review.ids()
    # Delete the rest of this image's automatic masks in one step, and undo that.
    left = len(lab.prelabel.to_review())
    before = len(dataset.annotations(second))
    qtbot.keyClick(canvas, Qt.Key_Delete, Qt.ControlModifier)
    assert len(dataset.annotations(second)) == before - left and lab.prelabel.to_review() == []
    window.actions["edit.undo"].trigger()
    assert len(lab.prelabel.to_review()) == left


def test_clicks_are_answered_while_segmenting_and_cancel_stops_it(qtbot, make_app, image_folder, blob_checkpoint):
    app = make_app(image_folder, blob_checkpoint)
    window, lab = app.window, app
    wait_ready(qtbot, app)
    focus(qtbot, window)
    qtbot.waitUntil(lambda: len(lab.state.project.dataset.images) == 3, timeout=10000)
    lab.prelabel.params = SLOW  # 256 point batches per image
    finished = []
    app.worker.prelabel_finished.connect(lambda job, cancelled: finished.append(cancelled))
    window.actions["auto.folder"].trigger()
    qtbot.waitUntil(lambda: app.worker.isRunning() and lab.prelabel.running, timeout=5000)

    canvas = window.canvas
    qtbot.mouseClick(canvas.viewport(), Qt.LeftButton, pos=view_pos(canvas, 60.5, 50.5))
    qtbot.waitUntil(lambda: lab.state.prompts.candidates is not None, timeout=20000)
    assert lab.prelabel.running and finished == []  # answered between two batches of the job

    qtbot.keyClick(canvas, Qt.Key_G, Qt.ControlModifier | Qt.AltModifier)
    qtbot.waitUntil(lambda: finished == [True], timeout=20000)
    assert not lab.prelabel.running
    auto = [a for a in lab.state.project.dataset.annotations() if a.provenance.source == "auto"]
    assert len({a.image_id for a in auto}) < 3  # stopped before the folder was done


def test_results_give_way_to_annotations_made_meanwhile_and_in_no_overlap_mode(qtbot, make_app, image_folder):
    from app.services.sam.segment_everything import AutoMask

    app = make_app(image_folder, None)  # the worker's answer is emitted by hand: no model needed
    lab = app
    qtbot.waitUntil(lambda: app.window.canvas.image_shape is not None, timeout=10000)
    dataset, image = lab.state.project.dataset, lab.state.image_id

    def rect(x0, y0, x1, y1) -> Mask:
        full = np.zeros((120, 160), bool)
        full[y0:y1, x0:x1] = True
        return Mask.from_full(full)

    def auto(mask: Mask, iou: float) -> AutoMask:
        return AutoMask(mask, iou, 0.97, (1.0, 1.0), (0.0, 0.0, 160.0, 120.0))

    hand = rect(0, 0, 40, 40)  # annotated while the job ran
    lab.history.push(edits.add_annotation(dataset, Annotation(dataset.new_annotation_id(), image, 1, hand)))
    lab.brush.set_no_overlap(True)
    last_step = lab.history.undo_text
    masks = [auto(rect(0, 0, 30, 30), 0.99), auto(rect(30, 30, 80, 80), 0.95), auto(rect(60, 60, 100, 100), 0.9)]
    app.worker.prelabelled.emit(lab.prelabel._job - 1, image, masks)  # an older job's: dropped
    assert lab.history.undo_text == last_step and not any(a.provenance.source == "auto" for a in dataset.annotations(image))
    redraws = []
    canvas = app.window.canvas
    canvas.refresh_annotations = lambda boxes, real=canvas.refresh_annotations: (redraws.append(1), real(boxes))
    app.worker.prelabelled.emit(lab.prelabel._job, image, masks)
    assert len(redraws) == 1  # one redraw for the whole batch, once it is in
    added = [a for a in dataset.annotations(image) if a.provenance.source == "auto"]
    assert lab.history.undo_text == "Segment everything: 2 masks" and len(added) == 2  # the first lies on the annotation
    second, third = (a.mask.full_mask() for a in added)
    assert second.sum() == 50 * 50 - 10 * 10  # its corner on the annotation is cut away
    assert third.sum() == 40 * 40 - 20 * 20 and not (second & third).any()  # the better mask keeps the overlap
    assert np.array_equal(dataset.annotation(1).mask.full_mask(), hand.full_mask())  # annotations stay whole
