"""The undo commands' diffs, without Qt: undo then redo restores masks bit for bit,
and a brush stroke stores only its bounding box."""
from __future__ import annotations

import numpy as np
import pytest

from app.model import Annotation, Category, Dataset, ImageRecord, Mask, Provenance
from app.model.commands import (
    AddAnnotations,
    AddCategory,
    Compound,
    EditMask,
    RegionDiff,
    RemoveAnnotations,
    SetCategory,
    UpdateCategory,
)
from app.model.paint import Stroke


def run(commands):
    """Apply commands in order, as a history's push does."""
    for command in commands:
        command.redo()
    return commands


def snapshot(dataset: Dataset) -> list[tuple]:
    """Everything an undo must restore, per annotation, in order."""
    return [(a.id, a.image_id, a.category_id, a.mask, a.provenance, a.polygons, a.mask.full_mask().tobytes())
            for a in dataset.annotations()]


def test_strokes_undo_then_redo_restore_masks_bit_for_bit(dataset):
    # Annotation 3 has two parts and three holes; annotation 2 came from the generator.
    rng = np.random.default_rng(0)
    states, commands = [snapshot(dataset)], []
    for n in range(12):
        target = (2, 3)[n % 2]
        before = dataset.annotation(target).mask
        stroke = Stroke(before, radius=float(rng.uniform(0.5, 4)), erase=bool(n % 3 == 2))
        for x, y in rng.uniform(-5, [70, 53], size=(int(rng.integers(1, 6)), 2)):  # partly off the image
            stroke.add_point(x, y)
        diff = stroke.diff()
        if diff is None:
            continue
        assert diff.apply(before) == stroke.after()
        commands.append(EditMask(dataset, target, diff, "Brush stroke"))
        commands[-1].redo()
        states.append(snapshot(dataset))
    assert len(commands) >= 8
    assert dataset.annotation(3).provenance.edited and dataset.annotation(2).provenance.edited
    for k in range(len(commands) - 1, -1, -1):
        commands[k].undo()
        assert snapshot(dataset) == states[k]
    assert not dataset.annotation(2).provenance.edited  # the generator's mask, untouched again
    for k, command in enumerate(commands):
        command.redo()
        assert snapshot(dataset) == states[k + 1]


def test_a_stroke_of_10000_pixels_stores_only_its_bounding_box():
    dataset = Dataset()
    dataset.add_image(ImageRecord(1, "big.png", 4000, 3000))
    dataset.add_category(Category(1, "object"))
    full = np.zeros((3000, 4000), dtype=bool)
    full[500:2500, 800:3200] = True  # a large mask: a copy would cost 4.8 MB
    full[1200:1300, 1500:1700] = False  # with a hole the stroke must keep
    dataset.add_annotation(Annotation(1, 1, 1, Mask.from_full(full)))
    stroke = Stroke(dataset.annotation(1).mask, radius=10, erase=True)
    for x in np.linspace(1000, 1500, 40):
        stroke.add_point(x, 600.0)
    command = EditMask(dataset, 1, stroke.diff(), "Erase stroke")
    command.redo()
    x, y, w, h = command.diff.bbox
    assert stroke.painted_area >= 10_000 and (x, y, w, h) == (990, 590, 520, 20)  # centres within 10 px
    stored = [v for v in vars(command).values() if isinstance(v, np.ndarray)]
    stored += [v for v in vars(command.diff).values() if isinstance(v, np.ndarray)]
    assert sum(a.nbytes for a in stored) == command.diff.nbytes == 2 * w * h  # old and new pixels of the box
    assert command.diff.nbytes < full.size / 500
    expected = full.copy()
    expected[y : y + h, x : x + w] = command.diff.new
    assert np.array_equal(dataset.annotation(1).mask.full_mask(), expected)
    assert not expected[1200:1300, 1500:1700].any()  # the hole is still there
    command.undo()
    assert np.array_equal(dataset.annotation(1).mask.full_mask(), full)


def test_a_region_diff_says_whether_it_empties_a_mask_as_applying_it_would():
    before = Mask.from_full(np.pad(np.ones((4, 4), bool), 3))  # 10x10, pixels 3..6
    for box in [(3, 3, 4, 4), (3, 3, 4, 3), (0, 0, 10, 10), (4, 3, 3, 4)]:
        x, y, w, h = box
        diff = RegionDiff.within(before, x, y, np.zeros((h, w), bool))
        assert diff.empties(before) == diff.apply(before).is_empty == (box in [(3, 3, 4, 4), (0, 0, 10, 10)])
    grown = before.region(0, 0, 10, 10)
    grown[0, 0] = True
    assert not RegionDiff.between(before, Mask.from_full(grown)).empties(before)


def test_region_diff_is_trimmed_to_changed_pixels():
    before = Mask.from_full(np.pad(np.ones((4, 4), bool), 3))  # 10x10, pixels 3..6
    patch = before.region(0, 0, 10, 10)
    patch[8, 1] = True
    diff = RegionDiff.within(before, 0, 0, patch)
    assert diff.bbox == (1, 8, 1, 1) and diff.new.tolist() == [[True]] and diff.old.tolist() == [[False]]
    assert RegionDiff.within(before, 0, 0, before.region(0, 0, 10, 10)) is None
    assert RegionDiff.between(before, before) is None
    after = diff.apply(before)
    assert RegionDiff.between(before, after) == diff
    with pytest.raises(ValueError):
        RegionDiff(0, 0, np.zeros((2, 2)), np.zeros((2, 3)))
    assert not diff.new.flags.writeable  # the history's pixels cannot be changed behind its back


def test_add_remove_and_category_commands_restore_records_and_order(dataset):
    before = snapshot(dataset)
    ids = [a.id for a in dataset.annotations(1)]
    record = dataset.annotation(ids[1])
    removed = run([RemoveAnnotations(dataset, [ids[3], ids[1]])])[0]
    assert [a.id for a in dataset.annotations(1)] == [ids[0], ids[2], ids[4]]
    removed.undo()
    assert snapshot(dataset) == before  # same records, same positions
    assert dataset.annotation(ids[1]) is record  # put back, not copied

    new = Annotation(dataset.new_annotation_id(), 7, 3, Mask.from_full(np.eye(20, 30, dtype=bool)),
                     Provenance(source="auto"))
    added = run([AddAnnotations(dataset, [new], "Segment everything: 1 mask")])[0]
    assert dataset.annotation(new.id) is new
    added.undo()
    assert snapshot(dataset) == before

    recolour = SetCategory(dataset, [ids[0], ids[1]], 3)
    assert recolour.changes_anything
    recolour.redo()
    assert [dataset.annotation(i).category_id for i in ids[:2]] == [3, 3]
    recolour.undo()
    assert snapshot(dataset) == before
    assert not SetCategory(dataset, [ids[1]], 3).changes_anything  # already category 3


def test_category_commands_keep_what_other_images_still_use(dataset):
    create = AddCategory(dataset, Category(dataset.new_category_id(), "car", (1, 2, 3)))
    assert create.redo() is None
    rename = UpdateCategory(dataset, Category(create.category.id, "truck", (1, 2, 3)), "Rename category")
    rename.redo()
    use = SetCategory(dataset, [1], create.category.id)
    use.redo()
    # Undoing the creation while an annotation (say, of another image) uses it keeps it.
    note = create.undo()
    assert "Kept category 'truck'" in note and create.category.id in dataset.categories
    use.undo()
    assert create.undo() is None and create.category.id not in dataset.categories
    # An annotation command that needs a category undone meanwhile brings it back.
    use.redo()
    assert dataset.annotation(1).category_id == create.category.id
    assert dataset.categories[create.category.id].name == "truck"  # as it was when given
    rename.undo()  # back to the record before the rename
    assert dataset.categories[create.category.id].name == "car"


def test_compound_applies_in_order_and_reverts_in_reverse(dataset):
    before = snapshot(dataset)
    first = dataset.annotations(7)[0]
    mask = first.mask
    diff = RegionDiff.between(mask, Mask.from_full(np.zeros(mask.shape, bool)))
    erase = EditMask(dataset, first.id, diff, "Erase")
    both = Compound("Erase then delete", [erase, RemoveAnnotations(dataset, [first.id])])
    both.redo()
    assert first.id not in {a.id for a in dataset.annotations(7)}
    both.undo()
    assert snapshot(dataset) == before


def test_edit_restores_imported_polygons_on_undo(dataset):
    polygons = ((5.0, 6.0, 25.0, 6.0, 25.0, 16.0, 5.0, 16.0),)
    original = dataset.annotation(1)
    dataset.replace_annotation(Annotation(1, 1, 1, original.mask, Provenance(source="import"), polygons=polygons))
    stroke = Stroke(dataset.annotation(1).mask, 2)
    stroke.add_point(40, 30)
    command = run([EditMask(dataset, 1, stroke.diff())])[0]
    assert dataset.annotation(1).polygons is None and dataset.annotation(1).provenance.edited
    command.undo()
    assert dataset.annotation(1).polygons == polygons and not dataset.annotation(1).provenance.edited
