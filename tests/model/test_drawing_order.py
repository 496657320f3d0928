"""DrawingOrder against a plain list: the same order and positions after any changes."""
from __future__ import annotations

import numpy as np
import pytest

from app.model import Annotation, Category, Dataset, ImageRecord, Mask
from app.model.drawing_order import DrawingOrder


def test_random_inserts_and_removes_match_a_plain_list_and_keys_sort_like_positions():
    rng = np.random.default_rng(3)
    order, reference, next_id = DrawingOrder(), [], 0
    for _ in range(3000):
        if reference and rng.random() < 0.35:
            victim = reference[int(rng.integers(len(reference)))]
            assert order.remove(victim) == reference.index(victim)
            reference.remove(victim)
        else:
            # Many inserts at one place (an undo of a delete does this) force renumbering.
            index = None if rng.random() < 0.3 else int(rng.integers(0, len(reference) + 2)) if rng.random() < 0.5 \
                else min(3, len(reference))
            at = order.insert(next_id, index)
            position = len(reference) if index is None or index >= len(reference) else max(0, index)
            reference.insert(position, next_id)
            assert at == position
            next_id += 1
    assert list(order) == reference == order.ids and len(order) == len(reference)
    assert [order.index(i) for i in reference] == list(range(len(reference)))
    sample = list(rng.choice(reference, size=50, replace=False))
    assert sorted(sample, key=order.key) == [i for i in reference if i in set(sample)]
    assert reference[0] in order and next_id not in order
    with pytest.raises(KeyError):
        order.index(next_id)


def test_dataset_puts_an_undone_delete_back_in_its_place_and_reports_positions():
    dataset = Dataset()
    dataset.add_image(ImageRecord(1, "a.png", 10, 8))
    dataset.add_category(Category(1, "thing"))
    full = np.zeros((8, 10), dtype=bool)
    full[1:3, 1:3] = True
    ids = [dataset.add_annotation(Annotation(dataset.new_annotation_id(), 1, 1, Mask.from_full(full))).id
           for _ in range(5)]
    removed = dataset.remove_annotation(ids[2])
    assert dataset.annotation_ids(1) == ids[:2] + ids[3:] and dataset.annotation_count_of(1) == 4
    dataset.add_annotation(removed, index=2)
    assert dataset.annotation_ids(1) == ids and [dataset.annotation_index(i) for i in ids] == [0, 1, 2, 3, 4]
    assert sorted(reversed(ids), key=dataset.order_key) == ids
