"""Per-image undo stacks over the model's commands, and the workflow's edits (no Qt)."""
from __future__ import annotations

import numpy as np

from app.model import Category, Dataset, ImageRecord, edits
from app.model.history import History
from app.model.prompts import BoxCandidates, PromptSession


def make_dataset() -> Dataset:
    dataset = Dataset()
    dataset.add_image(ImageRecord(1, "a.png", 40, 30))
    dataset.add_image(ImageRecord(2, "b.png", 40, 30))
    dataset.add_category(Category(1, "object", (255, 0, 0)))
    return dataset


def depth(history: History) -> int:
    """How many steps the current stack can undo (undone and redone again, so nothing changes)."""
    steps = 0
    while history.undo() is not None:
        steps += 1
    for _ in range(steps):
        history.redo()
    return steps


def boxed(session: PromptSession, history: History, box) -> None:
    history.push(edits.set_box(session, *box))
    session.set_candidates(BoxCandidates(tuple(session.box), session.shape))


def test_accept_is_one_step_with_its_prompts_and_each_image_has_its_own_stack():
    dataset, history, session = make_dataset(), History(), PromptSession(1, (30, 40))
    history.set_image(1)
    boxed(session, history, (0, 0, 10, 10))
    annotation = edits.annotation_from_session(session, dataset.new_annotation_id(), 1)
    assert annotation.provenance.source == "box" and annotation.provenance.box == (0.0, 0.0, 10.0, 10.0)
    history.push(edits.accept(dataset, session, annotation))
    assert session.prompts == [] and dataset.annotation(annotation.id) is annotation
    assert depth(history) == 2 and history.undo_text == "Accept mask" and not history.can_redo

    # Another image: its own, empty history; image 1's prompts wait for it.
    history.set_image(2)
    session.reset(2, (30, 40))
    assert history.undo() is None and not history.can_undo
    boxed(session, history, (5, 5, 20, 20))
    history.set_image(1)
    session.reset(1, (30, 40))
    assert session.prompts == []

    assert history.undo() == "Accept mask"  # the annotation goes, the box prompt comes back
    assert dataset.annotations(1) == [] and session.box.tolist() == [0, 0, 10, 10]
    assert history.undo() == "Box prompt" and session.prompts == []
    assert history.redo() == "Box prompt"
    assert history.redo() == "Accept mask"
    assert dataset.annotation(annotation.id) is annotation and session.prompts == []
    assert history.redo() is None

    history.set_image(2)
    session.reset(2, (30, 40))
    assert session.box.tolist() == [5, 5, 20, 20]  # kept while image 1 was shown
    assert history.undo() == "Box prompt" and session.prompts == []
    history.clear()  # another folder
    for image_id in (1, 2):
        history.set_image(image_id)
        assert depth(history) == 0 and not history.can_redo and history.undo_text == history.redo_text == ""


def test_no_overlap_accept_takes_pixels_and_removes_covered_annotations():
    dataset, history, session = make_dataset(), History(), PromptSession(1, (30, 40))
    history.set_image(1)
    accepted = []
    for box in [(0, 0, 10, 10), (20, 0, 24, 4), (5, 5, 30, 20)]:
        boxed(session, history, box)
        annotation = edits.annotation_from_session(session, dataset.new_annotation_id(), 1)
        history.push(edits.accept(dataset, session, annotation, no_overlap=len(accepted) == 2))
        accepted.append(annotation)
    first, small, big = accepted
    masks = {a.id: a.mask.full_mask() for a in dataset.annotations(1)}
    assert not (masks[first.id] & masks[big.id]).any()  # the new mask took the overlap
    assert masks[first.id].sum() == 100 - 25 and masks[big.id].sum() == 25 * 15
    assert masks[small.id].sum() == 16  # no overlap with it: untouched
    # Covering an annotation entirely removes it, in the same undo step.
    boxed(session, history, (18, 0, 26, 6))
    cover = edits.annotation_from_session(session, dataset.new_annotation_id(), 1)
    history.push(edits.accept(dataset, session, cover, no_overlap=True))
    assert small.id not in {a.id for a in dataset.annotations(1)}
    assert history.undo() == "Accept mask"
    assert {a.id: a.mask.full_mask().tobytes() for a in dataset.annotations(1)} == {
        k: v.tobytes() for k, v in masks.items()}
    assert history.undo() == "Box prompt"
    assert history.undo() == "Accept mask"  # the big one: the first annotation gets its pixels back
    assert np.array_equal(dataset.annotation(first.id).mask.full_mask(), np.pad(np.ones((10, 10), bool),
                                                                                ((0, 20), (0, 30))))


def test_notes_and_failures_are_reported_not_swallowed():
    dataset, history = make_dataset(), History()
    history.set_image(1)
    create = edits.new_category(dataset, "car")
    history.push(create)
    history.push(edits.rename_category(dataset, create.category.id, " truck "))
    assert edits.rename_category(dataset, create.category.id, "  ") is None
    assert edits.recolor_category(dataset, 1, (255, 0, 0)) is None
    boxed_session = PromptSession(1, (30, 40))
    boxed(boxed_session, history, (0, 0, 10, 10))
    annotation = edits.annotation_from_session(boxed_session, dataset.new_annotation_id(), create.category.id)
    history.set_image(2)  # the annotation is made "on another image's history"
    history.push(edits.add_annotation(dataset, annotation))
    history.set_image(1)
    history.undo()  # the box prompt
    notes, failures = [], []
    history.events.note.connect(lambda event: notes.append(event.value))
    history.events.failed.connect(lambda event: failures.append(event.value))
    history.undo()  # the rename
    history.undo()  # the creation: still used by the other image's annotation
    assert notes == ["Kept category 'car': 1 annotation still use it"]
    assert dataset.categories[create.category.id].name == "car"

    class Broken:
        text = "Broken"

        def redo(self):
            return None

        def undo(self):
            raise RuntimeError("the model disagrees")

    history.push(Broken())
    assert history.undo() == "Broken"
    assert len(failures) == 1 and "the model disagrees" in failures[0]
    assert history.undo_text == "Broken" and not history.can_redo  # a failed undo leaves the stack as it was


class Counter:
    """A command that adds ``step`` to a shared total."""

    def __init__(self, total: list[int], step: int, text: str = "Count") -> None:
        self.total, self.step, self.text = total, step, text

    def redo(self):
        self.total[0] += self.step

    def undo(self):
        self.total[0] -= self.step


def test_a_new_command_drops_what_could_be_redone_and_the_limit_drops_the_oldest():
    history, total, changes = History(limit=3), [0], []
    history.events.changed.connect(lambda event: changes.append(event.value))
    history.set_image(7)
    for step in (1, 2, 4, 8):
        history.push(Counter(total, step, f"+{step}"))
    assert total == [15] and depth(history) == 3  # the oldest (+1) fell off; its effect stays
    assert history.undo() == "+8" and history.redo_text == "+8"
    history.push(Counter(total, 16, "+16"))
    assert total == [23] and not history.can_redo and history.undo_text == "+16"
    history.push(Counter(total, 100, "elsewhere"), image_id=8)  # another image's stack: undo here does not see it
    assert history.undo_text == "+16" and total == [123]
    history.set_image(8)
    assert history.undo() == "elsewhere" and total == [23] and history.undo() is None
    assert changes and set(changes) <= {7, 8}


def test_applying_brackets_every_command_so_views_redraw_once():
    history, total, seen = History(), [0], []
    history.events.applying.connect(lambda event: seen.append(event.value))
    history.push(Counter(total, 1))
    history.undo()
    history.redo()
    assert seen == [True, False] * 3
