"""Panels reflect the document: categories, annotation list, visibility, delete."""
from __future__ import annotations

from PySide6.QtCore import Qt

from tests.app.conftest import listed_ids
from tests.app.test_workflow import view_pos


def test_categories_and_annotation_list(qtbot, make_app, image_folder):
    app = make_app(image_folder, None)  # no checkpoint: boxes make rectangle annotations
    window, lab = app.window, app
    qtbot.waitUntil(lambda: window.canvas.image_shape is not None, timeout=10000)
    dataset = lab.state.project.dataset
    canvas = window.canvas

    lab.prompting.set_box(10, 10, 40, 30)
    first = lab.prompting.accept()
    lab.prompting.set_box(50, 40, 90, 80)
    second = lab.prompting.accept()
    assert listed_ids(window.annotations) == [first.id, second.id]
    tree = window.annotations.tree
    assert tree.topLevelItem(0).text(1) == "object" and tree.topLevelItem(0).text(2) == str(30 * 20)
    assert tree.topLevelItem(0).text(3) == "—"

    window.actions["category.new"].trigger()
    assert len(dataset.categories) == 2 and lab.state.current_category == 2
    assert window.categories.list.count() == 2
    item = window.categories.list.item(1)
    item.setText("car")  # what an inline rename does
    assert dataset.categories[2].name == "car"
    events = []
    dataset.events.connect(events.append)
    window.categories.list.item(1).setText("  ")  # an empty name is refused: no document change
    assert events == [] and dataset.categories[2].name == "car" and window.categories.list.item(1).text() == "car"
    dataset.events.disconnect(events.append)
    old_color = dataset.categories[2].color
    window.categories.recolor_requested.emit(2, (0, 0, 255))
    assert dataset.categories[2].color == (0, 0, 255)
    window.actions["edit.undo"].trigger()  # a recolour is one undo step
    assert dataset.categories[2].color == old_color != (0, 0, 255)
    window.actions["edit.redo"].trigger()
    assert dataset.categories[2].color == (0, 0, 255)

    # Select the first annotation in the list, then Ctrl+2 gives it category 2.
    tree.setCurrentItem(tree.topLevelItem(0))
    assert lab.state.selected == first.id
    assert not canvas.outline_item.path().isEmpty()
    window.actions["category.2"].trigger()
    assert dataset.annotation(first.id).category_id == 2
    assert window.annotations.tree.topLevelItem(0).text(1) == "car"
    overlay = canvas.annotation_image()
    assert overlay[20, 20].tolist()[:3] == [0, 0, 255] and overlay[20, 20, 3] > 0

    # Hide the second one: its pixels leave the overlay; then delete it.
    window.annotations.tree.topLevelItem(1).setCheckState(0, Qt.Unchecked)
    assert second.id in lab.state.hidden and canvas.annotation_image()[60, 70, 3] == 0
    tree.setCurrentItem(tree.topLevelItem(1))
    window.actions["label.delete"].trigger()
    assert [a.id for a in dataset.annotations(lab.state.image_id)] == [first.id]
    assert listed_ids(window.annotations) == [first.id]

    # Undo brings the deleted annotation back in its place; redo deletes it again.
    window.actions["edit.undo"].trigger()
    assert [a.id for a in dataset.annotations(lab.state.image_id)] == [first.id, second.id]
    window.actions["edit.redo"].trigger()
    assert [a.id for a in dataset.annotations(lab.state.image_id)] == [first.id]

    # The image list follows: count and done status.
    assert window.image_list.text_of(lab.state.image_id).endswith("\n1 annotation")
    window.actions["label.done"].trigger()
    assert window.image_list.text_of(lab.state.image_id).endswith("\n✓ 1 annotation")
    # Clicking an image in the list opens it.
    other = lab.state.project.image_ids()[2]
    qtbot.waitUntil(lambda: window.image_list.count() == 3, timeout=10000)
    window.image_list.image_requested.emit(other)
    assert lab.state.image_id == other
    assert view_pos(canvas, 0, 0) is not None
