"""Dense images: the canvas and the list change only where a change lands, and show exactly
what a whole-image recompose would (the reference, :func:`overlay.compose`)."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

from app.bench.dense_project import DENSE_NAME, dense_annotations, write_dense_project
from app.ui.canvas import overlay
from app.ui.canvas.annotation_layer import AnnotationLayer
from app.ui.canvas.tiles import TILE
from tests.app.conftest import listed_ids

H, W = 700, 1100  # the dense image of the window tests; two by three tiles at factor 1


@pytest.mark.parametrize("factor", [1.0, 2.3])
def test_the_layer_matches_a_whole_image_recompose_after_every_change(factor):
    shape = overlay.display_shape((H, W), factor)
    annotations = dense_annotations(60, H, W, seed=5, max_side=260)
    order = {a.id: n for n, a in enumerate(annotations)}
    palette = {1: (230, 60, 60), 2: (60, 200, 90), 3: (70, 110, 240)}
    colors = {a.id: palette[a.category_id] for a in annotations}
    layer = AnnotationLayer(shape, factor, order.__getitem__)
    layer.add_all((a, colors[a.id]) for a in annotations[:40])
    shown = {a.id: a for a in annotations[:40]}
    rng = np.random.default_rng(1)
    outline = 0

    def check(boxes_needed: bool) -> None:
        before = layer.rgba.copy()
        boxes = layer.flush()
        expected = overlay.compose(sorted(shown.values(), key=lambda a: order[a.id]), lambda a: colors[a.id],
                                   shape, factor, alpha=255, outline=outline)
        assert np.array_equal(layer.rgba, expected)
        changed = np.any(before != layer.rgba, axis=2)
        covered = np.zeros(shape, dtype=bool)
        for x0, y0, x1, y1 in boxes:
            covered[y0:y1, x0:x1] = True
        assert not (changed & ~covered).any()  # every changed pixel is in a box sent to the canvas
        if boxes_needed:
            assert boxes

    check(True)
    for step in range(40):
        kind = rng.integers(5)
        if kind == 0 and len(shown) < len(annotations):  # add (or show again)
            annotation = annotations[int(rng.choice([i for i in range(60) if annotations[i].id not in shown]))]
            shown[annotation.id] = annotation
            layer.add(annotation, colors[annotation.id])
        elif kind == 1 and shown:  # remove (delete, hide)
            victim = int(rng.choice(list(shown)))
            del shown[victim]
            layer.remove(victim)
        elif kind == 2 and shown:  # a new mask for one: another annotation's shape
            target = int(rng.choice(list(shown)))
            moved = shown[target].with_mask(annotations[int(rng.integers(60))].mask)
            shown[target] = moved
            layer.update(moved, colors[target])
        elif kind == 3:  # colour by instance, then back
            colors = {i: overlay.instance_color(i) if step % 2 else palette[annotations[order[i]].category_id]
                      for i in colors}
            layer.recolor(colors.__getitem__)
        else:
            outline = 0 if outline else 2
            layer.set_outline(outline)
        check(False)
    assert len(layer) == len(shown) and all(i in layer for i in shown)


def expected_overlay(app, image_id):
    """What the canvas must show: every visible annotation of the image, composed from scratch."""
    dataset, state, canvas = app.state.project.dataset, app.state, app.window.canvas
    shown = [a for a in dataset.annotations(image_id) if a.id not in state.hidden]
    color_of = (lambda a: overlay.instance_color(a.id)) if state.view_options.color_by == "instance" \
        else (lambda a: dataset.categories[a.category_id].color)
    shape = overlay.display_shape(canvas.image_shape, canvas.factor)
    width = overlay.outline_width(shape) if state.view_options.outline_only else 0
    return overlay.compose(shown, color_of, shape, canvas.factor, alpha=255, outline=width)


@pytest.fixture
def dense_app(qtbot, make_app, tmp_path):
    folder = write_dense_project(tmp_path / "dense", 150, height=H, width=W, seed=2)
    app = make_app(folder, None)  # no checkpoint: a box gives a rectangle candidate
    qtbot.waitUntil(lambda: app.state.shown is not None and app.window.canvas.image_shape is not None, timeout=20000)
    assert app.state.project.dataset.images[app.state.image_id].file_name == DENSE_NAME
    return app


def test_accept_undo_delete_hide_and_reopen_draw_the_right_pixels_and_touch_only_their_tiles(qtbot, dense_app):
    app, window = dense_app, dense_app.window
    canvas, tree, dataset, image = window.canvas, window.annotations.tree, app.state.project.dataset, app.state.image_id
    assert np.array_equal(canvas.annotation_image(), expected_overlay(app, image))
    assert listed_ids(window.annotations) == dataset.annotation_ids(image) and len(dataset.annotation_ids(image)) == 150
    rows = {tree.topLevelItem(i).data(0, Qt.UserRole): tree.topLevelItem(i) for i in range(tree.topLevelItemCount())}

    def tiles_sent(action):
        before = canvas.annotations.uploads
        result = action()
        assert np.array_equal(canvas.annotation_image(), expected_overlay(app, image))
        assert listed_ids(window.annotations) == dataset.annotation_ids(image)
        return canvas.annotations.uploads - before, result

    app.prompting.set_box(20, 30, 80, 70)  # inside the first tile
    sent, accepted = tiles_sent(app.prompting.accept)
    assert sent == 1 and canvas.annotation_image()[50, 50, :3].tolist() == list(dataset.categories[1].color)
    assert listed_ids(window.annotations)[-1] == accepted.id
    sent, _ = tiles_sent(window.actions["edit.undo"].trigger)
    assert sent == 1 and accepted.id not in dataset.annotation_ids(image)
    sent, _ = tiles_sent(window.actions["edit.redo"].trigger)
    assert sent == 1 and accepted.id in dataset.annotation_ids(image)

    victim = dataset.annotation_ids(image)[70]
    box = dataset.annotation(victim).mask.bbox
    touched = len({(int(y) // TILE, int(x) // TILE) for x in (box[0], box[0] + box[2] - 1)
                   for y in (box[1], box[1] + box[3] - 1)})
    app.state.select(victim)
    sent, _ = tiles_sent(window.actions["label.delete"].trigger)
    assert sent == touched and victim not in dataset.annotation_ids(image)
    sent, _ = tiles_sent(window.actions["edit.undo"].trigger)  # back in its place, under the later ones
    assert sent == touched and dataset.annotation_index(victim) == 70

    hidden = dataset.annotation_ids(image)[10]
    rows[hidden].setCheckState(0, Qt.Unchecked)  # what the list's check box does
    assert hidden in app.state.hidden
    assert np.array_equal(canvas.annotation_image(), expected_overlay(app, image))
    rows[hidden].setCheckState(0, Qt.Checked)
    assert np.array_equal(canvas.annotation_image(), expected_overlay(app, image))
    # The list was patched, never refilled: the untouched rows are the very same items.
    assert all(tree.topLevelItem(dataset.annotation_index(i)) is item for i, item in rows.items() if i != victim)

    layer = app.window.canvas.annotations.source
    app.navigation.go(1)
    qtbot.waitUntil(lambda: app.state.shown is not None and app.state.image_id != image, timeout=20000)
    assert listed_ids(window.annotations) == dataset.annotation_ids(app.state.image_id) == []
    deleted_away = dataset.annotation_ids(image)[5]  # changed while not shown (what segment everything does)
    dataset.remove_annotation(deleted_away)
    before = canvas.annotations.uploads
    app.navigation.go(-1)
    qtbot.waitUntil(lambda: app.state.shown is not None and app.state.image_id == image, timeout=20000)
    assert canvas.annotations.source is layer  # the kept layer: reopening draws nothing again
    assert canvas.annotations.uploads - before <= 4  # only the tiles the deletion touched are sent again
    assert np.array_equal(canvas.annotation_image(), expected_overlay(app, image))
    assert listed_ids(window.annotations) == dataset.annotation_ids(image)
    assert tree.topLevelItem(0) is rows[dataset.annotation_ids(image)[0]]  # the kept rows, not new ones
