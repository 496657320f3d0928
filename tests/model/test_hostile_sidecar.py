"""A hostile corpus of sidecar files, built in a temp dir, through the real load and save code
(no Qt): each bad file is set aside with one line naming it and its problem, every other image
loads and saves, names the OS gives (bytes that are not UTF-8 included) are saved under stable
names, and nothing is written outside the project."""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from app.model import Annotation, Mask
from app.model.io import project_format
from app.model.io.sidecar import SidecarPaths, image_file_stem, read_sidecar
from app.model.names import display_name
from app.model.project import Project
from app.model.saving import ChangeTracker, write_snapshot

GOOD = {"a.png": (40, 30), "b.png": (20, 10)}  # name: (width, height)
BAD_NAME = os.fsdecode(b"caf\xe9 \xff.png")  # Latin-1 bytes: not UTF-8


def _header(name: str, width: int = 20, height: int = 10, **extra) -> dict:
    return {"format": "maskwright-image", "version": 1, "file_name": name, "width": width, "height": height,
            "status": "todo", **extra}


def _rle_annotation(counts, size=(10, 20), **extra) -> dict:
    return {"id": 1, "category_id": 1, "segmentation": {"size": list(size), "counts": counts}, **extra}


# Each: the sidecar file's name, its bytes, and what its one-line message must say.
CORPUS = {
    "deep.png.json": (b"[" * 100_000 + b"]" * 100_000, "nested 100,000 levels deep"),
    "huge_mask.png.json": (json.dumps(_header("huge_mask.png", 10**6, 10**6, annotations=[
        _rle_annotation("0" * 6, (10**6, 10**6))])).encode(), "1000000 x 1000000 = 1,000,000 MP is more than"),
    "wide.png.json": (json.dumps(_header("wide.png", 10**30)).encode(), "width: must be at most 1,048,576"),
    "counts.png.json": (json.dumps(_header("counts.png", annotations=[_rle_annotation([2**40, 10])])).encode(),
                        "counts: runs must be in 0..4,294,967,295"),
    "infinite.png.json": (json.dumps(_header("infinite.png", annotations=[_rle_annotation(
        [200], provenance={"points": [[1.0, 2.0]], "point_labels": [1], "predicted_iou": 1e308 * 10})])
        ).replace("Infinity", "1e999").encode(), "predicted_iou: must be finite"),
    "outside.png.json": (json.dumps(_header("/etc/passwd")).encode(), "'/etc/passwd' is not a file inside the project"),
    "up.png.json": (json.dumps(_header("../../x.png")).encode(), "'../../x.png' is not a file inside the project"),
    "two_points.png.json": (json.dumps(_header("two_points.png", annotations=[_rle_annotation(
        [200], polygons=[[1, 1, 5, 5]])])).encode(), "polygons[0]: must have at least 3 points, got 2"),
    "not_utf8.png.json": (b'{"format": "\xff\xfe"}', "not UTF-8 text"),
    "huge_int.png.json": (b'{"format": "maskwright-image", "version": 1' + b"0" * 5000 + b"}", "an integer thousands of digits long"),
}


@pytest.fixture
def project_folder(tmp_path) -> Path:
    folder = tmp_path / "photos"
    folder.mkdir()
    for name in [*GOOD, BAD_NAME]:
        (folder / name).write_bytes(b"pixels")  # the sidecar code never reads the images
    return folder


def _open(folder: Path, **read) -> Project:
    project = Project(folder)
    project.restore(read_sidecar(folder, **read))
    for name, (width, height) in {**GOOD, BAD_NAME: (20, 10)}.items():
        project.add_image(folder / name, width, height)
    project.finish_scan()
    return project


def _label(project: Project, name: str) -> Annotation:
    dataset = project.dataset
    image = dataset.image_by_name(name)
    full = np.zeros(image.shape, dtype=bool)
    full[2:6, 3:9] = True
    return dataset.add_annotation(Annotation(dataset.new_annotation_id(), image.id, 1, Mask.from_full(full)))


def _save_all(project: Project, tracker: ChangeTracker) -> None:
    result = write_snapshot(tracker.take(), tracker.protected)
    assert result.ok, result.errors


def test_a_name_that_is_not_utf8_is_saved_under_a_stable_escaped_name(project_folder):
    assert image_file_stem(BAD_NAME) == "caf%E9 %FF.png" == image_file_stem(BAD_NAME)  # the same every run
    assert image_file_stem("100%.png") == "100%25.png"  # so no two names share a file
    assert display_name(BAD_NAME) == "caf\\xe9 \\xff.png"
    project = _open(project_folder)
    tracker = ChangeTracker(project)
    _label(project, BAD_NAME)
    _label(project, "a.png")
    _save_all(project, tracker)
    path = SidecarPaths(project_folder).image_file(BAD_NAME)
    assert path.name == "caf%E9 %FF.png.json" and path.exists()
    again = _open(project_folder)
    image = again.dataset.image_by_name(BAD_NAME)
    assert image is not None and len(again.dataset.annotations(image.id)) == 1
    assert image.id not in again.missing and again.path(image.id) == project_folder / BAD_NAME


def test_every_hostile_file_is_set_aside_with_one_line_and_the_rest_loads_and_saves(project_folder, tmp_path):
    project = _open(project_folder)
    tracker = ChangeTracker(project)
    _label(project, "a.png")
    _label(project, "b.png")
    _save_all(project, tracker)
    annotations = SidecarPaths(project_folder).annotations_dir
    for name, (data, _said) in CORPUS.items():
        (annotations / name).write_bytes(data)
    before_outside = sorted(p.name for p in tmp_path.iterdir())

    again = _open(project_folder)
    problems = again.stored.problems
    assert len(problems) == len(CORPUS)
    for name, (_data, said) in CORPUS.items():
        (line,) = [p for p in problems if f"{name}:" in p]
        assert said in line and "\n" not in line and "set-aside" in line, line
        assert not (annotations / name).exists()
    kept = sorted(p.name for p in SidecarPaths(project_folder).set_aside_dir.iterdir())
    assert [name.split(".png.")[0] for name in kept] == sorted(name.split(".png.")[0] for name in CORPUS)
    for name in GOOD:  # the rest of the project loads...
        assert len(again.dataset.annotations(again.dataset.image_by_name(name).id)) == 1
    tracker = ChangeTracker(again)
    _label(again, "b.png")  # ...and saves
    _label(again, BAD_NAME)
    _save_all(again, tracker)
    assert len(_open(project_folder).dataset.annotations(again.dataset.image_by_name("b.png").id)) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == before_outside  # nothing written outside


def test_any_exception_while_reading_one_file_stays_that_files_problem(project_folder, monkeypatch):
    project = _open(project_folder)
    tracker = ChangeTracker(project)
    _label(project, "a.png")
    _label(project, "b.png")
    _save_all(project, tracker)
    real = project_format.image_from_json

    def flaky(value, where, limits):
        if value["file_name"] == "b.png":
            raise MemoryError()  # as a decoder of an 800-byte file describing a huge mask once did
        if value["file_name"] == "a.png":
            raise RecursionError("maximum recursion depth exceeded")
        return real(value, where, limits)

    monkeypatch.setattr("app.model.io.sidecar.image_from_json", flaky)
    stored = read_sidecar(project_folder)
    assert sorted(p.split(":")[0].rsplit("/", 1)[-1] for p in stored.problems) == ["a.png.json", "b.png.json"]
    assert any("cannot be read (MemoryError)" in p for p in stored.problems)
    assert any("RecursionError: maximum recursion depth exceeded" in p for p in stored.problems)


def test_a_mask_memory_bomb_within_the_image_limit_is_refused_by_the_budget(project_folder):
    from sam_core.limits import Limits

    annotations = SidecarPaths(project_folder).annotations_dir
    annotations.mkdir(parents=True)
    full = [0, 2000 * 2000]  # a few bytes that decode to a 2000 x 2000 mask, 100 times
    doc = _header("a.png", 2000, 2000, annotations=[dict(_rle_annotation(full, (2000, 2000)), id=i) for i in range(100)])
    (annotations / "a.png.json").write_text(json.dumps(doc))
    (problem,) = read_sidecar(project_folder, limits=Limits(max_mask_pixels=10 * 2000 * 2000)).problems
    assert "a.png.json: annotations[10].segmentation: too big: its masks would need more than" in problem


def test_sidecar_folders_that_are_links_are_never_read_or_written_through(project_folder, tmp_path):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    paths = SidecarPaths(project_folder)
    paths.root.symlink_to(outside, target_is_directory=True)
    stored = read_sidecar(project_folder)
    assert stored.frozen and "is a symbolic link" in stored.frozen and "outside the project" in stored.frozen
    project = _open(project_folder)
    tracker = ChangeTracker(project)
    _label(project, "a.png")
    assert tracker.blocked and tracker.take() is None and tracker.pending  # kept in memory, not written
    assert list(outside.iterdir()) == []


@pytest.mark.parametrize("linked", ["annotations", "set-aside"])
def test_a_link_made_while_the_project_is_open_is_refused_at_write_time(project_folder, tmp_path, linked):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    project = _open(project_folder)
    tracker = ChangeTracker(project)
    _label(project, "a.png")
    _save_all(project, tracker)
    paths = SidecarPaths(project_folder)
    target = paths.root / linked
    if target.exists():
        for child in target.iterdir():
            child.unlink()
        target.rmdir()
    target.symlink_to(outside, target_is_directory=True)
    _label(project, "b.png")
    if linked == "set-aside":
        project._set_aside.add("a.png")  # as when an image's size changed since it was labelled
        project.events.set_aside_requested.emit("a.png")
    result = write_snapshot(tracker.take(), tracker.protected)
    assert not result.ok and list(outside.iterdir()) == []
    assert any(f"{target} is a symbolic link" in e and "writes only inside the project" in e for e in result.errors)
    tracker.retry(result.retry)
    assert tracker.pending


def test_a_broken_file_that_cannot_be_moved_aside_is_not_called_newer(project_folder, monkeypatch):
    project = _open(project_folder)
    tracker = ChangeTracker(project)
    _label(project, "a.png")
    _save_all(project, tracker)
    paths = SidecarPaths(project_folder)
    paths.image_file("a.png").write_text("{broken")

    def refuse(*_args):
        raise PermissionError(13, "Permission denied")  # a folder the user may not change (tests run as root)

    monkeypatch.setattr("app.model.io.sidecar.move_atomic", refuse)
    stored = read_sidecar(project_folder)
    (problem,) = stored.problems
    assert "invalid JSON" in problem and "could not be moved aside" in problem
    again = _open(project_folder)
    tracker = ChangeTracker(again)
    _label(again, "a.png")
    result = write_snapshot(tracker.take(), tracker.protected)
    (error,) = result.errors
    assert "could not be moved aside" in error and "newer" not in error
    assert paths.image_file("a.png").read_text() == "{broken"  # never written over


def test_a_fifo_in_the_annotations_folder_is_left_alone(project_folder):
    paths = SidecarPaths(project_folder)
    paths.annotations_dir.mkdir(parents=True)
    os.mkfifo(paths.image_file("a.png"))
    stored = read_sidecar(project_folder)  # returns: a FIFO is never opened
    (problem,) = stored.problems
    assert "a.png.json: not a regular file" in problem


def test_one_file_that_cannot_be_named_or_written_never_stops_the_others(project_folder, monkeypatch):
    project = _open(project_folder)
    tracker = ChangeTracker(project)
    _label(project, "a.png")
    _label(project, "b.png")
    real = SidecarPaths.image_file

    def image_file(self, name):
        if name == "a.png":
            raise UnicodeEncodeError("utf-8", name, 0, 1, "surrogates not allowed")  # what stopped autosave
        return real(self, name)

    monkeypatch.setattr(SidecarPaths, "image_file", image_file)
    result = write_snapshot(tracker.take(), tracker.protected)
    (error,) = result.errors
    assert "a.png" in error and "surrogates not allowed" in error
    assert real(SidecarPaths(project_folder), "b.png").exists()
    assert [s.record.file_name for s in result.retry.images] == ["a.png"]
