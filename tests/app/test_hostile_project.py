"""A hostile project through the real window: a file name that is not UTF-8, a damaged JPEG,
hidden names, a dangling link and a FIFO, hand-crafted annotation files, an extreme saved view
and an image beyond the pixel limit. Each gets one line naming it; the rest of the project
loads, is labelled and saves; nothing is written outside the project."""
from __future__ import annotations

import json
import os

import cv2
import pytest

from app.model.io.sidecar import SidecarPaths
from app.model.names import display_name
from tests.app.conftest import write_image

BAD_NAME = os.fsdecode(b"scan \xff\xfe.png")  # bytes that are not UTF-8, as Linux allows

pytestmark = pytest.mark.skipif(os.name != "posix", reason="non-UTF-8 names, FIFOs and links as on Linux")


def _hostile_folder(area, photo):
    folder = area / "project"
    folder.mkdir(parents=True)
    write_image(folder / "a.png", photo(60, 80, seed=1))
    write_image(folder / BAD_NAME, photo(50, 70, seed=2))
    jpeg = cv2.imencode(".jpg", photo(90, 120, seed=3)[:, :, ::-1])[1].tobytes()
    (folder / "cut.jpg").write_bytes(jpeg[: len(jpeg) // 2] + b"\xff\xd9")  # decodes, grey below the cut
    write_image(folder / ".hidden.png", photo(20, 20, seed=4))
    (folder / "gone.png").symlink_to(area / "deleted.png")
    os.mkfifo(folder / "pipe.png")
    annotations = SidecarPaths(folder).annotations_dir
    annotations.mkdir(parents=True)
    (annotations / "deep.png.json").write_bytes(b"[" * 100_000 + b"]" * 100_000)
    (annotations / "evil.png.json").write_text(json.dumps(
        {"format": "maskwright-image", "version": 1, "file_name": str(area / "outside.png"),
         "width": 10, "height": 10, "annotations": []}))
    (annotations / "wide.png.json").write_text(
        '{"format": "maskwright-image", "version": 1, "file_name": "wide.png", "width": 1' + "0" * 30 + ', "height": 1}')
    return folder


def test_a_hostile_folder_is_listed_labelled_and_saved_file_by_file(qtbot, make_app, tmp_path, photo):
    area = tmp_path / "area"  # the project's folder and what is around it
    folder = _hostile_folder(area, photo)
    outside_before = sorted(p.name for p in area.iterdir())
    app = make_app(folder)
    window, project = app.window, None
    qtbot.waitUntil(lambda: app.state.project is not None and len(app.state.project.dataset.images) == 3
                    and len(app.state.project.skipped) == 3, timeout=15000)
    project = app.state.project
    # the damaged JPEG's warning comes when its thumbnail is decoded, after the listing
    qtbot.waitUntil(lambda: not project.unverified, timeout=15000)
    text = "\n".join(notice.html for notice in app.notices.items)
    for said in ("deep.png.json: nested 100,000 levels deep", "is not a file inside the project",
                 "wide.png.json: width: must be at most 1,048,576", ".hidden.png: left out: a hidden file",
                 "gone.png: left out: a symbolic link to", "pipe.png: left out: a FIFO",
                 "cut.jpg: the decoder reported damaged data"):
        assert said in text, said
    odd = project.dataset.image_by_name(BAD_NAME)
    assert window.image_list.text_of(odd.id).startswith("scan \\xff\\xfe.png\n")  # shown, readably
    cut = project.dataset.image_by_name("cut.jpg")
    assert "⚠ warning" in window.image_list.text_of(cut.id)

    for name in (BAD_NAME, "a.png", "cut.jpg"):  # labelled, each saved on its own
        app.navigation.open_image(project.dataset.image_by_name(name).id)
        qtbot.waitUntil(lambda: window.canvas.image_shape == project.dataset.image_by_name(name).shape, timeout=10000)
        app.prompting.set_box(2, 2, 30, 30)
        app.prompting.accept()
    paths = SidecarPaths(folder)
    qtbot.waitUntil(lambda: all(paths.image_file(n).exists() for n in (BAD_NAME, "a.png", "cut.jpg")), timeout=5000)
    assert paths.image_file(BAD_NAME).name == "scan %FF%FE.png.json"
    assert app.services.autosave.last_error is None
    app.window.close()
    assert sorted(p.name for p in area.iterdir()) == outside_before == ["project"]  # nothing outside the project

    again = make_app(folder)
    qtbot.waitUntil(lambda: again.state.project is not None and len(again.state.project.dataset.images) == 3,
                    timeout=15000)
    dataset = again.state.project.dataset
    assert {display_name(r.file_name): len(dataset.annotations(r.id)) for r in dataset.images.values()} == {
        "a.png": 1, "scan \\xff\\xfe.png": 1, "cut.jpg": 1}


def test_an_extreme_saved_view_is_not_applied(qtbot, make_app, image_folder):
    paths = SidecarPaths(image_folder)
    paths.root.mkdir()
    for view in ([1e300, 1e300, 1e300, 1e300], [5, 5, 1e-12, 1e-12], [1e9, 1e9, 2e9, 2e9]):
        paths.project_file.write_text(json.dumps({"format": "maskwright-project", "version": 1, "categories": [
            {"id": 1, "name": "object", "color": [1, 2, 3], "supercategory": ""}],
            "settings": {"last_image": "img_1.png", "view": view}}))
        app = make_app(image_folder)
        qtbot.waitUntil(lambda: app.window.canvas.image_shape == (100, 140), timeout=10000)
        qtbot.wait(100)  # the requested view, had it been applied, lands after the fit
        rect = app.window.canvas.view_box.viewRect()
        assert 100 < rect.width() < 1000 and -50 < rect.x() < 50, (view, rect)  # the image, fitted
        app.window.close()


def test_an_image_beyond_the_pixel_limit_is_refused_until_the_limit_is_raised(qtbot, make_app, settings, tmp_path,
                                                                             photo):
    folder = tmp_path / "big"
    folder.mkdir()
    write_image(folder / "small.png", photo(50, 50, seed=1))
    write_image(folder / "large.png", photo(300, 400, seed=2))  # 0.12 MP
    settings._set("max_image_megapixels", "0.1")
    app = make_app(folder)
    qtbot.waitUntil(lambda: app.state.project is not None and bool(app.state.project.skipped), timeout=10000)
    assert "large.png: 400 x 300 = 0.1 MP is more than the 0.1 MP limit" in app.window.message_bar.text
    assert [r.file_name for r in app.state.project.dataset.images.values()] == ["small.png"]
    app.window.close()
    settings._set("max_image_megapixels", "1")
    again = make_app(folder)
    qtbot.waitUntil(lambda: again.state.project is not None and len(again.state.project.dataset.images) == 2,
                    timeout=10000)
