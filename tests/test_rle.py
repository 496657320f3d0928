"""sam_core's pure-numpy RLE against pycocotools, byte for byte."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from pycocotools import mask as coco_mask

from sam_core.utils.generation import masks_to_rles
from sam_core.utils.rle import (
    coco_to_rle,
    decode_counts,
    encode_counts,
    mask_to_rle,
    rle_area,
    rle_to_coco,
    rle_to_mask,
)


def _coco_decode(rle: dict) -> np.ndarray:
    with warnings.catch_warnings():
        # pycocotools 2.0.x's Cython decode trips numpy 2's __array__(copy=) deprecation.
        warnings.simplefilter("ignore", DeprecationWarning)
        return coco_mask.decode(rle)


def _cases() -> list[tuple[str, np.ndarray]]:
    rng = np.random.default_rng(0)
    cases = [
        ("empty", np.zeros((7, 13), bool)),
        ("full", np.ones((7, 13), bool)),
        ("one_pixel", np.ones((1, 1), bool)),
        ("one_pixel_off", np.zeros((1, 1), bool)),
        ("zero_rows", np.zeros((0, 5), bool)),
        ("zero_cols", np.zeros((5, 0), bool)),
        ("row", rng.random((1, 97)) < 0.5),
        ("column", rng.random((101, 1)) < 0.5),
        ("first_pixel_set", np.pad(np.ones((3, 3), bool), ((0, 4), (0, 6)))),
        ("last_pixel_set", np.pad(np.ones((3, 3), bool), ((4, 0), (6, 0)))),
        ("full_columns", np.repeat(np.array([[1, 1, 0, 1, 0, 0, 1]], bool), 9, axis=0)),
        ("big_blob", np.pad(np.ones((600, 700), bool), ((37, 0), (0, 101)))),
    ]
    for i, density in enumerate([0.02, 0.3, 0.5, 0.9, 0.995]):
        h, w = rng.integers(1, 60, size=2)
        cases.append((f"noise_{density}", rng.random((h, w)) < density))
    yy, xx = np.mgrid[:333, :517]
    cases.append(("ellipse_odd", ((yy - 150) / 90.0) ** 2 + ((xx - 260) / 170.0) ** 2 < 1))
    return cases


CASES = _cases()


@pytest.mark.parametrize("name,mask", CASES, ids=[c[0] for c in CASES])
def test_matches_pycocotools(name: str, mask: np.ndarray) -> None:
    h, w = mask.shape
    theirs = coco_mask.encode(np.asfortranarray(mask.astype(np.uint8)))
    ours = mask_to_rle(mask)
    assert ours["size"] == [h, w]
    assert all(isinstance(c, int) for c in ours["counts"])
    # Our uncompressed counts are exactly what pycocotools compresses.
    assert coco_mask.frPyObjects(ours, h, w)["counts"] == theirs["counts"]
    assert encode_counts(ours["counts"]).encode("ascii") == theirs["counts"]
    assert rle_to_coco(ours) == {"size": [h, w], "counts": theirs["counts"].decode("ascii")}
    assert decode_counts(theirs["counts"]) == ours["counts"]
    assert coco_to_rle(theirs) == ours
    decoded = rle_to_mask(ours)
    assert decoded.dtype == bool and decoded.flags.c_contiguous
    np.testing.assert_array_equal(decoded, mask)
    np.testing.assert_array_equal(rle_to_mask(theirs), _coco_decode(theirs).astype(bool))
    assert rle_area(ours) == rle_area(theirs) == int(coco_mask.area(theirs)) == int(mask.sum())


def test_large_and_negative_deltas_match_pycocotools() -> None:
    # Counts whose deltas need many 5-bit groups, with both signs.
    counts = [3, 2_000_000_000, 17, 5, 1_999_999_000, 1, 900_000_000, 1 + 64_000, 4_000_000_000]
    h, w = 1, sum(counts)  # pycocotools keeps each count in a uint32
    rle = {"size": [h, w], "counts": counts}
    theirs = coco_mask.frPyObjects(rle, h, w)["counts"]
    assert encode_counts(counts).encode("ascii") == theirs
    assert decode_counts(theirs) == counts


def test_random_counts_round_trip() -> None:
    rng = np.random.default_rng(1)
    for _ in range(50):
        counts = [int(c) for c in rng.integers(0, 10**6, size=rng.integers(1, 40))]
        total = sum(counts)
        rle = {"size": [1, total], "counts": counts}
        theirs = coco_mask.frPyObjects(rle, 1, total)["counts"]
        assert encode_counts(counts).encode("ascii") == theirs
        assert decode_counts(theirs.decode("ascii")) == counts


@pytest.mark.parametrize("bad", ["0(", "\x7f", "0P"])  # below '0', above 'o', unfinished value
def test_malformed_strings_are_rejected(bad: str) -> None:
    with pytest.raises(ValueError):
        decode_counts(bad)


def test_counts_must_cover_the_mask() -> None:
    with pytest.raises(ValueError):
        rle_to_mask({"size": [2, 2], "counts": [1, 2]})


@pytest.mark.parametrize(
    "crop_box",
    [[0, 0, 41, 29], [5, 3, 30, 20], [7, 0, 19, 29], [0, 11, 41, 29]],
    ids=["whole", "inner", "full_height", "bottom"],
)
def test_batched_torch_encoder_uncrops(crop_box: list[int]) -> None:
    """Crop-frame masks encode to the RLE of the same masks pasted into the image."""
    h, w = 29, 41
    x0, y0, x1, y1 = crop_box
    rng = np.random.default_rng(2)
    crops = rng.random((6, y1 - y0, x1 - x0)) < 0.6
    crops[0] = True  # runs meet across columns when the crop spans the full height
    crops[1] = False
    rles = masks_to_rles(torch.from_numpy(crops), crop_box, (h, w))
    for crop, rle in zip(crops, rles):
        full = np.zeros((h, w), bool)
        full[y0:y1, x0:x1] = crop
        assert rle == mask_to_rle(full)
