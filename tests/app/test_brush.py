"""Brush and eraser through the real window: keys, footprint, full-resolution strokes,
straight lines, one undo step per stroke, and the mask operations."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from app.ui.canvas import overlay
from app.model import Mask
from app.model.paint import Stroke
from tests.app.test_workflow import view_pos


def send_mouse(widget, kind, pos, button, buttons, modifiers=Qt.NoModifier) -> None:
    local = QPointF(pos)
    event = QMouseEvent(kind, local, widget.mapToGlobal(local), button, buttons, modifiers)
    QApplication.sendEvent(widget, event)


def drag_path(canvas, points, modifiers=Qt.NoModifier) -> list[QPoint]:
    """A real left-button drag through image points [(x, y), ...]; returns the widget positions.
    Moves are 12 ms apart: pyqtgraph drops mouse moves faster than 100 per second."""
    viewport = canvas.viewport()
    positions = [view_pos(canvas, x, y) for x, y in points]
    send_mouse(viewport, QEvent.MouseButtonPress, positions[0], Qt.LeftButton, Qt.LeftButton, modifiers)
    for pos in positions[1:]:
        QTest.qWait(12)
        send_mouse(viewport, QEvent.MouseMove, pos, Qt.NoButton, Qt.LeftButton, modifiers)
    send_mouse(viewport, QEvent.MouseButtonRelease, positions[-1], Qt.LeftButton, Qt.NoButton, modifiers)
    return positions


def image_point(canvas, pos: QPoint) -> tuple[float, float]:
    """The original-frame point under widget position ``pos`` (what the view box emits)."""
    p = canvas.view_box.mapSceneToView(canvas.mapToScene(pos))
    return p.x(), p.y()


def open_zoomed_out(qtbot, make_app, image_folder, max_display_side: int = 50):
    """The app with a display copy smaller than the image, as for a big photo."""
    app = make_app(None, None)
    app.services.loader.max_display_side = max_display_side
    app.navigation.open_folder(image_folder)
    qtbot.waitUntil(lambda: app.window.canvas.image_shape is not None, timeout=10000)
    app.window.activateWindow()
    app.window.canvas.setFocus()
    return app


def test_brush_paints_at_full_resolution_with_footprint_and_one_undo_step(qtbot, make_app, image_folder):
    app = open_zoomed_out(qtbot, make_app, image_folder)
    window, lab, canvas = app.window, app, app.window.canvas
    dataset = lab.state.project.dataset
    assert canvas.factor > 3 and canvas.image_shape == (120, 160)  # display 38x50, image 120x160

    qtbot.keyClick(canvas, Qt.Key_B)
    assert lab.state.tool == "brush" and window.actions["tool.brush"].isChecked()
    qtbot.keyClick(canvas, Qt.Key_BracketRight)
    qtbot.keyClick(canvas, Qt.Key_BracketLeft)
    qtbot.keyClick(canvas, Qt.Key_BracketLeft)
    assert lab.state.radius == 6.0 and window.tool_options.radius.value() == 6.0  # 8 -> 10 -> 8 -> 6
    # The footprint: a circle of the brush's radius in image pixels, under the cursor.
    hover = view_pos(canvas, 80, 60)
    send_mouse(canvas.viewport(), QEvent.MouseMove, hover, Qt.NoButton, Qt.NoButton)
    rect = canvas.footprint.rect()
    assert canvas.footprint.isVisible() and abs(rect.width() - 12) < 1e-6
    cx, cy = image_point(canvas, hover)
    assert abs(rect.center().x() - cx) < 1e-6 and abs(rect.center().y() - cy) < 1e-6

    # Nothing selected: a stroke starts a new annotation, painted at full resolution.
    positions = drag_path(canvas, [(20, 30), (60, 32), (100, 35), (140, 40)])
    (annotation,) = dataset.annotations(lab.state.image_id)
    assert annotation.provenance.source == "brush" and lab.state.selected == annotation.id
    expected = Stroke(Mask.empty(120, 160), 6.0)
    points = [image_point(canvas, positions[0])] + [image_point(canvas, p) for p in positions[1:]]
    for x, y in [points[0]] + points:  # press, then the drag's start and moves (pyqtgraph repeats the start)
        expected.add_point(x, y)
    assert annotation.mask == expected.after()
    column = annotation.mask.full_mask()[:, 60]
    assert column.sum() in (11, 12)  # a 12-pixel-wide stroke, not a blob of 3-pixel display steps
    # The whole stroke is one step: one undo removes it all, one redo brings it back whole.
    assert lab.history.undo_text == "Paint new annotation"
    lab.controllers.undo.undo()
    assert dataset.annotations(lab.state.image_id) == [] and lab.history.redo_text == "Paint new annotation"
    lab.controllers.undo.redo()
    assert dataset.annotations(lab.state.image_id) == [annotation]
    lab.state.select(annotation.id)

    # Shift-drag: a straight line from where the drag began, whatever the path.
    before = annotation.mask
    positions = drag_path(canvas, [(20, 90), (60, 110), (90, 70), (140, 90)], Qt.ShiftModifier)
    straight = Stroke(before, 6.0)
    straight.add_point(*image_point(canvas, positions[0]))
    straight.line_to(*image_point(canvas, positions[-1]))
    after = dataset.annotation(annotation.id).mask
    assert after == straight.after() and not after.full_mask()[110, 60]

    # The eraser cuts a hole; the stroke's preview is gone once it ends.
    qtbot.keyClick(canvas, Qt.Key_E)
    drag_path(canvas, [(60, 32), (61, 32)])
    holed = dataset.annotation(annotation.id).mask.full_mask()
    assert not holed[32, 60] and holed[32, 40] and holed[90, 60]
    assert canvas.stroke_item.image is None and lab.state.stroke is None
    overlay = canvas.annotation_image()
    assert overlay.shape[:2] == (38, 50) and overlay[int(90 / canvas.factor), int(60 / canvas.factor), 3] > 0

    for _ in range(3):
        window.actions["edit.undo"].trigger()
    assert dataset.annotations(lab.state.image_id) == []
    for _ in range(3):
        window.actions["edit.redo"].trigger()
    assert np.array_equal(dataset.annotation(annotation.id).mask.full_mask(), holed)

    # Back to prompts: a click is a SAM point again, not paint.
    qtbot.keyClick(canvas, Qt.Key_P)
    assert lab.state.tool == "prompt" and not canvas.footprint.isVisible()


def test_mask_operations_on_the_selected_annotation(qtbot, make_app, image_folder):
    app = open_zoomed_out(qtbot, make_app, image_folder, max_display_side=4096)
    window, lab = app.window, app
    dataset = lab.state.project.dataset
    lab.prompting.set_box(10, 10, 50, 40)  # no checkpoint: a box is a rectangle candidate
    first = lab.prompting.accept()
    lab.state.select(first.id)
    lab.prompting.set_box(40, 20, 80, 60)
    window.actions["mask.add_candidate"].trigger()
    union = np.zeros((120, 160), bool)
    union[10:40, 10:50] = True
    union[20:60, 40:80] = True
    assert np.array_equal(dataset.annotation(first.id).mask.full_mask(), union)
    assert lab.state.prompts.prompts == []  # used up, in the same undo step
    lab.prompting.set_box(20, 15, 30, 25)
    window.actions["mask.subtract_candidate"].trigger()
    holed = union.copy()
    holed[15:25, 20:30] = False
    assert np.array_equal(dataset.annotation(first.id).mask.full_mask(), holed)

    lab.brush.set_tool("brush")
    lab.brush.set_radius(1)
    lab.brush.begin_stroke(100.5, 100.5)  # a speck far from the rest: a second part
    lab.brush.end_stroke()
    assert dataset.annotation(first.id).mask.full_mask()[100, 100]
    window.tool_options.speck_area.setValue(10)
    assert lab.state.speck_area == 10
    window.actions["mask.remove_specks"].trigger()
    window.actions["mask.fill_holes"].trigger()
    assert np.array_equal(dataset.annotation(first.id).mask.full_mask(), union)
    assert dataset.annotation(first.id).provenance.edited

    # No overlap: a new mask takes its pixels from the first.
    window.actions["mask.no_overlap"].trigger()
    assert lab.state.no_overlap
    lab.state.select(-1)
    lab.prompting.set_box(0, 0, 30, 30)
    second = lab.prompting.accept()
    a, b = (dataset.annotation(i).mask.full_mask() for i in (first.id, second.id))
    assert not (a & b).any() and b.sum() == 900 and a.sum() == union.sum() - (union[:30, :30]).sum()
    window.actions["edit.undo"].trigger()
    assert np.array_equal(dataset.annotation(first.id).mask.full_mask(), union)


def test_erasing_every_pixel_deletes_the_annotation_in_one_undoable_step(qtbot, make_app, image_folder):
    app = open_zoomed_out(qtbot, make_app, image_folder, max_display_side=4096)
    lab = app
    dataset = lab.state.project.dataset
    lab.prompting.set_box(10, 10, 20, 20)
    small = lab.prompting.accept()
    lab.state.select(small.id)
    lab.brush.set_tool("eraser")
    lab.brush.set_radius(12)
    lab.brush.begin_stroke(15, 15)
    lab.brush.end_stroke()
    assert dataset.annotations(lab.state.image_id) == [] and lab.state.selected is None
    app.window.actions["edit.undo"].trigger()
    assert dataset.annotation(small.id) is small


def placed(preview, shape) -> np.ndarray:
    """The preview's RGBA image placed in a display frame of ``shape`` (h, w)."""
    out = np.zeros((*shape, 4), np.uint8)
    (ox, oy), (h, w) = preview.origin, preview.rgba.shape[:2]
    out[oy : oy + h, ox : ox + w] = preview.rgba
    return out


@pytest.mark.parametrize("factor", [1.0, 2.5])
def test_the_stroke_preview_redraws_only_each_moves_box_and_matches_a_whole_redraw(factor):
    height, width = 300, 400
    before = np.zeros((height, width), bool)
    before[20:280, 30:370] = True  # a big annotation: a move must not redraw all of it
    shape = overlay.display_shape((height, width), factor)
    for erase in (False, True):
        stroke = Stroke(Mask.from_full(before), radius=4, erase=erase)
        stroke.add_point(10.0, 10.0)
        preview = overlay.StrokePreview(stroke, (10, 200, 30), factor, shape)
        for i in range(1, 40):
            stroke.add_point(10.0 + 9 * i, 10.0 + 7 * i)
            x, y, w, h = stroke.take_changed()
            assert w <= 18 and h <= 16  # the newest segment only (radius 4, a 9x7 step)
            preview.update((x, y, w, h))
        stroke.line_to(395.0, 150.0)  # Shift-drag: the old path's pixels change back too
        preview.update(stroke.take_changed())
        assert stroke.take_changed() is None
        whole = overlay.StrokePreview(stroke, (10, 200, 30), factor, shape)
        shown = placed(preview, shape)
        assert np.array_equal(shown, placed(whole, shape))
        # Each display pixel shows the original pixel under its centre.
        f = max(factor, 1.0)
        rows = np.minimum(((np.arange(shape[0]) + 0.5) * f).astype(int), height - 1)
        cols = np.minimum(((np.arange(shape[1]) + 0.5) * f).astype(int), width - 1)
        expected = stroke.after().full_mask()[np.ix_(rows, cols)]
        assert np.array_equal(shown[..., 3] > 0, expected)
        assert (shown[expected] == (10, 200, 30, overlay.FILL_ALPHA)).all()


def test_brush_moves_over_a_big_annotation_redraw_small_boxes_and_its_overlay_once(
        qtbot, make_app, image_folder, monkeypatch):
    app = open_zoomed_out(qtbot, make_app, image_folder, max_display_side=4096)
    lab, canvas = app, app.window.canvas
    lab.prompting.set_box(5, 5, 155, 115)
    big = lab.prompting.accept()
    lab.state.select(big.id)
    lab.brush.set_tool("brush")
    lab.brush.set_radius(3)
    boxes, overlays = [], []
    update = overlay.StrokePreview.update
    monkeypatch.setattr(overlay.StrokePreview, "update", lambda self, box: (boxes.append(box), update(self, box)))
    refresh = canvas.refresh_annotations  # called once per change, after the overlay changed in place
    monkeypatch.setattr(canvas, "refresh_annotations",
                        lambda boxes: (overlays.append(canvas.annotation_image().copy()), refresh(boxes)))
    drag_path(canvas, [(20, 30), (30, 32), (40, 35), (50, 40), (58, 118)])
    first, *moves = boxes
    assert first[2] * first[3] >= 150 * 110  # the stroke's start draws the whole annotation once
    assert len(moves) >= 3 and all(w * h <= 20 * 20 for _, _, w, h in moves[:3])
    # Hidden while painted, shown again once when the stroke lands (not hidden first, then shown).
    hidden, shown = overlays
    assert not hidden[..., 3].any() and shown[118, 58, 3] > 0
    assert canvas.stroke_item.image is None


def test_no_overlap_a_brush_stroke_takes_pixels_from_the_others_and_undo_gives_them_back(
        qtbot, make_app, image_folder):
    app = open_zoomed_out(qtbot, make_app, image_folder, max_display_side=4096)
    window, lab = app.window, app
    dataset = lab.state.project.dataset
    lab.prompting.set_box(10, 10, 50, 40)
    edited = lab.prompting.accept()
    lab.prompting.set_box(60, 10, 100, 40)
    other = lab.prompting.accept()
    before = {i: dataset.annotation(i).mask.full_mask() for i in (edited.id, other.id)}
    window.actions["mask.no_overlap"].trigger()
    lab.state.select(edited.id)
    lab.brush.set_tool("brush")
    lab.brush.set_radius(4)
    expected = Stroke(dataset.annotation(edited.id).mask, 4)
    for x, y in [(30.5, 25.5), (80.5, 25.5)]:
        expected.add_point(x, y)
    lab.brush.begin_stroke(30.5, 25.5)
    lab.brush.extend_stroke(80.5, 25.5)
    lab.brush.end_stroke()
    a, b = (dataset.annotation(i).mask.full_mask() for i in (edited.id, other.id))
    painted = expected.after().full_mask()
    assert np.array_equal(a, painted) and not (a & b).any()
    assert np.array_equal(b, before[other.id] & ~painted) and b.sum() < before[other.id].sum()
    window.actions["edit.undo"].trigger()  # one step: both masks back, bit for bit
    for i in (edited.id, other.id):
        assert np.array_equal(dataset.annotation(i).mask.full_mask(), before[i])
    window.actions["edit.redo"].trigger()
    assert np.array_equal(dataset.annotation(other.id).mask.full_mask(), b)
