"""The document: images, categories and annotations, observable without Qt.

A :class:`Dataset` holds immutable records and changes only through its
methods, each of which validates first, applies the change, then emits one
event on ``dataset.events`` (see :class:`Dataset` for the list). Undoable
commands call these methods; widgets subscribe to the events.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from types import MappingProxyType

from app.model.annotation import Annotation, Category, ImageRecord
from app.model.drawing_order import DrawingOrder
from app.model.events import EmitterGroup

EVENT_NAMES: tuple[str, ...] = (
    "image_added",
    "image_changed",
    "image_removed",
    "category_added",
    "category_changed",
    "category_removed",
    "annotation_added",
    "annotation_changed",
    "annotation_removed",
)


class Dataset:
    """Images with their annotations, plus categories.

    Events, emitted after the change, with ``event.value`` / ``event.old``:

    - ``image_added`` (ImageRecord), ``image_changed`` (new, old: its size, learnt when it was
      decoded), ``image_removed`` (ImageRecord; its
      annotations are removed first, each with ``annotation_removed``)
    - ``category_added`` (Category), ``category_changed`` (new, old),
      ``category_removed`` (Category)
    - ``annotation_added`` (Annotation), ``annotation_changed`` (new, old),
      ``annotation_removed`` (Annotation)

    Ids are non-negative ints (files from other tools may start at 0).
    ``new_*_id()`` never hands out an id used earlier in this dataset's life, so
    an undo that re-adds a removed record keeps its id.
    Each image's annotations keep an order (later ones are drawn on top); adding,
    removing and finding one's position cost the same however many the image has.
    """

    def __init__(self) -> None:
        self.events = EmitterGroup(self, EVENT_NAMES)
        self._images: dict[int, ImageRecord] = {}
        self._image_ids_by_name: dict[str, int] = {}
        self._categories: dict[int, Category] = {}
        self._annotations: dict[int, Annotation] = {}
        self._order: dict[int, DrawingOrder] = {}  # per image
        self._next_ids = {"image": 1, "category": 1, "annotation": 1}

    # -- reading ------------------------------------------------------------

    @property
    def images(self) -> Mapping[int, ImageRecord]:
        """Read-only view of images by id, in insertion order."""
        return MappingProxyType(self._images)

    @property
    def categories(self) -> Mapping[int, Category]:
        """Read-only view of categories by id, in insertion order."""
        return MappingProxyType(self._categories)

    def image_by_name(self, file_name: str) -> ImageRecord | None:
        image_id = self._image_ids_by_name.get(file_name)
        return None if image_id is None else self._images[image_id]

    def category_by_name(self, name: str) -> Category | None:
        return next((c for c in self._categories.values() if c.name == name), None)

    def annotation(self, annotation_id: int) -> Annotation:
        """The annotation with this id; ``KeyError`` when there is none."""
        return self._annotations[annotation_id]

    def annotations(self, image_id: int | None = None) -> list[Annotation]:
        """Annotations of one image in drawing order, or of all images, image by image."""
        if image_id is None:
            return [self._annotations[a] for order in self._order.values() for a in order]
        return [self._annotations[a] for a in self._order[image_id]]

    def annotation_ids(self, image_id: int) -> list[int]:
        """Ids of one image's annotations in drawing order (a new list)."""
        return list(self._order[image_id].ids)

    def annotation_count_of(self, image_id: int) -> int:
        """How many annotations the image has (without listing them)."""
        return len(self._order[image_id])

    def annotation_index(self, annotation_id: int) -> int:
        """Position of the annotation among its image's annotations."""
        return self._order[self._annotations[annotation_id].image_id].index(annotation_id)

    def order_key(self, annotation_id: int) -> int:
        """A number that sorts annotations of one image into drawing order (it may change
        between changes of the document; the order it gives never does)."""
        return self._order[self._annotations[annotation_id].image_id].key(annotation_id)

    @property
    def annotation_count(self) -> int:
        return len(self._annotations)

    def new_image_id(self) -> int:
        return self._next_ids["image"]

    def new_category_id(self) -> int:
        return self._next_ids["category"]

    def new_annotation_id(self) -> int:
        return self._next_ids["annotation"]

    def _claim(self, kind: str, record_id: int, taken: Mapping[int, object]) -> None:
        if isinstance(record_id, bool) or not isinstance(record_id, int) or record_id < 0:
            raise ValueError(f"{kind} id must be a non-negative int, got {record_id!r}")
        if record_id in taken:
            raise ValueError(f"{kind} id {record_id} is already in use")
        self._next_ids[kind] = max(self._next_ids[kind], record_id + 1)

    # -- images -------------------------------------------------------------

    def add_image(self, image: ImageRecord) -> ImageRecord:
        if image.file_name in self._image_ids_by_name:
            raise ValueError(f"image {image.file_name!r} is already in the dataset")
        self._claim("image", image.id, self._images)
        self._images[image.id] = image
        self._image_ids_by_name[image.file_name] = image.id
        self._order[image.id] = DrawingOrder()
        self.events.image_added.emit(image)
        return image

    def resize_image(self, image_id: int, width: int, height: int) -> ImageRecord:
        """Give an image without annotations its true size (a listing read it from the header,
        which an EXIF rotation can contradict); masks of another size would no longer fit it."""
        old = self._images[image_id]
        if len(self._order[image_id]):
            raise ValueError(f"image {old.file_name!r} has annotations: its size cannot change")
        image = replace(old, width=int(width), height=int(height))
        self._images[image_id] = image
        self.events.image_changed.emit(image, old)
        return image

    def remove_image(self, image_id: int) -> ImageRecord:
        """Remove an image and, first, all its annotations."""
        image = self._images[image_id]
        for annotation_id in reversed(list(self._order[image_id])):
            self.remove_annotation(annotation_id)
        del self._images[image_id]
        del self._image_ids_by_name[image.file_name]
        del self._order[image_id]
        self.events.image_removed.emit(image)
        return image

    # -- categories ---------------------------------------------------------

    def add_category(self, category: Category) -> Category:
        self._claim("category", category.id, self._categories)
        self._categories[category.id] = category
        self.events.category_added.emit(category)
        return category

    def update_category(self, category: Category) -> Category:
        """Swap in a category with an existing id (new name or colour); returns the old one."""
        old = self._categories[category.id]
        self._categories[category.id] = category
        self.events.category_changed.emit(category, old)
        return old

    def remove_category(self, category_id: int) -> Category:
        """Remove an unused category; ``ValueError`` while annotations use it."""
        category = self._categories[category_id]
        used = sum(1 for a in self._annotations.values() if a.category_id == category_id)
        if used:
            raise ValueError(f"category {category.name!r} is used by {used} annotations")
        del self._categories[category_id]
        self.events.category_removed.emit(category)
        return category

    # -- annotations --------------------------------------------------------

    def _check_annotation(self, annotation: Annotation) -> None:
        image = self._images.get(annotation.image_id)
        if image is None:
            raise ValueError(f"annotation {annotation.id}: no image with id {annotation.image_id}")
        if annotation.category_id not in self._categories:
            raise ValueError(f"annotation {annotation.id}: no category with id {annotation.category_id}")
        if annotation.mask.shape != image.shape:
            raise ValueError(
                f"annotation {annotation.id}: mask is {annotation.mask.shape} (HxW) but image "
                f"{image.file_name!r} is {image.shape}"
            )

    def add_annotation(self, annotation: Annotation, *, index: int | None = None) -> Annotation:
        """Add ``annotation`` at the end of its image's order, or at ``index``."""
        self._check_annotation(annotation)
        self._claim("annotation", annotation.id, self._annotations)
        self._annotations[annotation.id] = annotation
        self._order[annotation.image_id].insert(annotation.id, index)
        self.events.annotation_added.emit(annotation)
        return annotation

    def replace_annotation(self, annotation: Annotation) -> Annotation:
        """Swap in a new version of an annotation (same id and image); returns the old one."""
        old = self._annotations[annotation.id]
        if annotation.image_id != old.image_id:
            raise ValueError(f"annotation {annotation.id}: cannot move to another image")
        self._check_annotation(annotation)
        self._annotations[annotation.id] = annotation
        self.events.annotation_changed.emit(annotation, old)
        return old

    def remove_annotation(self, annotation_id: int) -> Annotation:
        annotation = self._annotations.pop(annotation_id)
        self._order[annotation.image_id].remove(annotation_id)
        self.events.annotation_removed.emit(annotation)
        return annotation

    # -- bulk ---------------------------------------------------------------

    def merge(self, other: Dataset) -> list[Annotation]:
        """Add everything in ``other`` (e.g. a freshly read file) to this dataset.

        Images are matched by ``file_name`` and categories by ``name``; unmatched
        ones are added with new ids, and every annotation is added with a new id.
        All checks run before anything changes: on ``ValueError`` this dataset is
        untouched. Returns the added annotations.
        """
        for image in other.images.values():
            mine = self.image_by_name(image.file_name)
            if mine is not None and mine.shape != image.shape:
                raise ValueError(
                    f"image {image.file_name!r} is {image.width}x{image.height} in the imported data "
                    f"but {mine.width}x{mine.height} here"
                )
        image_ids: dict[int, int] = {}
        for image in other.images.values():
            mine = self.image_by_name(image.file_name) or self.add_image(replace(image, id=self.new_image_id()))
            image_ids[image.id] = mine.id
        category_ids: dict[int, int] = {}
        for category in other.categories.values():
            mine = self.category_by_name(category.name) or self.add_category(
                replace(category, id=self.new_category_id())
            )
            category_ids[category.id] = mine.id
        added = []
        for annotation in other.annotations():
            moved = replace(
                annotation,
                id=self.new_annotation_id(),
                image_id=image_ids[annotation.image_id],
                category_id=category_ids[annotation.category_id],
            )
            added.append(self.add_annotation(moved))
        return added
