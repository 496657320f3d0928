"""Undoable changes to the document, each holding a minimal diff (no Qt).

A command is built from the state it is about to change and keeps only what the
change needs: immutable records (shared, never copied), a few ids, or the pixels
of one bounding box of a mask (:class:`RegionDiff`). ``redo`` applies it and
``undo`` reverts it, always through :class:`Dataset`'s methods so the events
fire. Both return ``None``, or a one-line note when they could not do all of
it (e.g. a category that annotations of other images still use is kept).

Histories are kept per image, so a command may be undone after other images'
commands changed shared records (categories); commands therefore re-add a
category they need when it has gone, rather than fail.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Protocol

import numpy as np

from app.model.annotation import Annotation, Category
from app.model.dataset import Dataset
from app.model.mask import Mask


class Command(Protocol):
    """What a history needs of a change: a label for menus and the two directions."""

    text: str

    def redo(self) -> str | None: ...

    def undo(self) -> str | None: ...


# -- pixels ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RegionDiff:
    """The pixels of a mask that a change touched: the box at column ``x``, row
    ``y`` (image frame) with its ``old`` and ``new`` (h, w) bool pixels.

    Only the tight box around pixels that differ is kept, so a stroke costs its
    bounding box, never a copy of the whole mask.
    """

    x: int
    y: int
    old: np.ndarray
    new: np.ndarray

    def __post_init__(self) -> None:
        for name in ("old", "new"):
            patch = np.array(getattr(self, name), dtype=bool, order="C")  # private copy
            patch.flags.writeable = False
            object.__setattr__(self, name, patch)
        if self.old.shape != self.new.shape:
            raise ValueError(f"old pixels {self.old.shape} and new pixels {self.new.shape} differ in shape")

    @classmethod
    def within(cls, before: Mask, x: int, y: int, new: np.ndarray) -> RegionDiff | None:
        """The diff that puts the (h, w) ``new`` pixels at (x, y) into ``before``,
        trimmed to the pixels that change; None when none do."""
        new = np.asarray(new, dtype=bool)
        old = before.region(x, y, new.shape[1], new.shape[0])
        changed = old != new
        rows = np.flatnonzero(changed.any(axis=1))
        if len(rows) == 0:
            return None
        cols = np.flatnonzero(changed.any(axis=0))
        r0, r1, c0, c1 = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
        return cls(x + int(c0), y + int(r0), old[r0:r1, c0:c1], new[r0:r1, c0:c1])

    @classmethod
    def between(cls, before: Mask, after: Mask) -> RegionDiff | None:
        """The diff from ``before`` to ``after`` (same image size); None when equal."""
        if before.shape != after.shape:
            raise ValueError(f"masks of different images: {before.shape} and {after.shape}")
        box = box_union((before.bbox, after.bbox))
        if box is None:
            return None
        x, y, w, h = box
        return cls.within(before, x, y, after.region(x, y, w, h))

    @property
    def bbox(self) -> tuple[int, int, int, int]:
        """XYWH of the stored box."""
        return self.x, self.y, self.old.shape[1], self.old.shape[0]

    @property
    def nbytes(self) -> int:
        return self.old.nbytes + self.new.nbytes

    @property
    def gained(self) -> tuple[np.ndarray, int, int]:
        """(pixels that became set, x, y): what a "no overlap" edit takes from others."""
        return self.new & ~self.old, self.x, self.y

    def empties(self, mask: Mask) -> bool:
        """Whether applying to ``mask`` (``old`` being its pixels in the box) leaves no
        pixel set; without building the new mask."""
        return not self.new.any() and mask.area == np.count_nonzero(self.old)

    def apply(self, mask: Mask) -> Mask:
        return mask.with_region(self.x, self.y, self.new)

    def revert(self, mask: Mask) -> Mask:
        return mask.with_region(self.x, self.y, self.old)


def box_union(boxes: Iterable[tuple[int, int, int, int]]) -> tuple[int, int, int, int] | None:
    """XYWH box around XYWH ``boxes`` (empty ones ignored); None when there are none."""
    boxes = [b for b in boxes if b[2] > 0 and b[3] > 0]
    if not boxes:
        return None
    x0, y0 = min(b[0] for b in boxes), min(b[1] for b in boxes)
    x1, y1 = max(b[0] + b[2] for b in boxes), max(b[1] + b[3] for b in boxes)
    return x0, y0, x1 - x0, y1 - y0


# -- helpers --------------------------------------------------------------------------------------------
def _ensure_categories(dataset: Dataset, categories: Iterable[Category]) -> None:
    """Re-add categories an undo on another image's history removed meanwhile."""
    for category in categories:
        if category.id not in dataset.categories:
            dataset.add_category(category)


def _categories_of(dataset: Dataset, annotations: Iterable[Annotation]) -> tuple[Category, ...]:
    ids = dict.fromkeys(a.category_id for a in annotations)
    return tuple(dataset.categories[i] for i in ids if i in dataset.categories)


# -- annotations ----------------------------------------------------------------------------------------
class AddAnnotations:
    """Add annotations (an accepted mask, a painted one, or a batch of automatic ones)."""

    def __init__(self, dataset: Dataset, annotations: Sequence[Annotation], text: str = "Accept mask") -> None:
        if not annotations:
            raise ValueError("nothing to add")
        self.dataset, self.annotations, self.text = dataset, tuple(annotations), text
        self._categories = _categories_of(dataset, self.annotations)

    def redo(self) -> None:
        _ensure_categories(self.dataset, self._categories)
        for annotation in self.annotations:
            self.dataset.add_annotation(annotation)

    def undo(self) -> None:
        for annotation in reversed(self.annotations):
            self.dataset.remove_annotation(annotation.id)


class RemoveAnnotations:
    """Delete annotations; undo puts each back in its place in its image's order."""

    def __init__(self, dataset: Dataset, annotation_ids: Iterable[int], text: str = "Delete annotation") -> None:
        records = [(dataset.annotation_index(i), dataset.annotation(i)) for i in dict.fromkeys(annotation_ids)]
        if not records:
            raise ValueError("nothing to delete")
        self.dataset, self.text = dataset, text
        # Re-adding in ascending position per image restores every position.
        self._records = tuple(sorted(records, key=lambda r: (r[1].image_id, r[0])))
        self._categories = _categories_of(dataset, (a for _, a in records))

    def redo(self) -> None:
        for _, annotation in reversed(self._records):
            self.dataset.remove_annotation(annotation.id)

    def undo(self) -> None:
        _ensure_categories(self.dataset, self._categories)
        for index, annotation in self._records:
            self.dataset.add_annotation(annotation, index=index)


class ReplaceAnnotations:
    """Swap in new versions of annotations (same ids, same places), e.g. boxes waiting for SAM
    that became masks; stores the old and new records (immutable, shared)."""

    def __init__(self, dataset: Dataset, annotations: Sequence[Annotation], text: str = "Replace annotations") -> None:
        if not annotations:
            raise ValueError("nothing to replace")
        self.dataset, self.text = dataset, text
        self._pairs = tuple((dataset.annotation(a.id), a) for a in annotations)
        self._categories = _categories_of(dataset, [a for pair in self._pairs for a in pair])

    def redo(self) -> None:
        _ensure_categories(self.dataset, self._categories)
        for _, new in self._pairs:
            self.dataset.replace_annotation(new)

    def undo(self) -> None:
        _ensure_categories(self.dataset, self._categories)
        for old, _ in reversed(self._pairs):
            self.dataset.replace_annotation(old)


class SetCategory:
    """Give annotations another category; stores only ids."""

    def __init__(self, dataset: Dataset, annotation_ids: Iterable[int], category_id: int,
                 text: str = "Change category") -> None:
        self.dataset, self.text = dataset, text
        self.category = dataset.categories[category_id]
        self._old = tuple((i, dataset.annotation(i).category_id) for i in dict.fromkeys(annotation_ids))
        self._old_categories = tuple(dataset.categories[c] for _, c in self._old)

    @property
    def changes_anything(self) -> bool:
        return any(old != self.category.id for _, old in self._old)

    def redo(self) -> None:
        _ensure_categories(self.dataset, (self.category,))
        for annotation_id, _ in self._old:
            self.dataset.replace_annotation(self.dataset.annotation(annotation_id).with_category(self.category.id))

    def undo(self) -> None:
        _ensure_categories(self.dataset, self._old_categories)
        for annotation_id, old in self._old:
            self.dataset.replace_annotation(self.dataset.annotation(annotation_id).with_category(old))


class SetReviewed:
    """Mark automatic annotations as accepted as they are (``reviewed``), or not; stores only
    ids and the old flags."""

    def __init__(self, dataset: Dataset, annotation_ids: Iterable[int], reviewed: bool = True,
                 text: str = "Accept automatic masks") -> None:
        self.dataset, self.text, self.reviewed = dataset, text, bool(reviewed)
        self._old = tuple((i, dataset.annotation(i).provenance.reviewed) for i in dict.fromkeys(annotation_ids))

    def _set(self, flags: Iterable[tuple[int, bool]]) -> None:
        for annotation_id, reviewed in flags:
            annotation = self.dataset.annotation(annotation_id)
            if annotation.provenance.reviewed != reviewed:
                provenance = replace(annotation.provenance, reviewed=reviewed)
                self.dataset.replace_annotation(replace(annotation, provenance=provenance))

    def redo(self) -> None:
        self._set((i, self.reviewed) for i, _ in self._old)

    def undo(self) -> None:
        self._set(self._old)


class EditMask:
    """Change the pixels of one annotation's mask (a brush stroke, a mask operation).

    Stores the :class:`RegionDiff` and the two provenance fields an edit resets
    (``edited`` and imported ``polygons``), so undo restores the record exactly.
    """

    def __init__(self, dataset: Dataset, annotation_id: int, diff: RegionDiff, text: str = "Brush stroke") -> None:
        annotation = dataset.annotation(annotation_id)
        self.dataset, self.annotation_id, self.diff, self.text = dataset, annotation_id, diff, text
        self._edited, self._polygons = annotation.provenance.edited, annotation.polygons

    def redo(self) -> None:
        annotation = self.dataset.annotation(self.annotation_id)
        self.dataset.replace_annotation(annotation.with_mask(self.diff.apply(annotation.mask)))

    def undo(self) -> None:
        annotation = self.dataset.annotation(self.annotation_id)
        provenance = replace(annotation.provenance, edited=self._edited)
        mask = self.diff.revert(annotation.mask)
        self.dataset.replace_annotation(replace(annotation, mask=mask, provenance=provenance, polygons=self._polygons))


# -- categories -----------------------------------------------------------------------------------------
class AddCategory:
    def __init__(self, dataset: Dataset, category: Category, text: str = "New category") -> None:
        self.dataset, self.category, self.text = dataset, category, text

    def redo(self) -> str | None:
        if self.category.id in self.dataset.categories:
            return None  # an annotation command brought it back already
        self.dataset.add_category(self.category)
        return None

    def undo(self) -> str | None:
        used = sum(1 for a in self.dataset.annotations() if a.category_id == self.category.id)
        if used:
            name = self.dataset.categories[self.category.id].name
            return f"Kept category {name!r}: {used} annotation{'s' * (used != 1)} still use it"
        if self.category.id in self.dataset.categories:
            self.dataset.remove_category(self.category.id)
        return None


class UpdateCategory:
    """Rename or recolour: the old and new records."""

    def __init__(self, dataset: Dataset, new: Category, text: str) -> None:
        self.dataset, self.new, self.text = dataset, new, text
        self.old = dataset.categories[new.id]

    def _set(self, category: Category) -> None:
        if category.id in self.dataset.categories:
            self.dataset.update_category(category)
        else:
            self.dataset.add_category(category)

    def redo(self) -> None:
        self._set(self.new)

    def undo(self) -> None:
        self._set(self.old)


# -- grouping -------------------------------------------------------------------------------------------
class Compound:
    """Several commands as one undo step (applied in order, reverted in reverse)."""

    def __init__(self, text: str, commands: Sequence[Command]) -> None:
        self.text, self.commands = text, tuple(commands)

    def redo(self) -> str | None:
        return _join(c.redo() for c in self.commands)

    def undo(self) -> str | None:
        return _join(c.undo() for c in reversed(self.commands))


def compound(text: str, commands: Iterable[Command | None]) -> Command | None:
    """One command of the given ones (Nones skipped); None when there are none."""
    commands = [c for c in commands if c is not None]
    if not commands:
        return None
    return commands[0] if len(commands) == 1 else Compound(text, commands)


def _join(notes: Iterable[str | None]) -> str | None:
    notes = [n for n in notes if n]
    return "; ".join(notes) if notes else None
