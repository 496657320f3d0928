"""8-connected components of binary masks and small-region cleanup (pure numpy).

Components are found on horizontal runs rather than pixels: each row's runs of
set pixels become graph nodes, runs in adjacent rows that touch (8-connectivity)
become edges, and the graph is merged by vectorised hooking + pointer jumping.
Cost grows with the number of runs, not pixels, and has no Python loop over them.
"""
from __future__ import annotations

from typing import Tuple

import numpy as np


def _row_runs(mask: np.ndarray) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """HxW bool -> (row, start, end) int64 arrays of its runs, ``[start, end)``, raster order."""
    h, w = mask.shape
    padded = np.zeros((h, w + 2), dtype=np.int8)
    padded[:, 1:-1] = mask
    rows, cols = np.nonzero(np.diff(padded, axis=1))
    return rows[0::2].astype(np.int64), cols[0::2].astype(np.int64), cols[1::2].astype(np.int64)


def _run_edges(row: np.ndarray, start: np.ndarray, end: np.ndarray, w: int) -> Tuple[np.ndarray, np.ndarray]:
    """Pairs of run indices (a, b) in adjacent rows that touch, including diagonally."""
    # Runs in raster order are sorted by this key, which also separates rows.
    stride = w + 2
    key_start = row * stride + start
    key_end = row * stride + end
    below = row + 1
    # Runs of the next row that touch [start, end) are those with
    # start' <= end and end' >= start: a contiguous slice of the sorted runs.
    first = np.searchsorted(key_end, below * stride + start, side="left")
    last = np.searchsorted(key_start, below * stride + end, side="right")
    n_touch = np.maximum(last - first, 0)
    a = np.repeat(np.arange(len(row)), n_touch)
    offsets = np.arange(n_touch.sum()) - np.repeat(np.cumsum(n_touch) - n_touch, n_touch)
    b = np.repeat(first, n_touch) + offsets
    return a, b


def _merge(n: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Component root (smallest member index) of each of ``n`` nodes linked by edges a-b."""
    parent = np.arange(n)
    while True:
        ra, rb = parent[a], parent[b]
        differ = ra != rb
        if not differ.any():
            return parent
        hi = np.maximum(ra[differ], rb[differ])
        lo = np.minimum(ra[differ], rb[differ])
        # Hook each root onto the smallest root it touches; parents only ever
        # decrease, so no cycles can form.
        np.minimum.at(parent, hi, lo)
        while True:
            jumped = parent[parent]
            if np.array_equal(jumped, parent):
                break
            parent = jumped


def label_components(mask: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """8-connected components of an HxW bool mask.

    Returns:
        labels: HxW int32, 0 for background, 1..K for components, numbered
            in raster order of the first 2x2 pixel block they touch (the order
            OpenCV's ``connectedComponents`` gives them).
        sizes: K int64 pixel counts; ``sizes[k - 1]`` is the size of label k.
    """
    mask = np.asarray(mask, dtype=bool)
    h, w = mask.shape
    row, start, end = _row_runs(mask)
    labels = np.zeros((h, w), dtype=np.int32)
    if len(row) == 0:
        return labels, np.zeros(0, dtype=np.int64)
    root = _merge(len(row), *_run_edges(row, start, end, w))
    _, component = np.unique(root, return_inverse=True)
    # OpenCV scans 2x2 blocks in raster order and one block never holds two
    # 8-connected components, so it numbers components by their first block.
    first_block = np.full(component.max() + 1, np.iinfo(np.int64).max)
    np.minimum.at(first_block, component, (row // 2) * (w // 2 + 1) + start // 2)
    rank = np.empty_like(first_block)
    rank[np.argsort(first_block)] = np.arange(len(first_block))
    run_label = rank[component]
    sizes = np.bincount(run_label, weights=end - start).astype(np.int64)
    _paint_runs(labels, row, start, end, run_label + 1)
    return labels, sizes


def _paint_runs(out: np.ndarray, row: np.ndarray, start: np.ndarray, end: np.ndarray, value: np.ndarray) -> None:
    """Write ``value[i]`` over run i of the HxW array ``out`` (runs are disjoint)."""
    w = out.shape[1]
    flat = out.reshape(-1)
    delta = np.zeros(flat.size + 1, dtype=np.int64)
    # Each run adds its value at its start and removes it after its end; the
    # running sum is then the value inside runs and 0 between them.
    np.add.at(delta, row * w + start, value)
    np.add.at(delta, row * w + end, -value)
    inside = np.cumsum(delta[:-1])
    covered = inside != 0
    flat[covered] = inside[covered]


def remove_small_regions(mask: np.ndarray, area_thresh: float, mode: str) -> Tuple[np.ndarray, bool]:
    """Fill small holes or drop small islands of an HxW bool mask (8-connectivity).

    ``mode="holes"``: components of the *unset* pixels smaller than
    ``area_thresh`` are set (this includes background touching the border).
    ``mode="islands"``: components of set pixels smaller than ``area_thresh``
    are cleared, except that if all are small the largest one is kept.

    Returns the HxW bool result and whether anything was below the threshold
    (the same contract as SAM's OpenCV-based version).
    """
    if mode not in ("holes", "islands"):
        raise ValueError(f"mode must be 'holes' or 'islands', got {mode!r}")
    mask = np.asarray(mask, dtype=bool)
    fill_holes = mode == "holes"
    labels, sizes = label_components(~mask if fill_holes else mask)
    small = sizes < area_thresh
    if not small.any():
        return mask, False
    if fill_holes:
        return mask | small[labels - 1] & (labels > 0), True
    keep = ~small
    if not keep.any():
        keep[int(np.argmax(sizes))] = True
    return keep[labels - 1] & (labels > 0), True
