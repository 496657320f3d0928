"""Zoom to an annotation in the real window: a double-click on its row, or Z for the selected one."""
from __future__ import annotations

from PySide6.QtCore import QRectF, Qt
from PySide6.QtWidgets import QAbstractItemView

from tests.app.conftest import in_front


def shown_rect(canvas) -> QRectF:
    """What the canvas shows, XYWH in the original frame."""
    return canvas.view_box.viewRect()


def frames(canvas, box, wider_than: float) -> bool:
    """The canvas shows all of ``box`` (XYWH) and is zoomed in: narrower than ``wider_than``."""
    rect = shown_rect(canvas)
    return rect.contains(QRectF(*box)) and rect.width() < wider_than


def test_double_click_selects_and_zooms_and_z_zooms_to_the_selected_one(qtbot, make_app, image_folder):
    app = make_app(image_folder, None)  # no checkpoint: boxes make rectangle annotations
    window, canvas, tree = app.window, app.window.canvas, app.window.annotations.tree
    qtbot.waitUntil(lambda: canvas.image_shape is not None and app.state.view is not None, timeout=10000)
    app.prompting.set_box(10, 10, 40, 30)
    first = app.prompting.accept()
    app.prompting.set_box(110, 80, 130, 100)
    second = app.prompting.accept()
    app.state.select(None)
    fitted = shown_rect(canvas).width()
    assert not frames(canvas, second.bbox, 0.7 * fitted)

    window.docks["Annotations"].raise_()  # it may be tabbed behind another panel
    qtbot.waitUntil(lambda: in_front(window.docks["Annotations"]), timeout=3000)
    row = tree.topLevelItem(1)
    assert row.data(0, Qt.UserRole) == second.id
    # The category name's cell, where an editor would open (the row's whole rect is wider
    # than the panel: its centre lies outside the viewport).
    centre = tree.visualRect(tree.indexFromItem(row, 1)).center()
    assert tree.viewport().rect().contains(centre)
    # A real double-click is press, release, press, double-click, release; QTest's sends the
    # double-click event alone, which a view takes for a press, so the first click goes first.
    qtbot.mouseClick(tree.viewport(), Qt.LeftButton, pos=centre)
    assert app.state.selected == second.id and not frames(canvas, second.bbox, 0.7 * fitted)  # a click only selects
    qtbot.mouseDClick(tree.viewport(), Qt.LeftButton, pos=centre)
    assert app.state.selected == second.id and row.isSelected()
    qtbot.waitUntil(lambda: frames(canvas, second.bbox, 0.7 * fitted), timeout=3000)
    assert tree.state() != QAbstractItemView.EditingState  # a double-click zooms; it never edits
    assert app.state.view is not None and QRectF(*app.state.view).contains(QRectF(*second.bbox))

    # The keyboard route: select the other one, fit, then Z frames it.
    tree.setCurrentItem(tree.topLevelItem(0))
    assert app.state.selected == first.id
    window.actions["view.fit"].trigger()
    assert not frames(canvas, first.bbox, 0.7 * fitted)
    assert window.actions["view.zoom_selected"].shortcut().toString() == "Z"
    canvas.setFocus()
    qtbot.keyClick(canvas, Qt.Key_Z)
    qtbot.waitUntil(lambda: frames(canvas, first.bbox, 0.7 * fitted), timeout=3000)

    # Nothing selected: Z leaves the view alone.
    app.state.select(None)
    window.actions["view.fit"].trigger()
    before = shown_rect(canvas)
    qtbot.keyClick(canvas, Qt.Key_Z)
    qtbot.wait(50)
    assert shown_rect(canvas) == before
