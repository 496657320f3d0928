from dataclasses import replace

import numpy as np
import pytest

from app.model import Annotation, Category, Dataset, ImageRecord, Mask
from app.model.dataset import EVENT_NAMES


def record(dataset: Dataset) -> list[tuple[str, object, object]]:
    """Collect (type, value, old) of every event the dataset emits."""
    seen: list[tuple[str, object, object]] = []
    dataset.events.connect(lambda e: seen.append((e.type, e.value, e.old)))
    return seen


def square(shape=(8, 10), x=1, y=2, side=3) -> Mask:
    full = np.zeros(shape, dtype=bool)
    full[y : y + side, x : x + side] = True
    return Mask.from_full(full)


@pytest.fixture
def small() -> Dataset:
    ds = Dataset()
    ds.add_image(ImageRecord(1, "a.jpg", 10, 8))
    ds.add_category(Category(1, "cat"))
    return ds


def test_every_change_emits_one_documented_event_after_applying_it(small):
    seen = record(small)
    states = []
    small.events.annotation_added.connect(lambda e: states.append(small.annotation(e.value.id)))
    image = small.add_image(ImageRecord(2, "b.jpg", 10, 8))
    category = small.add_category(Category(2, "dog", (1, 2, 3)))
    renamed = replace(category, name="hound")
    small.update_category(renamed)
    annotation = small.add_annotation(Annotation(small.new_annotation_id(), 1, 1, square()))
    edited = annotation.with_mask(square(side=4))
    small.replace_annotation(edited)
    small.remove_annotation(annotation.id)
    small.remove_category(2)
    assert seen == [
        ("image_added", image, None),
        ("category_added", category, None),
        ("category_changed", renamed, category),
        ("annotation_added", annotation, None),
        ("annotation_changed", edited, annotation),
        ("annotation_removed", edited, None),
        ("category_removed", renamed, None),
    ]
    assert states == [annotation]  # the callback already saw the new state
    assert set(EVENT_NAMES) == set(small.events.names)


def test_remove_image_removes_its_annotations_first(small):
    first = small.add_annotation(Annotation(5, 1, 1, square()))
    second = small.add_annotation(Annotation(6, 1, 1, square(x=5)))
    seen = record(small)
    image = small.remove_image(1)
    assert [(t, v) for t, v, _ in seen] == [
        ("annotation_removed", second),
        ("annotation_removed", first),
        ("image_removed", image),
    ]
    assert small.annotation_count == 0 and small.image_by_name("a.jpg") is None


def test_failed_changes_emit_nothing_and_change_nothing(small):
    small.add_annotation(Annotation(1, 1, 1, square()))
    seen = record(small)
    with pytest.raises(ValueError, match="already in use"):
        small.add_annotation(Annotation(1, 1, 1, square()))
    with pytest.raises(ValueError, match="no image"):
        small.add_annotation(Annotation(2, 99, 1, square()))
    with pytest.raises(ValueError, match="no category"):
        small.add_annotation(Annotation(2, 1, 99, square()))
    with pytest.raises(ValueError, match="mask is"):
        small.add_annotation(Annotation(2, 1, 1, square(shape=(9, 10))))
    with pytest.raises(ValueError, match="another image"):
        small.add_image(ImageRecord(2, "b.jpg", 10, 8))
        small.replace_annotation(Annotation(1, 2, 1, square()))
    with pytest.raises(ValueError, match="used by 1"):
        small.remove_category(1)
    with pytest.raises(ValueError, match="already in the dataset"):
        small.add_image(ImageRecord(3, "a.jpg", 10, 8))
    with pytest.raises(KeyError):
        small.remove_annotation(42)
    assert [t for t, _, _ in seen] == ["image_added"]
    assert [a.id for a in small.annotations()] == [1]


def test_ids_are_never_reused_and_order_is_kept(small):
    ids = []
    for x in range(3):
        annotation = small.add_annotation(Annotation(small.new_annotation_id(), 1, 1, square(x=x)))
        ids.append(annotation.id)
    assert ids == [1, 2, 3]
    removed = small.remove_annotation(2)
    assert small.new_annotation_id() == 4
    small.add_annotation(removed, index=1)  # undo puts it back where it was
    assert [a.id for a in small.annotations(1)] == [1, 2, 3]
    assert small.annotation_index(2) == 1
    small.add_annotation(Annotation(10, 1, 1, square()))
    assert small.new_annotation_id() == 11


def test_with_mask_marks_edit_and_drops_polygons():
    annotation = Annotation(1, 1, 1, square(), polygons=((1, 2, 4, 2, 4, 5),))
    edited = annotation.with_mask(square(side=2))
    assert edited.provenance.edited and edited.polygons is None
    assert edited.area == 4 and edited.bbox == (1, 2, 2, 2)
    assert not annotation.provenance.edited  # records are immutable


def test_merge_matches_by_name_and_is_all_or_nothing(small):
    small.add_annotation(Annotation(1, 1, 1, square()))
    other = Dataset()
    other.add_image(ImageRecord(1, "new.jpg", 4, 4))
    other.add_image(ImageRecord(2, "a.jpg", 10, 8))
    other.add_category(Category(1, "dog"))
    other.add_category(Category(2, "cat"))
    other.add_annotation(Annotation(1, 2, 2, square()))
    other.add_annotation(Annotation(2, 1, 1, square(shape=(4, 4), side=2, y=1)))
    seen = record(small)
    added = small.merge(other)
    assert [(a.id, a.image_id, small.categories[a.category_id].name) for a in added] == [
        (2, 2, "dog"),  # other's images in order: new.jpg, then a.jpg
        (3, 1, "cat"),
    ]
    assert small.image_by_name("new.jpg").id == 2
    assert [t for t, _, _ in seen].count("annotation_added") == 2

    clash = Dataset()
    clash.add_image(ImageRecord(1, "a.jpg", 11, 8))
    before = (dict(small.images), dict(small.categories), small.annotations())
    with pytest.raises(ValueError, match="11x8"):
        small.merge(clash)
    assert (dict(small.images), dict(small.categories), small.annotations()) == before
