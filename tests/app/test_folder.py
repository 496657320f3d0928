"""Opening folders: broken files, no checkpoint, remembered settings, big images."""
from __future__ import annotations

import numpy as np

from app.services.settings import Settings
from tests.app.conftest import wait_ready, write_image


def test_corrupt_images_are_skipped_with_a_visible_message(qtbot, make_app, image_folder, tiny_checkpoint):
    good = (image_folder / "img_1.png").read_bytes()
    (image_folder / "broken.png").write_bytes(good[: len(good) // 3])
    (image_folder / "cut.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    app = make_app(image_folder, tiny_checkpoint)
    window, lab = app.window, app
    qtbot.waitUntil(lambda: len(lab.state.project.skipped) == 2 and len(lab.state.project.dataset.images) == 3, timeout=10000)
    assert window.message_bar.isVisible() and window.message_bar.level == "warning"
    assert "broken.png" in window.message_bar.text and "cut.jpg" in window.message_bar.text
    assert window.image_list.count() == 3
    wait_ready(qtbot, app)
    for _ in range(3):
        window.actions["image.next"].trigger()
    assert lab.state.project.dataset.images[lab.state.image_id].file_name == "img_2.png"
    qtbot.waitUntil(lambda: window.canvas.image_shape == (90, 120), timeout=5000)


def test_without_a_checkpoint_the_app_explains_and_boxes_still_work(qtbot, make_app, image_folder, tmp_path):
    app = make_app(image_folder, None)
    window, lab = app.window, app
    assert window.message_bar.isVisible()
    assert "sam_vit_b_01ec64.pth" in window.message_bar.text and "--checkpoint" in window.message_bar.text
    assert window.sam_label.text() == "No checkpoint"
    qtbot.waitUntil(lambda: window.canvas.image_shape is not None, timeout=10000)
    lab.prompting.add_point(10, 10, True)
    assert lab.state.prompts.candidates is None  # points need SAM; nothing breaks
    lab.prompting.clear_prompts()
    lab.prompting.set_box(10, 20, 50, 60)
    assert len(lab.state.prompts.candidates) == 1
    annotation = lab.prompting.accept()
    assert annotation.area == 40 * 40 and annotation.provenance.predicted_iou is None
    with qtbot.waitSignal(lab.controllers.export.exported, timeout=10000):
        lab.controllers.export.export("coco_polygons", tmp_path / "poly.json")
    with qtbot.waitSignal(lab.controllers.export.exported, timeout=10000):
        lab.controllers.export.export("sa1b", tmp_path / "sa1b")
    assert (tmp_path / "sa1b" / "img_0.json").exists()


def test_folder_checkpoint_and_device_are_remembered(qtbot, make_app, image_folder, tiny_checkpoint, settings):
    app = make_app(image_folder, tiny_checkpoint, device="cpu")
    wait_ready(qtbot, app)
    again = Settings(settings.file_name)
    assert again.last_folder == str(image_folder)
    assert again.checkpoint == str(tiny_checkpoint) and again.device == "cpu"
    second = make_app(None, None, device=None)  # nothing given: everything comes from the settings
    wait_ready(qtbot, second)
    assert second.state.project.folder == image_folder
    assert "cpu" in second.window.sam_label.text()


def test_big_images_show_a_downsampled_copy_and_keep_full_resolution_masks(
    qtbot, make_app, tmp_path, photo, tiny_checkpoint
):
    folder = tmp_path / "big"
    folder.mkdir()
    write_image(folder / "wide.png", photo(300, 900, seed=3))
    app = make_app(None, tiny_checkpoint)
    app.services.loader.max_display_side = 300  # as a 100-megapixel image would be at the default 4096
    app.navigation.open_folder(folder)
    wait_ready(qtbot, app)
    canvas = app.window.canvas
    assert canvas.image_shape == (300, 900) and canvas.factor == 3.0
    assert canvas.image_item.image.shape[:2] == (100, 300)
    assert canvas.image_item.boundingRect().width() * canvas.image_item.transform().m11() == 900
    lab = app
    lab.prompting.set_box(0, 0, 600, 150)
    qtbot.waitUntil(lambda: lab.state.prompts.candidates is not None, timeout=10000)
    candidates = lab.state.prompts.candidates
    rank = next(r for r, i in enumerate(candidates.order) if candidates.mask(i).any())
    lab.prompting.pick(rank)
    full = candidates.mask(candidates.order[rank])
    assert full.shape == (300, 900)
    annotation = lab.prompting.accept()
    assert annotation.mask.shape == (300, 900) and np.array_equal(annotation.mask.full_mask(), full)
    overlay = canvas.annotation_image()
    assert overlay.shape == (100, 300, 4)
    assert abs(np.count_nonzero(overlay[..., 3]) - full.sum() / 9) <= 0.2 * full.sum() / 9 + 20


def test_an_empty_folder_says_so(qtbot, make_app, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt").write_text("no images here")
    app = make_app(empty, None)
    qtbot.waitUntil(lambda: "No images" in app.window.message_bar.text, timeout=10000)
    assert app.state.image_id is None and app.window.image_list.count() == 0
    assert all(kind in app.window.message_bar.text for kind in ("jpeg", "tiff", "pnm", "avif"))  # every kind read
