"""Changes to the document, as undoable :class:`Command` s (no Qt).

Each function validates and returns a command; ``History.push`` applies it
through :class:`Dataset`'s methods, which emit the events the panels follow.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from app.history import Command
from app.model import Annotation, Category, Dataset, Mask, Provenance, default_color
from app.session import BoxCandidates, PromptSession


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
        source="brush" if isinstance(session.candidates, BoxCandidates) else "sam",
    )
    return Annotation(annotation_id, session.image_id, category_id, Mask.from_full(mask), provenance)


def add_annotation(dataset: Dataset, annotation: Annotation) -> Command:
    return Command(
        "Accept mask",
        lambda: dataset.add_annotation(annotation),
        lambda: dataset.remove_annotation(annotation.id),
    )


def remove_annotation(dataset: Dataset, annotation_id: int) -> Command:
    annotation = dataset.annotation(annotation_id)
    index = dataset.annotation_index(annotation_id)
    return Command(
        "Delete annotation",
        lambda: dataset.remove_annotation(annotation_id),
        lambda: dataset.add_annotation(annotation, index=index),
    )


def assign_category(dataset: Dataset, annotation_id: int, category_id: int) -> Command | None:
    old = dataset.annotation(annotation_id)
    if old.category_id == category_id:
        return None
    new = old.with_category(category_id)
    return Command("Change category", lambda: dataset.replace_annotation(new), lambda: dataset.replace_annotation(old))


def new_category(dataset: Dataset, name: str | None = None) -> Command:
    new_id = dataset.new_category_id()
    category = Category(new_id, name or f"category {new_id}", default_color(new_id))
    return Command(
        "New category",
        lambda: dataset.add_category(category),
        lambda: dataset.remove_category(new_id),
    )


def _update_category(dataset: Dataset, text: str, new: Category) -> Command:
    old = dataset.categories[new.id]
    return Command(text, lambda: dataset.update_category(new), lambda: dataset.update_category(old))


def rename_category(dataset: Dataset, category_id: int, name: str) -> Command | None:
    """None when nothing changes; an empty name keeps the old one."""
    old = dataset.categories[category_id]
    name = name.strip()
    if not name or name == old.name:
        return None
    return _update_category(dataset, "Rename category", replace(old, name=name))


def recolor_category(dataset: Dataset, category_id: int, color: tuple[int, int, int]) -> Command | None:
    old = dataset.categories[category_id]
    color = tuple(int(c) for c in color)
    if color == old.color:
        return None
    return _update_category(dataset, "Recolour category", replace(old, color=color))
