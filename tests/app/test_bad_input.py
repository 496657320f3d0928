"""Bad input through the real window: broken and odd images, hand-broken annotation files,
images deleted outside the app."""
from __future__ import annotations

import io
import json

import cv2
import numpy as np
from PIL import Image

from app.model.io.sidecar import SidecarPaths
from tests.app.conftest import write_image


def test_a_folder_of_odd_and_broken_images(qtbot, make_app, tmp_path, photo):
    folder = tmp_path / "odd ñ 画像"
    folder.mkdir()
    write_image(folder / "a_normal.png", photo(40, 60, seed=1))
    cv2.imencode(".png", np.full((30, 50), 40000, np.uint16))[1].tofile(folder / "b_16bit_grey.png")
    Image.fromarray(photo(30, 40, seed=2)).convert("RGBA").save(folder / "c_alpha.png")
    rotated = io.BytesIO()
    exif = Image.Exif()
    exif[0x0112] = 6  # stored 60 wide x 20 high, shown 20 wide x 60 high
    Image.fromarray(photo(20, 60, seed=3)).save(rotated, "JPEG", exif=exif.tobytes())
    (folder / "d_rotated.jpg").write_bytes(rotated.getvalue())
    write_image(folder / "e_снимок.png", photo(25, 35, seed=4))
    good = (folder / "a_normal.png").read_bytes()
    (folder / "x_truncated.png").write_bytes(good[: len(good) // 2])
    (folder / "y_phone.heic").write_bytes(b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + bytes(64))
    (folder / "z_empty.jpg").write_bytes(b"")
    app = make_app(folder)
    window, lab = app.window, app
    qtbot.waitUntil(lambda: len(lab.state.project.skipped) == 3 and len(lab.state.project.dataset.images) == 5, timeout=10000)
    text = window.message_bar.text
    assert "x_truncated.png" in text and "y_phone.heic: unsupported format (HEIC)" in text and "z_empty.jpg" in text
    record = lab.state.project.dataset.image_by_name("d_rotated.jpg")
    assert (record.width, record.height) == (20, 60)  # as the user sees it
    lab.navigation.open_image(record.id)
    qtbot.waitUntil(lambda: window.canvas.image_shape == (60, 20), timeout=10000)
    lab.prompting.set_box(2, 30, 18, 58)  # the lower part of the upright image
    annotation = lab.prompting.accept()
    assert annotation.mask.shape == (60, 20) and annotation.mask.bbox == (2, 30, 16, 28)
    for name in ("b_16bit_grey.png", "c_alpha.png", "e_снимок.png"):
        lab.navigation.open_image(lab.state.project.dataset.image_by_name(name).id)
        qtbot.waitUntil(lambda: window.canvas.image_shape == lab.state.project.dataset.images[lab.state.image_id].shape,
                        timeout=10000)
        assert window.canvas.image_item.image.dtype == np.uint8 and window.canvas.image_item.image.ndim == 3
    qtbot.waitUntil(lambda: SidecarPaths(folder).image_file("d_rotated.jpg").exists(), timeout=2000)


def test_a_hand_broken_annotation_file_is_reported_and_kept_aside(qtbot, make_app, image_folder):
    app = make_app(image_folder)
    qtbot.waitUntil(lambda: app.window.canvas.image_shape is not None, timeout=10000)
    app.prompting.set_box(5, 5, 40, 40)
    app.prompting.accept()
    path = SidecarPaths(image_folder).image_file("img_0.png")
    qtbot.waitUntil(path.exists, timeout=2000)
    app.window.close()
    broken = path.read_text().replace("}", "", 1)
    path.write_text(broken)

    again = make_app(image_folder)
    qtbot.waitUntil(lambda: str(path) in again.window.message_bar.text, timeout=10000)
    text = again.window.message_bar.text
    assert "invalid JSON at line" in text and "set-aside" in text and not path.exists()
    kept = next((image_folder / ".maskwright" / "set-aside").iterdir())
    assert kept.read_text() == broken
    lab = again
    qtbot.waitUntil(lambda: lab.state.image_id is not None, timeout=10000)
    assert lab.state.project.dataset.annotation_count == 0
    lab.prompting.set_box(1, 1, 20, 20)
    lab.prompting.accept()  # a new file is written; the broken one stays as it was
    qtbot.waitUntil(path.exists, timeout=2000)
    assert kept.read_text() == broken


def test_an_image_deleted_outside_the_app_keeps_its_annotations_until_forgotten(qtbot, make_app, image_folder):
    app = make_app(image_folder)
    lab = app
    qtbot.waitUntil(lambda: app.window.canvas.image_shape is not None, timeout=10000)
    lab.prompting.set_box(5, 5, 40, 40)
    lab.prompting.accept()
    lab.state.project.set_done(lab.state.image_id, True)
    path = SidecarPaths(image_folder).image_file("img_0.png")
    qtbot.waitUntil(lambda: '"done"' in (path.read_text() if path.exists() else ""), timeout=2000)
    app.window.close()
    (image_folder / "img_0.png").rename(image_folder / "renamed.png")

    again = make_app(image_folder)
    window, lab = again.window, again
    qtbot.waitUntil(lambda: "missing from the folder" in window.message_bar.text, timeout=10000)
    assert "img_0.png" in window.message_bar.text
    missing = lab.state.project.dataset.image_by_name("img_0.png")
    assert missing.id in lab.state.project.missing and len(lab.state.project.dataset.annotations(missing.id)) == 1
    assert lab.state.project.is_done(missing.id) and window.image_list.count() == 4
    assert window.image_list.text_of(missing.id).endswith("· file missing") and "✓" in window.image_list.text_of(missing.id)
    assert "file missing" not in window.image_list.text_of(lab.state.image_id)
    assert lab.state.image_id != missing.id  # it opened an image that is there
    again.window.close()  # the user has not decided yet: nothing changes on disk
    assert json.loads(path.read_text())["annotations"]

    third = make_app(image_folder)
    window, lab = third.window, third
    qtbot.waitUntil(lambda: "missing from the folder" in window.message_bar.text, timeout=10000)
    window.actions["image.forget_missing"].trigger()
    assert lab.state.project.dataset.image_by_name("img_0.png") is None and window.image_list.count() == 3
    assert "set-aside" in window.message_bar.text
    qtbot.waitUntil(lambda: not path.exists(), timeout=2000)
    kept = next((image_folder / ".maskwright" / "set-aside").iterdir())
    assert json.loads(kept.read_text())["file_name"] == "img_0.png"


def missing_first_image(qtbot, make_app, folder, checkpoint=None):
    """Label img_0.png, delete it outside the app, and open the folder again."""
    app = make_app(folder)
    qtbot.waitUntil(lambda: app.window.canvas.image_shape is not None, timeout=10000)
    app.prompting.set_box(5, 5, 40, 40)
    app.prompting.accept()
    path = SidecarPaths(folder).image_file("img_0.png")
    qtbot.waitUntil(path.exists, timeout=2000)
    app.window.close()
    (folder / "img_0.png").unlink()
    again = make_app(folder, checkpoint)
    qtbot.waitUntil(lambda: bool(again.state.project.missing), timeout=10000)  # the scan found it gone
    return again


def test_segment_everything_on_the_folder_leaves_out_a_missing_image(
    qtbot, make_app, image_folder, tiny_checkpoint, monkeypatch
):
    app = missing_first_image(qtbot, make_app, image_folder, tiny_checkpoint)
    lab = app
    qtbot.waitUntil(lambda: lab.state.sam.ready, timeout=20000)
    jobs = []
    monkeypatch.setattr(app.worker, "prelabel", jobs.append)
    assert lab.prelabel.run_folder()
    missing = lab.state.project.dataset.image_by_name("img_0.png").id
    assert missing in lab.state.project.missing
    assert sorted(item.image_id for item in jobs[0].items) == sorted(lab.state.project.present_image_ids())
    assert missing not in [item.image_id for item in jobs[0].items] and len(jobs[0].items) == 2


def test_forgetting_the_only_image_leaves_no_image_open(qtbot, make_app, tmp_path, photo):
    folder = tmp_path / "one"
    folder.mkdir()
    write_image(folder / "img_0.png", photo(60, 80, seed=1))
    app = missing_first_image(qtbot, make_app, folder)
    lab, window = app, app.window
    qtbot.waitUntil(lambda: lab.state.image_id is not None, timeout=5000)
    assert lab.state.image_id in lab.state.project.missing  # the only image: opened, though its file is gone
    lab.prompting.add_point(10, 10, True)
    assert lab.state.prompts.image_id == lab.state.image_id and lab.state.prompts.prompts
    window.actions["image.forget_missing"].trigger()
    assert lab.state.image_id is None and lab.state.prompts.image_id is None and not lab.state.prompts.prompts
    assert window.image_list.count() == 0 and window.canvas.image_shape is None
