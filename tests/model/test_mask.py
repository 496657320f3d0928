import numpy as np
import pytest
from pycocotools import mask as mask_utils

from app.model import Mask
from app.model import crop_rle as rle_codec
from tests.model.conftest import holed_two_parts, touching_top_and_bottom


def reference_rle(full: np.ndarray) -> dict:
    return mask_utils.encode(np.asfortranarray(full.astype(np.uint8)))


def random_masks(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    for i in range(n):
        h, w = (int(v) for v in rng.integers(1, 30, 2))
        full = rng.random((h, w)) < rng.random()
        if i % 4 == 0:
            full[:, : w // 2] = False
        if i % 9 == 0:
            full[:] = i % 2 == 0
        yield full


def test_rle_matches_pycocotools():
    for full in random_masks(300):
        mask = Mask.from_full(full)
        ref = reference_rle(full)
        assert mask.rle() == {"size": list(full.shape), "counts": ref["counts"].decode()}
        assert mask.area == int(mask_utils.area(ref))
        assert list(mask.bbox) == mask_utils.toBbox(ref).astype(int).tolist()
        assert np.array_equal(rle_codec.string_to_counts(ref["counts"]), mask.counts())


def test_rle_decodes_back_exactly():
    for full in random_masks(300, seed=1):
        mask = Mask.from_full(full)
        assert Mask.from_rle(mask.rle()) == mask
        assert Mask.from_rle({"size": list(full.shape), "counts": mask.counts().tolist()}) == mask
        assert np.array_equal(Mask.from_rle(mask.rle()).full_mask(), full)


@pytest.mark.parametrize("make", [holed_two_parts, touching_top_and_bottom])
def test_holes_parts_and_wrapping_runs(make):
    full = make((48, 64))
    mask = Mask.from_full(full)
    assert mask.rle()["counts"] == reference_rle(full)["counts"].decode()
    assert np.array_equal(Mask.from_rle(mask.rle()).full_mask(), full)


def test_crop_is_tight_read_only_and_placed():
    full = np.zeros((10, 12), dtype=bool)
    full[2:5, 3:9] = True
    full[3, 4] = False
    mask = Mask.from_full(full)
    assert mask.shape == (10, 12)
    assert mask.origin == (3, 2)
    assert mask.bbox == (3, 2, 6, 3)
    assert mask.crop.shape == (3, 6) and mask.crop.dtype == bool
    assert mask.area == 17
    with pytest.raises(ValueError):
        mask.crop[0, 0] = False
    out = mask.full_mask()
    out[:] = False  # callers own the materialised array
    assert np.array_equal(mask.full_mask(), full)
    padded = np.zeros((5, 8), dtype=bool)
    padded[1:4, 1:7] = full[2:5, 3:9]
    assert Mask.from_crop(padded, 2, 1, (10, 12)) == mask


def test_empty_mask():
    mask = Mask.from_full(np.zeros((4, 5)))
    assert mask == Mask.empty(4, 5)
    assert mask.is_empty and mask.area == 0 and mask.bbox == (0, 0, 0, 0)
    assert mask.rle() == {"size": [4, 5], "counts": reference_rle(np.zeros((4, 5)))["counts"].decode()}
    assert not mask.full_mask().any()


def test_invalid_masks_are_rejected():
    with pytest.raises(ValueError):
        Mask.from_crop(np.ones((3, 3)), 10, 0, (5, 11))
    with pytest.raises(ValueError):
        Mask.from_full(np.ones((2, 2, 2)))
    with pytest.raises(ValueError, match="sum"):
        Mask.from_counts(np.array([3, 4]), 2, 2)
    with pytest.raises(ValueError):
        rle_codec.string_to_counts("~~")  # outside the alphabet
    with pytest.raises(ValueError):
        rle_codec.string_to_counts("P")  # continuation bit set on the last char


def test_region_and_with_region_build_a_new_mask():
    full = np.zeros((10, 12), dtype=bool)
    full[2:5, 3:9] = True
    mask = Mask.from_full(full)
    assert np.array_equal(mask.region(0, 0, 12, 10), full)
    assert np.array_equal(mask.region(7, 4, 4, 3), full[4:7, 7:11])
    patch = np.ones((2, 3), dtype=bool)
    edited = mask.with_region(8, 7, patch)
    expected = full.copy()
    expected[7:9, 8:11] = True
    assert np.array_equal(edited.full_mask(), expected)
    assert np.array_equal(mask.full_mask(), full)  # the original is unchanged
    erased = mask.with_region(3, 2, np.zeros((3, 6), dtype=bool))
    assert erased.is_empty
    assert Mask.empty(10, 12).with_region(1, 1, patch).bbox == (1, 1, 3, 2)
    with pytest.raises(ValueError):
        mask.region(10, 0, 5, 1)


def test_equality_and_hash_are_by_value():
    full = np.eye(5, dtype=bool)
    a, b = Mask.from_full(full), Mask.from_full(full.copy())
    assert a == b and hash(a) == hash(b)
    assert a != Mask.from_full(np.eye(5, k=1, dtype=bool))
    assert a != Mask.from_crop(np.eye(5, dtype=bool), 0, 0, (6, 6))  # other image size


def test_foreign_rle_with_empty_runs_decodes():
    # [0s, 1s, 0s, 1s, ...] with an empty run of 0s splitting one run of 1s in two.
    split = Mask.from_counts(np.array([2, 3, 0, 2, 13]), 4, 5)
    assert split == Mask.from_counts(np.array([2, 5, 13]), 4, 5)
    assert split.counts().tolist() == [2, 5, 13]


def test_runs_spanning_several_columns_decode():
    flat = np.zeros(18, dtype=bool)
    flat[4:14] = True  # column-major pixels 4..13 span columns 1 to 4
    full = flat.reshape((3, 6), order="F")
    mask = Mask.from_rle(reference_rle(full))
    assert np.array_equal(mask.full_mask(), full)
    assert mask.counts().tolist() == [4, 10, 4]
