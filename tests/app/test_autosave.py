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
    lab.prompting.set_box(x0, y0, x1, y1)
    return lab.prompting.accept()


def test_changes_reach_the_disk_within_a_second_and_reopening_restores_everything(
    qtbot, make_app, image_folder, monkeypatch
):
    threads = []
    real_write = sidecar.write_image_file

    def spy(*args, **kwargs):
        threads.append(threading.current_thread() is threading.main_thread())
        return real_write(*args, **kwargs)

    monkeypatch.setattr("app.model.saving.write_image_file", spy)
    app = make_app(image_folder)
    window, lab = app.window, app
    shown(qtbot, app)
    window.actions["image.next"].trigger()
    qtbot.waitUntil(lambda: window.canvas.image_shape == (100, 140), timeout=10000)
    car = lab.controllers.categories.create("car")
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
    window, lab = again.window, again
    shown(qtbot, again)
    record = lab.state.project.dataset.images[lab.state.image_id]
    assert record.file_name == "img_1.png"  # the last image, not the first
    assert [a.mask for a in lab.state.project.dataset.annotations(record.id)] == [annotation.mask]
    assert lab.state.project.dataset.annotations(record.id)[0].category_id == car.id
    assert lab.state.project.is_done(record.id) and lab.state.current_category == car.id
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
    window, lab = app.window, app
    shown(qtbot, app)
    monkeypatch.setattr(sidecar, "write_bytes_atomic", full)
    annotation = box_annotation(lab)
    qtbot.waitUntil(lambda: "disk is full" in window.message_bar.text, timeout=10000)
    text = window.message_bar.text
    assert window.message_bar.level == "warning" and str(image_folder) in text and "kept in memory" in text
    assert lab.state.project.dataset.annotation(annotation.id) is annotation and app.services.autosave.unsaved

    window.close()  # closing now would lose the edit: the window stays, and says why
    assert window.isVisible() and window.message_bar.level == "error" and "Not closing" in window.message_bar.text

    monkeypatch.setattr(sidecar, "write_bytes_atomic", real)
    qtbot.waitUntil(lambda: "Saving works again" in window.messages.texts()[0], timeout=15000)  # the newest
    # The warning and the error are over: they leave the banner (the list keeps them, resolved).
    assert "Not closing" not in window.message_bar.text and "disk is full" not in window.message_bar.text
    assert sum("(resolved)" in line for line in window.messages.texts()) == 2
    assert len(saved_annotations(image_folder, "img_0.png")) == 1
    assert not app.services.autosave.unsaved


def test_a_read_only_project_folder_warns_and_keeps_the_edits(qtbot, make_app, image_folder, monkeypatch):
    def read_only(path, data):
        raise OSError(errno.EROFS, "Read-only file system", str(path))

    monkeypatch.setattr(sidecar, "write_bytes_atomic", read_only)
    app = make_app(image_folder)
    window, lab = app.window, app
    shown(qtbot, app)
    annotation = box_annotation(lab)
    qtbot.waitUntil(lambda: "read-only" in window.message_bar.text, timeout=3000)
    assert lab.state.project.dataset.annotation(annotation.id) is annotation
    window.actions["image.next"].trigger()  # labelling goes on
    second = box_annotation(lab, 5, 5, 30, 30)
    assert second is not None and app.services.autosave.unsaved


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root writes to read-only folders")
def test_a_folder_without_write_permission(qtbot, make_app, image_folder):
    image_folder.chmod(0o555)
    try:
        app = make_app(image_folder)
        shown(qtbot, app)
        box_annotation(app)
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
    box_annotation(app)
    app.navigation.open_folder(other)  # at once, before the first project's save ran
    qtbot.waitUntil(lambda: len(saved_annotations(image_folder, "img_0.png")) == 1, timeout=2000)
    qtbot.waitUntil(lambda: not SidecarPaths(image_folder).session_file.exists(), timeout=2000)


def test_a_project_from_a_newer_maskwright_closes_at_once_when_nothing_was_edited(qtbot, make_app, image_folder):
    app = make_app(image_folder)
    shown(qtbot, app)
    box_annotation(app)
    qtbot.waitUntil(lambda: len(saved_annotations(image_folder, "img_0.png")) == 1, timeout=2000)
    assert app.window.close()
    paths = SidecarPaths(image_folder)
    paths.project_file.write_text(json.dumps(dict(json.loads(paths.project_file.read_text()), version=2)))

    again = make_app(image_folder)
    window = again.window
    shown(qtbot, again)
    qtbot.waitUntil(lambda: "newer Maskwright" in window.message_bar.text, timeout=3000)
    assert not app.services.autosave.unsaved
    assert window.close() and not window.isVisible()  # not refused: nothing was edited
    assert "Not saving" not in window.message_bar.text and "Not closing" not in window.message_bar.text


def test_an_edit_made_while_the_first_good_write_runs_is_saved_without_the_retry_pause(
    qtbot, image_folder, monkeypatch
):
    import numpy as np

    from app.model import Annotation, Mask
    from app.model.project import Project
    from app.services.autosave import Autosave

    project = Project(image_folder)
    project.restore(sidecar.read_sidecar(image_folder))
    image = project.add_image(image_folder / "img_0.png", 160, 120)
    autosave = Autosave(delay_ms=50, retry_ms=(2000,))
    messages = []
    autosave.message.connect(lambda level, text: messages.append(text))
    autosave.attach(project)

    def annotate():
        dataset = project.dataset
        dataset.add_annotation(Annotation(dataset.new_annotation_id(), image.id, 1,
                                          Mask.from_crop(np.ones((4, 5), bool), 3, 2, image.shape)))

    real, mode = sidecar.write_bytes_atomic, ["full"]
    entered, release = threading.Event(), threading.Event()

    def write(path, data):
        if mode[0] == "full":
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        if not entered.is_set():
            entered.set()
            release.wait(5)  # the first good write is still running
        return real(path, data)

    monkeypatch.setattr(sidecar, "write_bytes_atomic", write)
    annotate()
    qtbot.waitUntil(lambda: any("disk is full" in m for m in messages), timeout=3000)
    mode[0] = "space again"
    qtbot.waitUntil(entered.is_set, timeout=5000)  # the retry, after its pause
    annotate()  # lands while that write runs
    release.set()
    qtbot.waitUntil(lambda: len(saved_annotations(image_folder, "img_0.png")) == 2, timeout=1000)  # not 2 s
    qtbot.waitUntil(lambda: "Saving works again" in messages[-1], timeout=1000)
    assert sum("disk is full" in m for m in messages) == 1
    assert autosave.close()


def test_a_refused_close_keeps_the_open_projects_session_and_closing_again_quits(
    qtbot, make_app, image_folder, tmp_path, photo, monkeypatch
):
    from pathlib import Path

    from tests.app.conftest import write_image

    other = tmp_path / "other"
    other.mkdir()
    write_image(other / "x.png", photo(50, 60, seed=9))
    real = sidecar.write_bytes_atomic

    def full_in_the_first(path, data):
        if Path(path).is_relative_to(image_folder):
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return real(path, data)

    monkeypatch.setattr(sidecar, "write_bytes_atomic", full_in_the_first)
    app = make_app(image_folder)
    window, lab = app.window, app
    app.services.autosave.retry_ms = (200,)
    shown(qtbot, app)
    box_annotation(lab)
    qtbot.waitUntil(lambda: "disk is full" in window.message_bar.text, timeout=3000)
    lab.navigation.open_folder(other)  # the first project's edit still waits for space
    qtbot.waitUntil(lambda: window.canvas.image_shape == (50, 60), timeout=10000)
    box_annotation(lab, 5, 5, 20, 20)
    qtbot.waitUntil(lambda: len(saved_annotations(other, "x.png")) == 1, timeout=3000)
    session = SidecarPaths(other).session_file
    assert session.exists()

    window.close()
    assert window.isVisible() and "Not closing" in window.message_bar.text
    qtbot.waitUntil(session.exists, timeout=3000)  # the window stays open: so does the session of its project
    window.close()  # closing again quits without the first project's edit
    assert not window.isVisible() and not session.exists()
    assert saved_annotations(image_folder, "img_0.png") == []
