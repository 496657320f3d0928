"""COCO run-length encoding computed from and to bounding-box crops.

COCO RLE describes a full HxW binary mask in column-major (Fortran) order:
``counts`` alternates runs of 0s and 1s, starting with 0s (so it starts with 0
when pixel (0, 0) is set), and sums to H*W. The compressed form is
pycocotools' LEB128-like string.

Materialising HxW arrays for thousands of masks of a large image costs
gigabytes of memory traffic, so this module goes straight between a tight bool
crop (h x w, placed at column ``x``, row ``y`` of the image) and the counts.
Strings are produced by pycocotools itself and decoded here with numpy; the
tests check both directions against ``pycocotools.mask``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from pycocotools import mask as mask_utils

_MAX_COUNT = 2**32 - 1  # pycocotools stores counts (and so the pixels of an image) as uint32


def check_rle_size(height: int, width: int) -> None:
    """``ValueError`` for a mask COCO RLE cannot describe: more than 2**32 - 1 pixels, whose
    runs would wrap in pycocotools' uint32 counts."""
    if height * width > _MAX_COUNT:
        raise ValueError(f"a mask of {height} x {width} = {height * width:,} pixels is more than COCO RLE "
                         f"can describe ({_MAX_COUNT:,})")


def crop_to_counts(crop: np.ndarray, x: int, y: int, height: int, width: int) -> np.ndarray:
    """Uncompressed RLE counts (uint32, 1-D) of the full ``height`` x ``width`` mask
    that is ``crop`` (bool, h x w, row-major) placed at column ``x``, row ``y`` and
    False elsewhere. Identical to ``pycocotools.mask.encode`` of the full mask."""
    check_rle_size(height, width)
    total = height * width
    h, w = crop.shape
    if crop.size == 0:
        return np.array([total], dtype=np.uint32)
    # Pad each column with a False above and below, then find where values change
    # going down the columns: alternately the first 1 of a run and the first 0 after it.
    padded = np.zeros((h + 2, w), dtype=bool)
    padded[1:-1] = crop
    rows, cols = np.divmod(np.flatnonzero(padded[1:] != padded[:-1]), w)
    if len(rows) == 0:
        return np.array([total], dtype=np.uint32)
    # As indices into the full column-major mask; sorting puts them in RLE order,
    # and the padding makes them alternate start, end within every column.
    flat = np.sort((x + cols).astype(np.int64) * height + (y + rows))
    starts, ends = _join(flat[0::2], flat[1::2])
    edges = np.empty(2 * len(starts) + 2, dtype=np.int64)
    edges[0] = 0
    edges[1:-1:2] = starts
    edges[2:-1:2] = ends
    edges[-1] = total
    counts = np.diff(edges)
    if counts[-1] == 0:  # the mask ends with 1s: pycocotools writes no empty run
        counts = counts[:-1]
    return counts.astype(np.uint32)


def _join(starts: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Merge runs of 1s that touch: one reaching the bottom row continues at the top
    of the next column, and foreign RLE may hold empty runs of 0s."""
    joined = ends[:-1] == starts[1:]
    if not joined.any():
        return starts, ends
    return np.concatenate([starts[:1], starts[1:][~joined]]), np.concatenate([ends[:-1][~joined], ends[-1:]])


def counts_to_string(counts: np.ndarray, height: int, width: int) -> str:
    """Compress uncompressed counts into pycocotools' string form (ASCII)."""
    counts = np.ascontiguousarray(counts, dtype=np.uint32)
    rle = mask_utils.frPyObjects([{"size": [height, width], "counts": counts}], height, width)[0]
    return rle["counts"].decode("ascii")


def string_to_counts(text: str | bytes) -> np.ndarray:
    """Decode pycocotools' compressed counts string into int64 counts.

    Raises ``ValueError`` on characters outside the alphabet, a truncated last
    value, or a negative or over-large count.
    """
    raw = text.encode("ascii") if isinstance(text, str) else bytes(text)
    if not raw:
        return np.zeros(0, dtype=np.int64)
    code = np.frombuffer(raw, dtype=np.uint8).astype(np.int64) - 48
    if code.min() < 0 or code.max() > 63:
        raise ValueError("compressed counts contain characters outside '0'..'o'")
    more = (code & 0x20) != 0
    if more[-1]:
        raise ValueError("compressed counts end in the middle of a value")
    last = ~more
    starts = np.flatnonzero(np.concatenate([[True], last[:-1]]))
    group = np.cumsum(np.concatenate([[0], last[:-1].astype(np.int64)]))
    digit = np.arange(len(code)) - starts[group]
    if digit.max() > 7:
        raise ValueError("compressed counts contain a value that is too long")
    values = np.add.reduceat((code & 0x1F) << (5 * digit), starts)
    lengths = np.diff(np.append(starts, len(code)))
    negative = (code[last] & 0x10) != 0
    values[negative] -= np.left_shift(1, 5 * lengths[negative])
    # Values after the third are stored as differences to the value two before.
    counts = values.copy()
    if len(counts) > 3:
        counts[3::2] = np.cumsum(values[1::2])[1:]
    if len(counts) > 4:
        counts[4::2] = np.cumsum(values[2::2])[1:]
    if counts.min() < 0 or counts.max() > _MAX_COUNT:
        raise ValueError("compressed counts decode to a negative or over-large run")
    return counts


def counts_to_crop(
    counts: np.ndarray, height: int, width: int, reserve: Callable[[int], None] | None = None
) -> tuple[np.ndarray, int, int]:
    """Inverse of :func:`crop_to_counts`: return ``(crop, x, y)``, the tight bool crop
    (row-major, C-contiguous) of the mask and its column/row in the image.

    An empty mask gives a 0 x 0 crop at (0, 0). Raises ``ValueError`` when the counts
    are negative or do not sum to ``height * width``. ``reserve``, when given, is called
    with the crop's pixel count before the crop is allocated (and may raise to refuse it):
    a few bytes of counts can describe a mask of any size.
    """
    check_rle_size(height, width)
    counts = np.asarray(counts, dtype=np.int64)
    if counts.ndim != 1:
        raise ValueError("counts must be one-dimensional")
    if len(counts) and counts.min() < 0:
        raise ValueError("counts must not be negative")
    total = int(counts.sum())
    if total != height * width:
        raise ValueError(f"counts sum to {total}, expected {height} * {width} = {height * width}")
    edges = np.cumsum(counts)
    n_runs = len(counts) // 2
    starts = edges[0 : 2 * n_runs : 2]
    ends = edges[1 : 2 * n_runs : 2]
    keep = ends > starts
    starts, ends = starts[keep], ends[keep]
    if len(starts) == 0:
        return np.zeros((0, 0), dtype=bool), 0, 0
    starts, ends = _join(starts, ends)
    first_col = starts // height
    last_col = (ends - 1) // height
    n_segments = last_col - first_col + 1
    if (n_segments == 1).all():
        seg_col, top, bottom = first_col, starts - first_col * height, ends - first_col * height
    else:  # split runs that wrap into later columns into one segment per column
        run = np.repeat(np.arange(len(starts)), n_segments)
        offset = np.arange(len(run)) - np.repeat(np.cumsum(n_segments) - n_segments, n_segments)
        seg_col = first_col[run] + offset
        top = np.where(seg_col == first_col[run], starts[run] - seg_col * height, 0)
        bottom = np.where(seg_col == last_col[run], ends[run] - seg_col * height, height)
    x0, x1 = int(seg_col[0]), int(seg_col[-1]) + 1
    y0, y1 = int(top.min()), int(bottom.max())
    h, w = y1 - y0, x1 - x0
    if reserve is not None:
        reserve(h * w)
    # Toggle at each segment's first row and the row after its last: segments in a
    # column are disjoint and apart, so a running XOR down the columns fills them.
    toggles = np.zeros((h + 1, w), dtype=bool)
    toggles[top - y0, seg_col - x0] = True
    toggles[bottom - y0, seg_col - x0] = True
    crop = np.logical_xor.accumulate(toggles, axis=0)[:h]
    return crop, x0, y0
