"""Autosave through the real window: within a second, off the UI thread, restored on reopen,
and no edit lost when the disk is full or the folder read-only."""
from __future__ import annotations

import errno
import json
import os
import threading
import time

import pytest

from app.model.io import sidecar
from app.model.io.sidecar import SidecarPaths


def saved_annotations(folder, name: str) -> list[dict]:
    path = SidecarPaths(folder).image_file(name)
    try:
        return json.loads(path.read_text())["annotations"]
    except (OSError, ValueError):
        return []


def shown(qtbot, app) -> None:
    qtbot.waitUntil(lambda: app.window.canvas.image_shape is not None, timeout=10000)


def box_annotation(lab, x0=10, y0=20, x1=50, y1=60):
    lab.set_box(x0, y0, x1, y1)
    return lab.accept()


def test_changes_reach_the_disk_within_a_second_and_reopening_restores_everything(
    qtbot, make_app, image_folder, monkeypatch
):
    threads = []
    real_write = sidecar.write_image_file

    def spy(*args, **kwargs):
        threads.append(threading.current_thread() is threading.main_thread())
        return real_write(*args, **kwargs)

    monkeypatch.setattr("app.project_saver.write_image_file", spy)
    app = make_app(image_folder)
    window, lab = app.window, app.labeler
    shown(qtbot, app)
    window.actions["image.next"].trigger()
    qtbot.waitUntil(lambda: window.canvas.image_shape == (100, 140), timeout=10000)
    car = lab.categories.create("car")
    start = time.perf_counter()
    annotation = box_annotation(lab)
    qtbot.waitUntil(lambda: len(saved_annotations(image_folder, "img_1.png")) == 1, timeout=1000)
    assert time.perf_counter() - start < 1.0
    assert threads and not any(threads), "an image file was written on the UI thread"
    window.actions["label.done"].trigger()
    qtbot.waitUntil(lambda: '"status": "done"' in SidecarPaths(image_folder).image_file("img_1.png").read_text(),
                    timeout=1000)
    window.canvas.zoom(2.0)
    window.canvas.pan(0.1, 0.05)
    view = window.canvas.view_box.viewRect()
    window.close()
    assert not SidecarPaths(image_folder).session_file.exists()  # a clean close

    again = make_app(None)  # the remembered folder
    window, lab = again.window, again.labeler
    shown(qtbot, again)
    record = lab.project.dataset.images[lab.image_id]
    assert record.file_name == "img_1.png"  # the last image, not the first
    assert [a.mask for a in lab.project.dataset.annotations(record.id)] == [annotation.mask]
    assert lab.project.dataset.annotations(record.id)[0].category_id == car.id
    assert lab.project.is_done(record.id) and lab.categories.current() == car.id
    restored = window.canvas.view_box.viewRect()
    assert abs(restored.center().x() - view.center().x()) < 2 and abs(restored.center().y() - view.center().y()) < 2
    assert abs(restored.width() - view.width()) < 0.1 * view.width()
    assert "unexpectedly" not in window.message_bar.text
    assert window.image_list.count() == 3


def test_a_full_disk_warns_keeps_the_edits_and_saves_them_when_space_returns(
    qtbot, make_app, image_folder, monkeypatch
):
    real = sidecar.write_bytes_atomic

    def full(path, data):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    app = make_app(image_folder)
    window, lab = app.window, app.labeler
    shown(qtbot, app)
    monkeypatch.setattr(sidecar, "write_bytes_atomic", full)
    annotation = box_annotation(lab)
    qtbot.waitUntil(lambda: "disk is full" in window.message_bar.text, timeout=3000)
    text = window.message_bar.text
    assert window.message_bar.level == "warning" and str(image_folder) in text and "kept in memory" in text
    assert lab.project.dataset.annotation(annotation.id) is annotation and app.window.projects.autosave.unsaved

    window.close()  # closing now would lose the edit: the window stays, and says why
    assert window.isVisible() and window.message_bar.level == "error" and "Not closing" in window.message_bar.text

    monkeypatch.setattr(sidecar, "write_bytes_atomic", real)
    qtbot.waitUntil(lambda: "Saving works again" in window.message_bar.text, timeout=5000)
    assert len(saved_annotations(image_folder, "img_0.png")) == 1
    assert not app.window.projects.autosave.unsaved


def test_a_read_only_project_folder_warns_and_keeps_the_edits(qtbot, make_app, image_folder, monkeypatch):
    def read_only(path, data):
        raise OSError(errno.EROFS, "Read-only file system", str(path))

    monkeypatch.setattr(sidecar, "write_bytes_atomic", read_only)
    app = make_app(image_folder)
    window, lab = app.window, app.labeler
    shown(qtbot, app)
    annotation = box_annotation(lab)
    qtbot.waitUntil(lambda: "read-only" in window.message_bar.text, timeout=3000)
    assert lab.project.dataset.annotation(annotation.id) is annotation
    window.actions["image.next"].trigger()  # labelling goes on
    second = box_annotation(lab, 5, 5, 30, 30)
    assert second is not None and app.window.projects.autosave.unsaved


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root writes to read-only folders")
def test_a_folder_without_write_permission(qtbot, make_app, image_folder):
    image_folder.chmod(0o555)
    try:
        app = make_app(image_folder)
        shown(qtbot, app)
        box_annotation(app.labeler)
        qtbot.waitUntil(lambda: "not writable" in app.window.message_bar.text, timeout=3000)
    finally:
        image_folder.chmod(0o755)


def test_opening_another_folder_still_saves_the_first(qtbot, make_app, image_folder, tmp_path, photo):
    from tests.app.conftest import write_image

    other = tmp_path / "other"
    other.mkdir()
    write_image(other / "x.png", photo(50, 60, seed=9))
    app = make_app(image_folder)
    shown(qtbot, app)
    box_annotation(app.labeler)
    app.labeler.open_folder(other)  # at once, before the first project's save ran
    qtbot.waitUntil(lambda: len(saved_annotations(image_folder, "img_0.png")) == 1, timeout=2000)
    qtbot.waitUntil(lambda: not SidecarPaths(image_folder).session_file.exists(), timeout=2000)
