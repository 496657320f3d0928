"""From what a file holds to undoable changes of the open project (no Qt).

:func:`plan_import` (run off the UI thread on a snapshot of the project's image
list) matches the file's image entries to the project's images
(:mod:`app.model.io.matching`), makes each annotation's mask at its image's size,
and counts what it had to skip. The plan says what did not match, which
categories are new and how many matched images already have annotations, so
the user can choose to add or to replace. :func:`apply_plan` (UI thread) turns
it into one undoable step per image on that image's history; the categories it
creates go with the first image's step.

For *Import automatic masks* (``auto=True``) every mask becomes an annotation of
one category whose source is ``auto``, to review in the Automatic panel, and
masks that mostly cover the image's annotations are dropped, as segment
everything drops them.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from app.model.annotation import Annotation, AttributeValue, Category, Provenance, default_color
from app.model.commands import AddAnnotations, AddCategory, Command, RemoveAnnotations, compound
from app.model.dataset import Dataset
from app.model.history import History
from app.model.io.imported import BoxShape, GeometryError, ImportedCategory, ImportedFile, PolygonShape
from app.model.io.matching import NameIndex, ProjectImage
from app.model.io.skips import Skipped, plural
from app.model.mask import Mask

COVERED_THRESH = 0.5  # an automatic mask with more than this share of its pixels on annotations is dropped


@dataclass(frozen=True)
class PlannedAnnotation:
    """A mask (empty for a box waiting for SAM) ready to become an annotation of ``category``."""

    category: str
    mask: Mask
    provenance: Provenance
    iscrowd: bool = False
    polygons: tuple[tuple[float, ...], ...] | None = None
    attributes: tuple[tuple[str, AttributeValue], ...] = ()


@dataclass
class PlannedImage:
    image_id: int
    name: str
    annotations: list[PlannedAnnotation] = field(default_factory=list)
    existing: tuple[Mask, ...] = ()  # the image's masks when planned (automatic masks only)


@dataclass
class ImportPlan:
    """What an import would do: ``format`` as the reader named it, the images it matched, the
    entries it could not match (``unmatched``: "name: why"), the categories its annotations use
    (in the file's order) and what it skipped."""

    source: Path
    format: str
    images: list[PlannedImage] = field(default_factory=list)
    unmatched: list[str] = field(default_factory=list)
    categories: list[ImportedCategory] = field(default_factory=list)
    skipped: Skipped = field(default_factory=Skipped)
    files: int = 1
    entries: int = 0  # image entries in the file
    auto: bool = False
    dropped: int = 0  # automatic masks dropped for covering annotations
    embeddings: int = 0  # embeddings copied into the disk cache (automatic masks with an embeddings folder)

    @property
    def masks(self) -> int:
        return sum(1 for i in self.images for a in i.annotations if not a.mask.is_empty)

    @property
    def boxes(self) -> int:
        return sum(1 for i in self.images for a in i.annotations if a.mask.is_empty)

    def new_categories(self, dataset: Dataset) -> list[ImportedCategory]:
        """The categories the import would create: used by its annotations, unknown to ``dataset``."""
        used = {a.category for i in self.images for a in i.annotations}
        return [c for c in self.categories if c.name in used and dataset.category_by_name(c.name) is None]

    def images_with_annotations(self, dataset: Dataset) -> int:
        return sum(1 for i in self.images if i.annotations and i.image_id in dataset.images
                   and dataset.annotations(i.image_id))

    def summary(self) -> str:
        """One line: "train.json (COCO): 120 masks and 4 boxes for 30 images; 2 entries unmatched"."""
        what = [f"{self.masks} {plural('mask', self.masks)}"]
        if self.boxes:
            what.append(f"{self.boxes} {plural('box', self.boxes)} waiting for SAM")
        images = sum(1 for i in self.images if i.annotations)
        text = f"{self.source.name} ({self.format}): {' and '.join(what)} for {images} {plural('image', images)}"
        if self.unmatched:
            text += f"; {len(self.unmatched)} {plural('image entry', len(self.unmatched))} matched no image"
        if self.dropped:
            text += f"; {self.dropped} {plural('mask', self.dropped)} dropped (mostly on annotations)"
        if self.skipped:
            text += f"; {self.skipped.total} {plural('part', self.skipped.total)} skipped"
        return text


def project_images(dataset: Dataset) -> list[ProjectImage]:
    """The snapshot :func:`plan_import` matches against."""
    return [ProjectImage(i.id, i.file_name, i.height, i.width) for i in dataset.images.values()]


def plan_import(parsed: ImportedFile, images: Sequence[ProjectImage], *, auto: bool = False,
                existing: Mapping[int, tuple[Mask, ...]] | None = None,
                progress: Callable[[int, int], None] | None = None) -> ImportPlan:
    """Match, rasterise and count (see the module docstring); ``existing`` holds each image's masks
    for ``auto`` imports."""
    plan = ImportPlan(parsed.path, parsed.format, categories=list(parsed.categories), files=parsed.files,
                      entries=len(parsed.images), auto=auto)
    plan.skipped.extend(parsed.skipped)
    index = NameIndex(images)
    taken: dict[int, str] = {}
    for done, entry in enumerate(parsed.images, start=1):
        image, why = index.find(entry.name, entry.stem)
        if image is not None and image.id in taken:
            image, why = None, f"{taken[image.id]} matched the same image"
        if image is None:
            plan.unmatched.append(f"{entry.name}: {why}")
        elif entry.size is not None and entry.size != (image.height, image.width):
            h, w = entry.size
            plan.unmatched.append(f"{entry.name}: {w}x{h} in the file but {image.width}x{image.height} in the project")
        else:
            taken[image.id] = entry.name
            planned = PlannedImage(image.id, image.name, existing=tuple((existing or {}).get(image.id, ())))
            for annotation in entry.annotations:
                made = _rasterise(annotation, image, plan.skipped, entry.where)
                if made is not None:
                    planned.annotations.append(_as_auto(made) if auto else made)
            if auto:
                plan.dropped += _drop_covered(planned, planned.existing, (image.height, image.width))
            plan.images.append(planned)
        if progress is not None:
            progress(done, len(parsed.images))
    return plan


def _rasterise(annotation, image: ProjectImage, skipped: Skipped, where: str) -> PlannedAnnotation | None:
    shape, size = annotation.shape, (image.height, image.width)
    provenance = annotation.provenance or Provenance(source="import")
    try:
        if isinstance(shape, BoxShape):
            box = shape.xyxy(*size)
            return PlannedAnnotation(annotation.category, Mask.empty(*size), replace(provenance, box=box),
                                     annotation.iscrowd, None, annotation.attributes)
        pixels = shape.raster(*size)
    except GeometryError as exc:
        skipped.add("annotation", str(exc), where)
        return None
    mask = pixels if isinstance(pixels, Mask) else Mask.from_full(pixels)
    if mask.is_empty:
        skipped.add("annotation", "with no pixel inside its image", where)
        return None
    polygons = None
    if annotation.keep_polygons and not annotation.iscrowd and isinstance(shape, PolygonShape) and not shape.normalized:
        polygons = shape.polygons
    return PlannedAnnotation(annotation.category, mask, provenance, annotation.iscrowd, polygons,
                             annotation.attributes)


def _as_auto(planned: PlannedAnnotation) -> PlannedAnnotation:
    return replace(planned, provenance=replace(planned.provenance, source="auto", edited=False, reviewed=False),
                   polygons=None)


def _drop_covered(planned: PlannedImage, existing: Sequence[Mask], shape: tuple[int, int]) -> int:
    """Drop automatic masks (and boxes) with more than :data:`COVERED_THRESH` of their pixels on
    ``existing``; returns how many went."""
    kept = [a for a in planned.annotations if not a.mask.is_empty]
    if not existing:
        planned.annotations = kept
        return 0
    taken = np.zeros(shape, dtype=bool)
    for mask in existing:
        x, y, w, h = mask.bbox
        taken[y : y + h, x : x + w] |= mask.crop
    keep = []
    for a in kept:
        x, y, w, h = a.mask.bbox
        if np.count_nonzero(a.mask.crop & taken[y : y + h, x : x + w]) <= COVERED_THRESH * a.mask.area:
            keep.append(a)
    planned.annotations = keep
    return len(kept) - len(keep)


# -- applying (UI thread) ---------------------------------------------------------------------------
@dataclass
class Applied:
    images: int = 0
    annotations: int = 0
    replaced: int = 0  # annotations removed by "replace"
    categories: list[str] = field(default_factory=list)  # created
    dropped: int = 0


def apply_plan(dataset: Dataset, history: History, plan: ImportPlan, mode: str = "add",
               category: int | None = None) -> Applied:
    """Apply ``plan``: per image one undo step on its history. ``mode`` "replace" first removes the
    image's annotations (in the same step). ``category``: the one all masks get (``auto`` plans)."""
    if mode not in ("add", "replace"):
        raise ValueError(f"mode must be 'add' or 'replace', got {mode!r}")
    applied = Applied()
    pending: list[Command] = list(_category_commands(dataset, plan, category))
    applied.categories = [c.category.name for c in pending]
    ids = {c.name: c.id for c in dataset.categories.values()} | {c.category.name: c.category.id for c in pending}
    label = f"Import {plan.source.name}"
    for planned in plan.images:
        if planned.image_id not in dataset.images:
            continue  # the image left the project meanwhile
        now = tuple(a.mask for a in dataset.annotations(planned.image_id))
        if plan.auto and not _same(planned.existing, now):
            applied.dropped += _drop_covered(planned, now, dataset.images[planned.image_id].shape)
        if not planned.annotations:
            continue
        removed = [a.id for a in dataset.annotations(planned.image_id)] if mode == "replace" else []
        annotations = _annotations(dataset, planned, category, ids)
        # The new categories go with the first image's step, before the annotations that use them.
        step = compound(label, [*pending, RemoveAnnotations(dataset, removed, label) if removed else None,
                                AddAnnotations(dataset, annotations, label)])
        pending = []
        history.push(step, image_id=planned.image_id)
        applied.images += 1
        applied.annotations += len(annotations)
        applied.replaced += len(removed)
    return applied


def _category_commands(dataset: Dataset, plan: ImportPlan, category: int | None) -> list[AddCategory]:
    if category is not None:
        return []
    commands, next_id = [], dataset.new_category_id()
    for imported in plan.new_categories(dataset):
        color = imported.color or default_color(next_id)
        commands.append(AddCategory(dataset, Category(next_id, imported.name, color, imported.supercategory),
                                    "New category"))
        next_id += 1
    return commands


def _annotations(dataset: Dataset, planned: PlannedImage, category: int | None, ids: dict[str, int]
                 ) -> list[Annotation]:
    first = dataset.new_annotation_id()
    out = []
    for n, a in enumerate(planned.annotations):
        category_id = category if category is not None else ids[a.category]
        out.append(Annotation(first + n, planned.image_id, category_id, a.mask, a.provenance, a.iscrowd, a.polygons,
                              a.attributes))
    return out


def _same(a: tuple, b: tuple) -> bool:
    return len(a) == len(b) and all(x is y for x, y in zip(a, b))


__all__ = ["Applied", "ImportPlan", "PlannedAnnotation", "PlannedImage", "apply_plan", "plan_import",
           "project_images"]
