"""Undoable document edits, without Qt."""
from __future__ import annotations

import numpy as np

from app import edits
from app.history import History
from app.model import Category, Dataset, ImageRecord
from app.session import BoxCandidates, PromptSession


def make_dataset() -> Dataset:
    dataset = Dataset()
    dataset.add_image(ImageRecord(1, "a.png", 40, 30))
    dataset.add_category(Category(1, "object", (255, 0, 0)))
    return dataset


def accepted(dataset: Dataset, history: History, box) -> int:
    session = PromptSession(1, (30, 40))
    session.set_box(*box)
    session.set_candidates(BoxCandidates(tuple(session.box), (30, 40)))
    annotation = edits.annotation_from_session(session, dataset.new_annotation_id(), 1)
    history.push(edits.add_annotation(dataset, annotation))
    return annotation.id


def test_accept_delete_recategorise_undo_redo():
    dataset, history = make_dataset(), History()
    a = accepted(dataset, history, (0, 0, 10, 10))
    b = accepted(dataset, history, (20, 10, 30, 20))
    annotation = dataset.annotation(a)
    assert annotation.area == 100 and annotation.provenance.box == (0.0, 0.0, 10.0, 10.0)
    assert annotation.provenance.source == "brush" and annotation.provenance.predicted_iou is None
    history.push(edits.remove_annotation(dataset, a))
    assert [x.id for x in dataset.annotations(1)] == [b]
    assert history.undo() == "Delete annotation"
    assert [x.id for x in dataset.annotations(1)] == [a, b]  # back in its place, same id
    assert dataset.annotation(a) is annotation  # the same record: nothing was copied

    category = history.push(edits.new_category(dataset, "car"))
    history.push(edits.assign_category(dataset, b, category.id))
    assert dataset.annotation(b).category_id == category.id
    history.undo()
    history.undo()
    assert dataset.annotation(b).category_id == 1 and category.id not in dataset.categories
    history.redo()
    assert dataset.categories[category.id].name == "car"
    assert edits.assign_category(dataset, b, 1) is None  # no change, no command


def test_rename_and_recolour_are_undoable_and_no_ops_are_skipped():
    dataset, history = make_dataset(), History()
    assert edits.rename_category(dataset, 1, "  ") is None
    assert edits.rename_category(dataset, 1, "object") is None
    history.push(edits.rename_category(dataset, 1, " person "))
    history.push(edits.recolor_category(dataset, 1, np.array([0, 128, 255])))
    assert dataset.categories[1] == Category(1, "person", (0, 128, 255))
    history.undo()
    history.undo()
    assert dataset.categories[1] == Category(1, "object", (255, 0, 0))
    assert history.can_redo and not history.can_undo
    history.push(edits.new_category(dataset))
    assert not history.can_redo  # a new edit forgets the undone ones
