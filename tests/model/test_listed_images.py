"""A big folder is listed from headers first and decoded later: sizes confirmed or corrected,
unreadable images taken out or kept as missing, saved annotations never put on a wrong size;
and the image filter that the list and next/previous follow. Without Qt."""
from __future__ import annotations

import numpy as np
import pytest

from app.model import Annotation, Mask
from app.model.image_filter import ImageFilter
from app.model.io.sidecar import read_sidecar
from app.model.project import Project
from app.model.saving import ChangeTracker, write_snapshot

THUMB = np.zeros((4, 4, 3), np.uint8)


def box_mask(shape, y0=2, x0=3, size=5) -> Mask:
    full = np.zeros(shape, bool)
    full[y0:y0 + size, x0:x0 + size] = True
    return Mask.from_full(full)


@pytest.fixture
def folder(tmp_path):
    folder = tmp_path / "photos"
    (folder / "sub").mkdir(parents=True)
    return folder


def test_a_listed_image_gets_its_thumbnail_and_true_size_when_decoded(folder):
    project = Project(folder)
    changed, thumbs = [], []
    project.dataset.events.image_changed.connect(lambda e: changed.append((e.old.shape, e.value.shape)))
    project.events.thumbnail_changed.connect(lambda e: thumbs.append(e.value))
    turned = project.add_image(folder / "sub" / "turned.png", 40, 20, provisional=True)  # an EXIF quarter turn
    plain = project.add_image(folder / "plain.jpg", 30, 10, provisional=True)
    assert turned.file_name == "sub/turned.png" and project.unverified == {turned.id, plain.id}
    assert project.thumbnail(turned.id) is None
    project.verify(turned.id, 20, 40, THUMB, ("the decoder reported damaged data",))
    project.verify(plain.id, 30, 10, THUMB)
    assert project.dataset.images[turned.id].shape == (40, 20) and project.dataset.images[plain.id].shape == (10, 30)
    assert changed == [((20, 40), (40, 20))] and thumbs == [turned.id, plain.id] and not project.unverified
    assert project.thumbnail(plain.id) is THUMB and project.image_warnings[turned.id] == (
        "the decoder reported damaged data",)


def test_the_saved_size_wins_over_a_header_that_is_turned_a_quarter(folder):
    project = Project(folder)
    project.restore(read_sidecar(folder))  # none yet: what opening a folder does first
    tracker = ChangeTracker(project)
    image = project.add_image(folder / "a.png", 20, 40)
    project.dataset.add_annotation(Annotation(1, image.id, 1, box_mask(image.shape)))
    assert write_snapshot(tracker.take(), tracker.protected).ok
    again = Project(folder)
    again.restore(read_sidecar(folder))
    listed = again.add_image(folder / "a.png", 40, 20, provisional=True)  # the header, not EXIF-turned
    assert listed.shape == (40, 20) and len(again.dataset.annotations(listed.id)) == 1
    again.verify(listed.id, 20, 40, THUMB)  # the decode agrees with the saved size
    assert len(again.dataset.annotations(listed.id)) == 1


def test_annotations_on_a_size_the_decode_contradicts_are_set_aside(folder):
    project = Project(folder)
    image = project.add_image(folder / "a.png", 30, 20, provisional=True)
    project.dataset.add_annotation(Annotation(1, image.id, 1, box_mask(image.shape)))
    problems, aside = [], []
    project.events.problem.connect(lambda e: problems.append(e.value))
    project.events.set_aside_requested.connect(lambda e: aside.append(e.value))
    assert project.correct_size(image.id, 25, 20)
    assert project.dataset.images[image.id].shape == (20, 25) and project.dataset.annotations(image.id) == []
    assert "25x20, not 30x20" in problems[0] and aside == ["a.png"] and project.take_set_aside() == {"a.png"}
    assert not project.correct_size(image.id, 25, 20)  # nothing left to change


def test_an_unreadable_listed_image_goes_unless_something_of_it_is_kept(folder):
    project = Project(folder)
    empty = project.add_image(folder / "empty.jpg", 10, 10, provisional=True)
    done = project.add_image(folder / "done.jpg", 10, 10, provisional=True)
    shown = project.add_image(folder / "shown.jpg", 10, 10, provisional=True)
    project.set_done(done.id, True)
    for image in (empty, done):
        project.drop_unreadable(image.id)
    project.drop_unreadable(shown.id, keep=True)
    assert project.dataset.image_by_name("empty.jpg") is None and project.id_of(folder / "empty.jpg") is None
    assert project.missing == {done.id, shown.id} and not project.unverified


def test_the_filter_passes_by_words_status_and_annotations_and_keeps_the_current_image(folder):
    project = Project(folder)
    ids = [project.add_image(folder / name, 10, 10).id for name in ("cat_01.jpg", "Cat_02.jpg", "dog_01.jpg",
                                                                    "sub/cat dog.jpg")]
    project.set_done(ids[1], True)
    project.dataset.add_annotation(Annotation(1, ids[2], 1, box_mask((10, 10), 1, 1, 3)))
    assert ImageFilter().image_ids(project) == ids and not ImageFilter().active
    assert ImageFilter("CAT").image_ids(project) == [ids[0], ids[1], ids[3]]
    assert ImageFilter("cat dog").image_ids(project) == [ids[3]]  # every word, anywhere in the path
    assert ImageFilter(status="done").image_ids(project) == [ids[1]]
    assert ImageFilter(status="todo", annotations="empty").image_ids(project) == [ids[0], ids[3]]
    assert ImageFilter(annotations="labelled").image_ids(project, keep=ids[0]) == [ids[0], ids[2]]
    assert ImageFilter(status="todo").follows_edits and not ImageFilter("cat").follows_edits
    with pytest.raises(ValueError):
        ImageFilter(status="finished")
    visible = ImageFilter("cat").image_ids(project)
    assert project.neighbour(ids[1], 1, visible) == ids[3] and project.neighbour(ids[3], 1, visible) is None
    assert project.neighbour(ids[2], 1, visible) == ids[0]  # from outside the filter: its first image
