"""The polygon tool through the real window: G, clicks on the canvas, closing on the first
vertex or with Enter, Backspace, Esc, add/subtract with the selection, one undo step."""
from __future__ import annotations

from PySide6.QtCore import Qt

from app.model.polygon import rasterize
from tests.app.test_brush import image_point, open_zoomed_out
from tests.app.test_workflow import view_pos


def click_at(qtbot, canvas, x, y) -> tuple[float, float]:
    """A real left click at image point (x, y); returns the image point the click landed on."""
    pos = view_pos(canvas, x, y)
    qtbot.mouseClick(canvas.viewport(), Qt.LeftButton, pos=pos)
    return image_point(canvas, pos)


def test_polygon_clicks_close_on_the_first_vertex_into_one_undoable_annotation(qtbot, make_app, image_folder):
    app = open_zoomed_out(qtbot, make_app, image_folder)
    window, state, canvas = app.window, app.state, app.window.canvas
    dataset, layer = state.project.dataset, app.bound.polygon_layer
    assert canvas.factor > 3  # the display copy is shrunk: the mask must still be full resolution

    qtbot.keyClick(canvas, Qt.Key_G)
    assert state.tool == "polygon" and window.actions["tool.polygon"].isChecked()
    assert canvas.viewport().cursor().shape() == Qt.CrossCursor
    vertices = [click_at(qtbot, canvas, x, y) for x, y in [(20, 20), (130, 25), (120, 100), (150, 110)]]
    assert len(state.polygon) == 4 and len(layer.vertices.data) == 4
    qtbot.keyClick(canvas, Qt.Key_Backspace)  # the stray last vertex goes; no prompt is touched
    assert state.polygon == tuple(vertices[:3]) and len(layer.vertices.data) == 3
    assert layer.edges.path().elementCount() == 3
    click_at(qtbot, canvas, 131, 27)  # near the first vertex? no: near the second one, so a new vertex
    assert len(state.polygon) == 4
    qtbot.keyClick(canvas, Qt.Key_Backspace)
    vertices = vertices[:3]

    # A click a few screen pixels from the first vertex closes the polygon.
    first = view_pos(canvas, *vertices[0])
    qtbot.mouseClick(canvas.viewport(), Qt.LeftButton, pos=first + type(first)(3, -2))
    (annotation,) = dataset.annotations(state.image_id)
    assert annotation.mask == rasterize(vertices, (120, 160)) and annotation.mask.shape == (120, 160)
    assert annotation.provenance.source == "polygon" and state.polygon == () and len(layer.vertices.data) == 0
    assert window.annotations.tree.topLevelItem(0).text(4) == "polygon"
    assert "Polygon" in window.actions["edit.undo"].text()
    window.actions["edit.undo"].trigger()
    assert dataset.annotations(state.image_id) == []
    window.actions["edit.redo"].trigger()
    assert len(dataset.annotations(state.image_id)) == 1


def test_enter_closes_esc_cancels_and_x_subtracts_from_the_selection(qtbot, make_app, image_folder):
    app = open_zoomed_out(qtbot, make_app, image_folder)
    window, state, canvas = app.window, app.state, app.window.canvas
    dataset = state.project.dataset
    qtbot.keyClick(canvas, Qt.Key_G)
    for x, y in [(10, 10), (60, 10), (60, 60)]:
        click_at(qtbot, canvas, x, y)
    qtbot.keyClick(canvas, Qt.Key_Escape)
    assert state.polygon == () and dataset.annotations(state.image_id) == []

    big = [click_at(qtbot, canvas, x, y) for x, y in [(10, 10), (150, 10), (150, 110), (10, 110)]]
    qtbot.keyClick(canvas, Qt.Key_Return)
    (annotation,) = dataset.annotations(state.image_id)
    assert annotation.mask == rasterize(big, (120, 160))
    window.annotations.tree.topLevelItem(0).setSelected(True)  # select it in the list
    assert state.selected == annotation.id
    hole = [click_at(qtbot, canvas, x, y) for x, y in [(50, 40), (90, 40), (90, 80)]]
    qtbot.keyClick(canvas, Qt.Key_X)
    after = dataset.annotation(annotation.id).mask.full_mask()
    expected = rasterize(big, (120, 160)).full_mask() & ~rasterize(hole, (120, 160)).full_mask()
    assert (after == expected).all() and len(dataset.annotations(state.image_id)) == 1
    window.actions["edit.undo"].trigger()
    assert dataset.annotation(annotation.id).mask == rasterize(big, (120, 160))
    # With the selection, Enter adds the polygon to it instead of making a new annotation.
    for x, y in [(150, 100), (159, 100), (159, 119)]:
        click_at(qtbot, canvas, x, y)
    qtbot.keyClick(canvas, Qt.Key_Return)
    assert len(dataset.annotations(state.image_id)) == 1
    assert dataset.annotation(annotation.id).mask.area > rasterize(big, (120, 160)).area
    # Back to SAM prompts with P: Enter and Esc are theirs again.
    qtbot.keyClick(canvas, Qt.Key_P)
    assert state.tool == "prompt" and canvas.viewport().cursor().shape() == Qt.ArrowCursor
