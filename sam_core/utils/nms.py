"""Greedy non-maximum suppression over XYXY boxes, in plain torch (no torchvision).

Boxes follow the automatic mask generator's convention: XYXY with ``x1``/``y1``
the last covered pixel, so a box's area is ``(x1 - x0) * (y1 - y0)`` exactly as
``torchvision.ops.box_area`` computes it. Zero-area boxes have an undefined IoU
and never suppress or get suppressed, matching torchvision.
"""
from __future__ import annotations

import numpy as np
import torch

# Up to this many boxes the full pairwise IoU matrix is built at once (float64,
# 8 * N**2 bytes: 128 MiB at 4096); above it, IoU rows are computed per kept box.
_MATRIX_LIMIT = 4096


def box_area(boxes: torch.Tensor) -> torch.Tensor:
    """Nx4 XYXY -> N areas ``(x1 - x0) * (y1 - y0)`` in the boxes' dtype."""
    return (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])


def box_iou(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """IoU of Nx4 and Mx4 XYXY boxes -> NxM (float64; NaN where both areas are 0)."""
    a, b = a.double(), b.double()
    lt = torch.maximum(a[:, None, :2], b[None, :, :2])
    rb = torch.minimum(a[:, None, 2:], b[None, :, 2:])
    wh = (rb - lt).clamp(min=0)
    inter = wh[..., 0] * wh[..., 1]
    return inter / (box_area(a)[:, None] + box_area(b)[None, :] - inter)


def batched_nms(
    boxes: torch.Tensor,
    scores: torch.Tensor,
    categories: torch.Tensor | None,
    iou_threshold: float,
) -> torch.Tensor:
    """Greedy NMS, run independently per category.

    Args:
        boxes: Nx4 XYXY boxes (any real dtype, any device).
        scores: N scores; higher is kept first. Ties keep the earlier index.
        categories: N integer category ids, or None for a single category.
            Boxes of different categories never suppress each other.
        iou_threshold: a box is dropped when its IoU with an already kept box
            of the same category is strictly greater than this.

    Returns:
        int64 indices into ``boxes`` of the kept boxes, by decreasing score,
        on the boxes' device.
    """
    device = boxes.device
    n = boxes.shape[0]
    if n == 0:
        return torch.empty(0, dtype=torch.int64, device=device)
    # Selection is inherently sequential; doing it on the CPU in float64 keeps
    # integer-coordinate IoUs exact and avoids a device sync per kept box.
    order = torch.argsort(scores.detach().cpu().double(), descending=True, stable=True)
    boxes = boxes.detach().cpu().double()[order]
    cats = None if categories is None else categories.detach().cpu()[order]
    if n <= _MATRIX_LIMIT:
        keep = _greedy_from_matrix(boxes, cats, iou_threshold)
    else:
        keep = _greedy_by_rows(boxes, cats, iou_threshold)
    return order[keep].to(device)


def _greedy_from_matrix(
    boxes: torch.Tensor, cats: torch.Tensor | None, iou_threshold: float
) -> torch.Tensor:
    """Greedy selection over boxes sorted by score, via one NxN overlap matrix."""
    overlaps = box_iou(boxes, boxes) > iou_threshold
    if cats is not None:
        overlaps &= cats[:, None] == cats[None, :]
    overlaps = overlaps.numpy()
    n = len(overlaps)
    suppressed = np.zeros(n, dtype=bool)
    keep = []
    for i in range(n):
        if suppressed[i]:
            continue
        keep.append(i)
        suppressed |= overlaps[i]  # only later boxes can still be pending
    return torch.tensor(keep, dtype=torch.int64)


def _greedy_by_rows(
    boxes: torch.Tensor, cats: torch.Tensor | None, iou_threshold: float
) -> torch.Tensor:
    """Same result as ``_greedy_from_matrix`` in O(N) memory: one IoU row per kept box."""
    n = boxes.shape[0]
    suppressed = torch.zeros(n, dtype=torch.bool)
    keep = []
    for i in range(n):
        if suppressed[i]:
            continue
        keep.append(i)
        rest = slice(i + 1, n)
        over = box_iou(boxes[i : i + 1], boxes[rest])[0] > iou_threshold
        if cats is not None:
            over &= cats[rest] == cats[i]
        suppressed[rest] |= over
    return torch.tensor(keep, dtype=torch.int64)
