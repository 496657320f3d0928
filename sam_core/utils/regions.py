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


def _run_pixels(w: int, row: np.ndarray, start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """Flat (raster) indices of every pixel of the runs, run after run."""
    lengths = end - start
    if len(lengths) == 0:
        return np.zeros(0, dtype=np.int64)
    # Each pixel's index is its run's first index plus its position within the run.
    first = row * w + start
    run_offset = np.cumsum(lengths) - lengths
    return np.repeat(first - run_offset, lengths) + np.arange(int(lengths.sum()))


def _paint_runs(out: np.ndarray, row: np.ndarray, start: np.ndarray, end: np.ndarray, value) -> None:
    """Write ``value`` (a scalar, or one value per run) over the runs of the HxW array ``out``.

    Touches only the runs' pixels, never the whole image.
    """
    if np.ndim(value):
        value = np.repeat(value, end - start)
    out.reshape(-1)[_run_pixels(out.shape[1], row, start, end)] = value


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
    h, w = mask.shape
    row, start, end = _row_runs(~mask if fill_holes else mask)
    if len(row) == 0:
        return mask, False
    # Labels are not needed here, only each run's component and the components' sizes.
    root = _merge(len(row), *_run_edges(row, start, end, w))
    is_root = root == np.arange(len(row))
    sizes = np.bincount(root, weights=end - start, minlength=len(row))
    small = is_root & (sizes < area_thresh)
    if not small.any():
        return mask, False
    out = mask.copy()
    if fill_holes:
        runs = small[root]
        _paint_runs(out, row[runs], start[runs], end[runs], True)
        return out, True
    keep = is_root & ~small
    if not keep.any():
        # All islands are small: keep the largest, the first in OpenCV's label order on ties.
        first_block = np.full(len(row), np.iinfo(np.int64).max)
        np.minimum.at(first_block, root, (row // 2) * (w // 2 + 1) + start // 2)
        largest = np.flatnonzero(is_root & (sizes == sizes[is_root].max()))
        keep[largest[np.argmin(first_block[largest])]] = True
    runs = ~keep[root]
    _paint_runs(out, row[runs], start[runs], end[runs], False)
    return out, True
