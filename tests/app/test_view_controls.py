"""View controls in the real window: opacity (slider and keys), hide all, outlines only,
colour by instance. The view options change, and the canvas shows it, read off its pixels."""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt

from app.ui.canvas import overlay
from tests.app.test_dense_canvas import expected_overlay
from tests.app.test_workflow import view_pos


def on_screen(canvas, x: int, y: int) -> np.ndarray:
    """The RGB the canvas paints at the centre of image pixel (x, y)."""
    color = canvas.viewport().grab().toImage().pixelColor(view_pos(canvas, x + 0.5, y + 0.5))
    return np.array([color.red(), color.green(), color.blue()], dtype=float)


def test_opacity_hide_all_outlines_and_colour_by_instance(qtbot, make_app, image_folder):
    app = make_app(image_folder, None)  # no checkpoint: boxes make rectangle annotations
    window, state = app.window, app.state
    canvas, view, actions = window.canvas, state.view_options, window.actions
    qtbot.waitUntil(lambda: canvas.image_shape is not None, timeout=10000)
    window.resize(1200, 800)
    canvas.fit()
    app.prompting.set_box(10, 10, 60, 50)
    first = app.prompting.accept()
    actions["category.new"].trigger()
    app.prompting.set_box(40, 30, 100, 80)
    second = app.prompting.accept()
    dataset = state.project.dataset
    image = state.shown.display.astype(float)
    red, green = (np.array(dataset.categories[n].color, dtype=float) for n in (1, 2))
    qtbot.waitExposed(window)

    # The slider sets the opacity; the canvas mixes the category colour with the image by it.
    window.view_controls.opacity.setValue(100)
    assert view.opacity == 1.0 and window.view_controls.percent.text() == "100%"
    assert np.abs(on_screen(canvas, 20, 20) - red).max() <= 3
    assert np.abs(on_screen(canvas, 50, 40) - green).max() <= 3  # the later one is on top
    for _ in range(5):
        qtbot.keyClick(canvas, Qt.Key_BracketLeft, Qt.ControlModifier)
    assert view.opacity == 0.5 and window.view_controls.opacity.value() == 50
    assert np.abs(on_screen(canvas, 20, 20) - (0.5 * red + 0.5 * image[20, 20])).max() <= 6
    qtbot.keyClick(canvas, Qt.Key_BracketRight, Qt.ControlModifier)
    assert view.opacity == 0.6 and window.view_controls.opacity.value() == 60
    window.view_controls.opacity.setValue(100)

    # Ctrl+H hides every annotation (the document keeps them), and shows them again.
    qtbot.keyClick(canvas, Qt.Key_H, Qt.ControlModifier)
    assert view.hide_all and actions["view.hide_all"].isChecked() and len(dataset.annotations(state.image_id)) == 2
    assert np.abs(on_screen(canvas, 20, 20) - image[20, 20]).max() <= 3
    qtbot.keyClick(canvas, Qt.Key_H, Qt.ControlModifier)
    assert not view.hide_all and np.abs(on_screen(canvas, 20, 20) - red).max() <= 3

    # Outlines only: borders stay, insides show the image; an accept meanwhile is outlined too.
    actions["view.outline_only"].trigger()
    assert view.outline_only
    assert np.array_equal(canvas.annotation_image(), expected_overlay(app, state.image_id))
    assert canvas.annotation_image()[20, 20, 3] == 0 and canvas.annotation_image()[20, 10, 3] == 255
    assert np.abs(on_screen(canvas, 20, 20) - image[20, 20]).max() <= 3
    assert np.abs(on_screen(canvas, 10, 20) - red).max() <= 3
    app.prompting.set_box(110, 85, 150, 115)
    third = app.prompting.accept()
    assert np.array_equal(canvas.annotation_image(), expected_overlay(app, state.image_id))
    assert canvas.annotation_image()[100, 130, 3] == 0 and canvas.annotation_image()[85, 130, 3] == 255
    actions["view.outline_only"].trigger()
    assert not view.outline_only and canvas.annotation_image()[100, 130, 3] == 255

    # Colour by instance: each annotation its own colour, the same whatever its category.
    qtbot.keyClick(canvas, Qt.Key_K, Qt.ControlModifier)
    assert view.color_by == "instance" and actions["view.color_by_instance"].isChecked()
    shown = canvas.annotation_image()
    for annotation, x, y in ((first, 20, 20), (second, 70, 60), (third, 130, 100)):
        assert shown[y, x, :3].tolist() == list(overlay.instance_color(annotation.id))
    assert np.abs(on_screen(canvas, 70, 60) - overlay.instance_color(second.id)).max() <= 3
    assert np.array_equal(shown, expected_overlay(app, state.image_id))
    qtbot.keyClick(canvas, Qt.Key_K, Qt.ControlModifier)
    assert view.color_by == "category" and canvas.annotation_image()[20, 20, :3].tolist() == red.tolist()


def test_view_options_return_in_the_next_session_but_hide_all_does_not(qtbot, make_app, image_folder):
    first = make_app(image_folder, None)
    view = first.state.view_options
    view.set_opacity(0.8)
    view.set_outline_only(True)
    view.set_color_by("instance")
    view.set_hide_all(True)
    first.window.close()
    again = make_app(image_folder, None)
    restored, actions = again.state.view_options, again.window.actions
    assert (restored.opacity, restored.outline_only, restored.color_by, restored.hide_all) == (0.8, True, "instance",
                                                                                                False)
    assert actions["view.outline_only"].isChecked() and actions["view.color_by_instance"].isChecked()
    assert not actions["view.hide_all"].isChecked()
