"""The project sidecar through the real save and load code, without Qt: round trips, a
format readable without the app, and every kind of bad file set aside, never overwritten."""
from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from pycocotools import mask as mask_utils

from app.model import Annotation, Category, Mask, Provenance
from app.model.io import atomic
from app.model.io.sidecar import SidecarPaths, image_file_stem, open_session, read_sidecar
from app.model.project import Project
from app.model.saving import ChangeTracker, write_snapshot
from tests.model.conftest import holed_two_parts, jagged


def open_project(folder: Path, images: dict[str, tuple[int, int]]) -> Project:
    """What the app does on opening a folder: read the sidecar, restore, add each scanned image."""
    project = Project(folder)
    project.restore(read_sidecar(folder))
    for name, (width, height) in images.items():
        project.add_image(folder / name, width, height)
    return project


def save(project: Project, tracker: ChangeTracker):
    result = write_snapshot(tracker.take(), tracker.protected)
    assert result.ok, result.errors
    return result


IMAGES = {"a.jpg": (64, 48), "снимок 画像.png": (30, 20)}


@pytest.fixture
def folder(tmp_path) -> Path:
    folder = tmp_path / "photos"
    folder.mkdir()
    for name in IMAGES:
        (folder / name).write_bytes(b"pixels")  # the sidecar never reads the images themselves
    return folder


def labelled(folder: Path) -> tuple[Project, ChangeTracker]:
    project = open_project(folder, IMAGES)
    tracker = ChangeTracker(project)
    dataset = project.dataset
    a = dataset.image_by_name("a.jpg")
    car = dataset.add_category(Category(dataset.new_category_id(), "car", (10, 20, 30), "vehicle"))
    provenance = Provenance(points=((10.5, 20.0), (3, 4)), point_labels=(1, 0), box=(1, 2, 30, 40),
                            predicted_iou=0.93, stability_score=0.97, source="sam")
    dataset.add_annotation(Annotation(dataset.new_annotation_id(), a.id, car.id,
                                      Mask.from_full(holed_two_parts(a.shape)), provenance))
    dataset.add_annotation(Annotation(dataset.new_annotation_id(), a.id, 1, Mask.from_full(jagged(a.shape)),
                                      Provenance(source="import"), iscrowd=True, polygons=((1, 1, 9, 1, 9, 9),)))
    project.set_done(a.id, True)
    project.set_setting("last_image", "a.jpg")
    project.set_setting("view", (1.5, 2.0, 40.0, 30.0))
    project.set_setting("current_category", car.id)
    return project, tracker


def test_reopening_restores_annotations_provenance_status_categories_and_settings(folder):
    project, tracker = labelled(folder)
    save(project, tracker)
    again = open_project(folder, IMAGES)
    assert again.settings == {"last_image": "a.jpg", "view": (1.5, 2.0, 40.0, 30.0), "current_category": 2}
    assert list(again.dataset.categories.values()) == list(project.dataset.categories.values())
    a = again.dataset.image_by_name("a.jpg")
    assert again.is_done(a.id) and again.start_image == "a.jpg"
    assert again.dataset.annotations(a.id) == project.dataset.annotations(project.dataset.image_by_name("a.jpg").id)
    other = again.dataset.image_by_name("снимок 画像.png")
    assert again.dataset.annotations(other.id) == [] and not again.is_done(other.id)
    assert not (SidecarPaths(folder).image_file("снимок 画像.png")).exists()  # nothing to save there


def test_accepted_automatic_masks_stay_accepted_after_reopening(folder):
    project, tracker = labelled(folder)
    dataset = project.dataset
    a = dataset.image_by_name("a.jpg")
    kept = Annotation(dataset.new_annotation_id(), a.id, 1, Mask.from_full(jagged(a.shape)),
                      Provenance(points=((5, 6),), point_labels=(1,), source="auto", reviewed=True))
    dataset.add_annotation(kept)
    save(project, tracker)
    again = open_project(folder, IMAGES)
    assert again.dataset.annotation(kept.id) == kept and again.dataset.annotation(kept.id).provenance.reviewed


# pycocotools' decode trips a numpy 2 deprecation (as in test_coco); the app never calls it.
@pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy keyword")
def test_files_are_versioned_plain_json_that_pycocotools_decodes(folder):
    project, tracker = labelled(folder)
    save(project, tracker)
    paths = SidecarPaths(folder)
    top = json.loads(paths.project_file.read_text("ascii"))
    assert top["format"] == "maskwright-project" and top["version"] == 1
    assert top["categories"][1] == {"id": 2, "name": "car", "color": [10, 20, 30], "supercategory": "vehicle"}
    doc = json.loads(paths.image_file("a.jpg").read_text("ascii"))
    assert (doc["format"], doc["version"], doc["file_name"], doc["status"]) == ("maskwright-image", 1, "a.jpg", "done")
    a = project.dataset.image_by_name("a.jpg")
    for item, annotation in zip(doc["annotations"], project.dataset.annotations(a.id)):
        rle = dict(item["segmentation"], counts=item["segmentation"]["counts"].encode())
        assert np.array_equal(mask_utils.decode(rle).astype(bool), annotation.mask.full_mask())
        assert item["area"] == int(mask_utils.area(rle)) and item["bbox"] == list(mask_utils.toBbox(rle))
    assert doc["annotations"][0]["provenance"]["point_labels"] == [1, 0]
    assert doc["annotations"][1]["iscrowd"] == 1 and doc["annotations"][1]["polygons"] == [[1, 1, 9, 1, 9, 9]]


def test_only_changed_images_are_rewritten(folder):
    project, tracker = labelled(folder)
    save(project, tracker)
    other = project.dataset.image_by_name("снимок 画像.png")
    project.set_done(other.id, True)
    result = save(project, tracker)
    assert result.written == [SidecarPaths(folder).image_file("снимок 画像.png")]
    assert tracker.take() is None  # nothing pending any more


def test_invalid_json_edited_by_hand_is_reported_and_kept_aside_never_overwritten(folder):
    project, tracker = labelled(folder)
    save(project, tracker)
    path = SidecarPaths(folder).image_file("a.jpg")
    broken = path.read_text().replace('"status": "done",', '"status": "done"')  # a lost comma
    path.write_text(broken)
    stored = read_sidecar(folder)
    assert len(stored.problems) == 1
    problem = stored.problems[0]
    assert str(path) in problem and "invalid JSON at line" in problem and "\n" not in problem
    kept = next((folder / ".maskwright" / "set-aside").iterdir())
    assert kept.read_text() == broken and kept.name in problem and not path.exists()
    again = open_project(folder, IMAGES)  # the app carries on, this image without its annotations
    tracker = ChangeTracker(again)
    a = again.dataset.image_by_name("a.jpg")
    again.dataset.add_annotation(Annotation(again.dataset.new_annotation_id(), a.id, 1, Mask.empty(*a.shape)))
    save(again, tracker)
    assert kept.read_text() == broken and path.exists()


def test_a_file_with_wrong_fields_is_set_aside_with_the_field_named(folder):
    project, tracker = labelled(folder)
    save(project, tracker)
    path = SidecarPaths(folder).image_file("a.jpg")
    doc = json.loads(path.read_text())
    doc["annotations"][0]["segmentation"]["size"] = [10, 10]
    path.write_text(json.dumps(doc))
    (problem,) = read_sidecar(folder).problems
    assert "annotations[0].segmentation.size" in problem and "set-aside" in problem


def test_a_newer_format_is_left_untouched_and_its_image_not_saved(folder):
    project, tracker = labelled(folder)
    save(project, tracker)
    path = SidecarPaths(folder).image_file("a.jpg")
    doc = json.loads(path.read_text())
    doc["version"] = 2
    path.write_text(json.dumps(doc))
    stored = read_sidecar(folder)
    assert path in stored.protected and "newer Maskwright" in stored.problems[0]
    again = open_project(folder, IMAGES)
    tracker = ChangeTracker(again)
    a = again.dataset.image_by_name("a.jpg")
    assert again.dataset.annotations(a.id) == []
    again.set_done(a.id, True)
    result = write_snapshot(tracker.take(), tracker.protected)
    assert not result.ok and "newer Maskwright" in result.errors[0] and json.loads(path.read_text())["version"] == 2
    tracker.retry(result.retry)
    assert tracker.pending  # kept in memory, not dropped


def test_without_a_readable_project_file_annotations_keep_placeholder_categories(folder):
    project, tracker = labelled(folder)
    save(project, tracker)
    SidecarPaths(folder).project_file.write_text("{ not json")
    again = open_project(folder, IMAGES)
    assert "project.json" in again.stored.problems[0]
    a = again.dataset.image_by_name("a.jpg")
    assert len(again.dataset.annotations(a.id)) == 2
    assert again.dataset.categories[2].name == "category 2"


def test_an_image_whose_size_changed_keeps_its_old_annotations_aside(folder):
    project, tracker = labelled(folder)
    save(project, tracker)
    again = Project(folder)
    again.restore(read_sidecar(folder))
    problems = []
    again.events.problem.connect(lambda event: problems.append(event.value))
    tracker = ChangeTracker(again)
    again.add_image(folder / "a.jpg", 48, 64)  # rotated by hand since the last session
    assert "now 48x64" in problems[0] and again.dataset.annotations(again.dataset.image_by_name("a.jpg").id) == []
    old = SidecarPaths(folder).image_file("a.jpg").read_text()
    save(again, tracker)
    kept = next((folder / ".maskwright" / "set-aside").iterdir())
    assert kept.read_text() == old and not SidecarPaths(folder).image_file("a.jpg").exists()


def test_missing_images_keep_their_annotations_until_forgotten(folder):
    project, tracker = labelled(folder)
    save(project, tracker)
    (folder / "a.jpg").unlink()
    again = open_project(folder, {"снимок 画像.png": (30, 20)})
    assert again.finish_scan() == ["a.jpg"]
    a = again.dataset.image_by_name("a.jpg")
    assert a.id in again.missing and len(again.dataset.annotations(a.id)) == 2 and again.is_done(a.id)
    assert again.present_image_ids() == [again.dataset.image_by_name("снимок 画像.png").id]
    tracker = ChangeTracker(again)
    first = tracker.take()  # only this session's marker: restoring is not a change
    assert first.open_session and first.images == () and first.categories is None and first.set_aside == ()
    old = SidecarPaths(folder).image_file("a.jpg").read_text()
    assert again.forget_missing() == ["a.jpg"] and again.dataset.image_by_name("a.jpg") is None
    save(again, tracker)
    assert next((folder / ".maskwright" / "set-aside").iterdir()).read_text() == old
    assert read_sidecar(folder).images == {}


def test_a_leftover_session_marker_means_the_last_session_crashed(folder):
    project, tracker = labelled(folder)
    save(project, tracker)
    assert read_sidecar(folder).previous_session is None  # our own marker: this session is open
    child = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    marker = json.loads(SidecarPaths(folder).session_file.read_text())
    marker["pid"] = int(child.stdout)  # a process that is gone, as after kill -9
    SidecarPaths(folder).session_file.write_text(json.dumps(marker))
    stale = SidecarPaths(folder).annotations_dir / ".a.jpg.json.1234abcd.tmp"
    stale.write_text('{"half": ')  # what a kill in the middle of a write leaves
    stored = read_sidecar(folder)
    assert stored.previous_session is not None and stored.previous_session.pid == int(child.stdout)
    assert stored.problems == [] and not stale.exists()


def test_a_session_still_running_elsewhere_is_reported(folder):
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        open_session(SidecarPaths(folder))
        marker = json.loads(SidecarPaths(folder).session_file.read_text())
        SidecarPaths(folder).session_file.write_text(json.dumps(dict(marker, pid=sleeper.pid)))
        stored = read_sidecar(folder)
        if os.name == "posix":
            assert stored.other_session is not None and "another Maskwright" in stored.problems[0]
    finally:
        sleeper.kill()
        sleeper.wait()


def test_a_failed_write_leaves_the_old_file_and_no_temporary(folder, monkeypatch):
    project, tracker = labelled(folder)
    save(project, tracker)
    path = SidecarPaths(folder).image_file("a.jpg")
    before = path.read_bytes()
    project.set_done(project.dataset.image_by_name("a.jpg").id, False)

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(atomic.os, "fsync", full)
    result = write_snapshot(tracker.take())
    assert not result.ok and result.error_numbers == [errno.ENOSPC] and str(path) in result.errors[0]
    assert path.read_bytes() == before and not list(path.parent.glob(".*.tmp"))
    tracker.retry(result.retry)
    monkeypatch.undo()
    save(project, tracker)
    assert json.loads(path.read_text())["status"] == "todo"


def test_odd_image_names_get_safe_unique_file_names(folder):
    names = ["a/b.png", 'x:"y"?.png', "%41.png", "A.png", "é" * 150 + ".png"]
    stems = [image_file_stem(n) for n in names]
    assert len(set(stems)) == len(names)
    assert all("/" not in s and ":" not in s and len(s.encode()) <= 210 for s in stems)
    assert image_file_stem("снимок.png") == "снимок.png"


def test_saving_a_thousand_annotations_is_quick(folder):
    project = open_project(folder, IMAGES)
    tracker = ChangeTracker(project)
    a = project.dataset.image_by_name("a.jpg")
    rng = np.random.default_rng(0)
    for _ in range(1000):
        crop = rng.random((12, 15)) < 0.6
        project.dataset.add_annotation(Annotation(project.dataset.new_annotation_id(), a.id, 1,
                                                  Mask.from_crop(crop, 5, 7, a.shape)))
    start = time.perf_counter()
    save(project, tracker)
    assert time.perf_counter() - start < 2.0  # on the writer thread; the UI only took a snapshot
    assert len(read_sidecar(folder).images["a.jpg"].annotations) == 1000


def test_a_project_file_from_a_newer_version_freezes_the_whole_project(folder):
    project, tracker = labelled(folder)
    save(project, tracker)
    paths = SidecarPaths(folder)
    doc = json.loads(paths.project_file.read_text())
    paths.project_file.write_text(json.dumps(dict(doc, version=9)))
    before = {p.name: p.read_bytes() for p in paths.annotations_dir.iterdir()}
    again = open_project(folder, IMAGES)
    tracker = ChangeTracker(again)
    assert "newer Maskwright" in tracker.blocked
    again.set_done(again.dataset.image_by_name("a.jpg").id, False)
    assert tracker.take() is None and tracker.pending  # kept in memory, never written
    assert {p.name: p.read_bytes() for p in paths.annotations_dir.iterdir()} == before


def test_the_save_code_imports_no_qt():
    probe = (
        "import sys, app.model.saving, app.model.project, app.model.io.sidecar\n"
        "print(','.join(m for m in sys.modules if m.split('.')[0] in ('PySide6', 'shiboken6', 'pyqtgraph', 'torch')))"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True,
                            cwd=Path(__file__).parents[2])
    assert result.stdout.strip() == ""
