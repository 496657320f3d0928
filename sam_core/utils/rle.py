"""Run-length encoding of binary masks, compatible with pycocotools (pure numpy).

Two forms are used, both keyed by ``"size": [h, w]``:

* *uncompressed*: ``"counts"`` is a list of ints, the lengths of alternating runs
  of 0s and 1s over the mask flattened in column-major (Fortran) order. The
  first run is always of 0s, so it is 0 when the mask's top-left pixel is set.
* *COCO*: ``"counts"`` is an ASCII ``str`` packing the same run lengths the way
  pycocotools' ``rleToString`` does (see ``encode_counts``).

A mask here is an HxW array of bool (any dtype is read as ``!= 0``).
"""
from __future__ import annotations

from typing import Any, Dict, List, Sequence, Union

import numpy as np

Rle = Dict[str, Any]

# pycocotools stores each run (or delta) as 5-bit groups; a 64-bit delta needs 13.
_MAX_GROUPS = 13


def rle_from_runs(starts: np.ndarray, ends: np.ndarray, h: int, w: int) -> Rle:
    """Uncompressed RLE from the 1-runs ``[starts[i], ends[i])`` of a column-major flat mask.

    ``starts``/``ends`` are int arrays of flat Fortran-order indices (``x * h + y``),
    sorted, non-overlapping; touching runs (``ends[i] == starts[i + 1]``) are merged.
    """
    starts = np.asarray(starts, dtype=np.int64)
    ends = np.asarray(ends, dtype=np.int64)
    if len(starts) > 1:
        # Runs that meet across a column boundary are one run in the flat order.
        joined = ends[:-1] == starts[1:]
        if joined.any():
            starts = starts[np.concatenate([[True], ~joined])]
            ends = ends[np.concatenate([~joined, [True]])]
    edges = np.empty(2 * len(starts) + 2, dtype=np.int64)
    edges[0] = 0
    edges[1:-1:2] = starts
    edges[2:-1:2] = ends
    edges[-1] = h * w
    counts = np.diff(edges)
    if len(starts) and ends[-1] == h * w:
        counts = counts[:-1]  # no trailing empty 0-run, as pycocotools
    return {"size": [int(h), int(w)], "counts": counts.tolist()}


def mask_to_rle(mask: np.ndarray) -> Rle:
    """Encode an HxW mask as an uncompressed RLE (column-major, leading 0-run)."""
    mask = np.asarray(mask)
    if mask.ndim != 2:
        raise ValueError(f"expected an HxW mask, got shape {mask.shape}")
    h, w = mask.shape
    flat = np.zeros(h * w + 2, dtype=np.int8)
    flat[1:-1] = (mask != 0).T.reshape(-1)
    change = np.flatnonzero(np.diff(flat))
    return rle_from_runs(change[0::2], change[1::2], h, w)


def rle_to_mask(rle: Rle) -> np.ndarray:
    """Decode an uncompressed or COCO RLE to an HxW bool array (C-contiguous)."""
    h, w = rle["size"]
    counts = rle["counts"]
    if isinstance(counts, (str, bytes)):
        counts = decode_counts(counts)
    counts = np.asarray(counts, dtype=np.int64)
    if counts.sum() != h * w:
        raise ValueError(f"RLE counts sum to {int(counts.sum())}, expected {h * w}")
    values = np.arange(len(counts)) % 2 == 1
    flat = np.repeat(values, counts)
    return np.ascontiguousarray(flat.reshape(w, h).T)


def rle_area(rle: Rle) -> int:
    """Number of set pixels of an uncompressed or COCO RLE."""
    counts = rle["counts"]
    if isinstance(counts, (str, bytes)):
        counts = decode_counts(counts)
    return int(sum(counts[1::2]))


def encode_counts(counts: Sequence[int]) -> str:
    """Pack uncompressed run lengths into pycocotools' ASCII string.

    Each value (from the fourth on, its difference to the value two before) is
    written as little-endian signed 5-bit groups; each group becomes one char
    ``48 + group``, with bit 0x20 set on every group but the value's last.
    """
    x = np.asarray(counts, dtype=np.int64).copy()
    if len(x) > 3:
        x[3:] = x[3:] - np.asarray(counts, dtype=np.int64)[1:-2]
    if len(x) == 0:
        return ""
    # The fewest groups k such that x fits in a signed (5k)-bit integer.
    n_groups = np.ones(len(x), dtype=np.int64)
    for k in range(1, _MAX_GROUPS):
        limit = np.int64(1) << np.int64(5 * k - 1)
        n_groups += (x < -limit) | (x >= limit)
    shifts = 5 * np.arange(_MAX_GROUPS, dtype=np.int64)
    groups = (x[:, None] >> shifts[None, :]) & 0x1F
    index = np.arange(_MAX_GROUPS)[None, :]
    groups |= np.where(index < n_groups[:, None] - 1, 0x20, 0)
    chars = (groups + 48)[index < n_groups[:, None]]
    return chars.astype(np.uint8).tobytes().decode("ascii")


def decode_counts(s: Union[str, bytes]) -> List[int]:
    """Unpack pycocotools' ASCII counts string (inverse of ``encode_counts``)."""
    if isinstance(s, str):
        s = s.encode("ascii")
    c = np.frombuffer(s, dtype=np.uint8).astype(np.int64) - 48
    if len(c) == 0:
        return []
    if c.min() < 0 or c.max() > 63 or c[-1] & 0x20:
        raise ValueError("malformed COCO RLE counts string")
    last = (c & 0x20) == 0
    value_id = np.concatenate([[0], np.cumsum(last)[:-1]])
    first = np.concatenate([[True], last[:-1]])
    # Position of each group within its value: 0 for the first group, 1, 2, ...
    start_of_group = np.flatnonzero(first)
    position = np.arange(len(c)) - start_of_group[value_id]
    if position.max() >= _MAX_GROUPS:
        raise ValueError("malformed COCO RLE counts string")
    x = np.zeros(int(last.sum()), dtype=np.int64)
    np.add.at(x, value_id, (c & 0x1F) << (5 * position))
    # Sign-extend from the value's last group.
    negative = (c[last] & 0x10) != 0
    x[negative] -= np.int64(1) << (5 * (position[last][negative] + 1))
    # Undo the delta against the value two places before (from index 3 on).
    if len(x) > 3:
        x[1::2] = np.cumsum(x[1::2])
        x[2::2] = np.cumsum(x[2::2])
    return x.tolist()


def rle_to_coco(rle: Rle) -> Rle:
    """Uncompressed RLE -> COCO RLE with a ``str`` counts (JSON-ready)."""
    return {"size": list(rle["size"]), "counts": encode_counts(rle["counts"])}


def coco_to_rle(rle: Rle) -> Rle:
    """COCO RLE (``str`` or ``bytes`` counts) -> uncompressed RLE."""
    return {"size": list(rle["size"]), "counts": decode_counts(rle["counts"])}
