"""Builds the undoable commands of the labelling workflow (no Qt).

Document commands live in :mod:`app.model.commands`; this module adds the one
command that changes the prompt session (:class:`SetPrompts`) and composes
what a user action does: accepting a candidate adds an annotation *and* clears
the prompts, in one undo step; in "no overlap" mode it also takes the new
pixels away from the other annotations of the image.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from app.model import Annotation, Category, Dataset, Mask, Provenance, default_color
from app.model.commands import (
    AddAnnotations,
    AddCategory,
    Command,
    EditMask,
    RegionDiff,
    RemoveAnnotations,
    SetCategory,
    UpdateCategory,
    compound,
)
from app.model.mask_ops import take_from
from app.model.prompts import BoxCandidates, PromptSession, PromptState


class SetPrompts:
    """A change of the prompts (a click, a box, Backspace, Esc): the two states."""

    def __init__(self, session: PromptSession, after: PromptState, text: str) -> None:
        self.session, self.before, self.after, self.text = session, session.state(), after, text

    def redo(self) -> None:
        self.session.restore(self.after)

    def undo(self) -> None:
        self.session.restore(self.before)


def add_point(session: PromptSession, x: float, y: float, positive: bool) -> SetPrompts:
    text = "Positive point" if positive else "Negative point"
    return SetPrompts(session, session.with_point(x, y, positive), text)


def set_box(session: PromptSession, x0: float, y0: float, x1: float, y1: float) -> SetPrompts:
    return SetPrompts(session, session.with_box(x0, y0, x1, y1), "Box prompt")


def remove_last_prompt(session: PromptSession) -> SetPrompts | None:
    state = session.without_last()
    return None if state is None else SetPrompts(session, state, "Remove last prompt")


def clear_prompts(session: PromptSession, text: str = "Clear prompts") -> SetPrompts | None:
    return SetPrompts(session, PromptState(), text) if session.prompts else None


# -- annotations ----------------------------------------------------------------------------------------
def annotation_from_session(session: PromptSession, annotation_id: int, category_id: int) -> Annotation | None:
    """The session's selected candidate as an annotation, with its prompts and scores
    as provenance; None when there is no candidate or it is empty."""
    mask = session.selected_mask()
    if mask is None or not mask.any() or session.image_id is None:
        return None
    index = session.selected
    iou = float(session.candidates.iou_predictions[index])
    stability = float(session.candidates.stability_scores[index])
    provenance = Provenance(
        points=tuple((float(x), float(y)) for x, y in session.points),
        point_labels=tuple(int(v) for v in session.labels),
        box=None if session.box is None else tuple(float(v) for v in session.box),
        predicted_iou=None if np.isnan(iou) else iou,
        stability_score=None if np.isnan(stability) else stability,
        source="box" if isinstance(session.candidates, BoxCandidates) else "sam",
    )
    return Annotation(annotation_id, session.image_id, category_id, Mask.from_full(mask), provenance)


def take_from_others(dataset: Dataset, image_id: int, keep: set[int], pixels: np.ndarray, x: int, y: int,
                     ) -> list[Command]:
    """"No overlap": commands removing ``pixels`` (at x, y) from the image's other
    annotations; an annotation left empty is deleted."""
    others = [a for a in dataset.annotations(image_id) if a.id not in keep]
    commands: list[Command] = []
    emptied = []
    for annotation_id, diff in take_from(others, pixels, x, y):
        if diff.empties(dataset.annotation(annotation_id).mask):
            emptied.append(annotation_id)
        else:
            commands.append(EditMask(dataset, annotation_id, diff, "Take pixels"))
    if emptied:
        commands.append(RemoveAnnotations(dataset, emptied, "Remove covered annotations"))
    return commands


def add_annotation(dataset: Dataset, annotation: Annotation, text: str = "Accept mask",
                   no_overlap: bool = False) -> Command:
    """Add ``annotation``; with ``no_overlap`` its pixels leave the other annotations."""
    commands: list[Command] = []
    if no_overlap and not annotation.mask.is_empty:
        mask = annotation.mask
        commands = take_from_others(dataset, annotation.image_id, {annotation.id}, mask.crop, *mask.origin)
    return compound(text, [AddAnnotations(dataset, [annotation], text), *commands])


def accept(dataset: Dataset, session: PromptSession, annotation: Annotation, no_overlap: bool = False) -> Command:
    """Accepting a candidate: the annotation, and the prompts cleared, as one step."""
    return compound("Accept mask", [add_annotation(dataset, annotation, no_overlap=no_overlap),
                                    clear_prompts(session, "Accept mask")])


def edit_mask(dataset: Dataset, annotation_id: int, diff: RegionDiff | None, text: str,
              no_overlap: bool = False) -> Command | None:
    """Change an annotation's pixels by ``diff``; None when it changes nothing. An
    edit that leaves no pixel deletes the annotation instead (undo restores it)."""
    if diff is None:
        return None
    if diff.empties(dataset.annotation(annotation_id).mask):
        return RemoveAnnotations(dataset, [annotation_id], f"{text} (nothing left: annotation deleted)")
    commands: list[Command] = [EditMask(dataset, annotation_id, diff, text)]
    if no_overlap:
        image_id = dataset.annotation(annotation_id).image_id
        commands += take_from_others(dataset, image_id, {annotation_id}, *diff.gained)
    return compound(text, commands)


def remove_annotation(dataset: Dataset, annotation_id: int) -> Command:
    return RemoveAnnotations(dataset, [annotation_id])


def assign_category(dataset: Dataset, annotation_id: int, category_id: int) -> Command | None:
    command = SetCategory(dataset, [annotation_id], category_id)
    return command if command.changes_anything else None


# -- categories -----------------------------------------------------------------------------------------
def new_category(dataset: Dataset, name: str | None = None) -> AddCategory:
    new_id = dataset.new_category_id()
    return AddCategory(dataset, Category(new_id, name or f"category {new_id}", default_color(new_id)))


def rename_category(dataset: Dataset, category_id: int, name: str) -> Command | None:
    """None when nothing changes; an empty name keeps the old one."""
    old = dataset.categories[category_id]
    name = name.strip()
    if not name or name == old.name:
        return None
    return UpdateCategory(dataset, replace(old, name=name), "Rename category")


def recolor_category(dataset: Dataset, category_id: int, color: tuple[int, int, int]) -> Command | None:
    old = dataset.categories[category_id]
    color = tuple(int(c) for c in color)
    if color == old.color:
        return None
    return UpdateCategory(dataset, replace(old, color=color), "Recolour category")
