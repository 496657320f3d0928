"""Greedy non-maximum suppression over XYXY boxes, in plain torch (no torchvision).

Boxes follow the automatic mask generator's convention: XYXY with ``x1``/``y1``
the last covered pixel, so a box's area is ``(x1 - x0) * (y1 - y0)`` exactly as
``torchvision.ops.box_area`` computes it. Zero-area boxes have an undefined IoU
and never suppress or get suppressed, matching torchvision.
"""
from __future__ import annotations

import numpy as np
import torch

# Up to this many boxes, all pairwise overlaps are computed at once (N**2 bools and a few
# float64 temporaries: 2 MiB each at 512), and each greedy step is then one lookup; above it,
# each kept box computes its IoUs with the pending boxes only (O(N) memory).
_MATRIX_LIMIT = 512


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
    cats = None if cats is None else cats.numpy()
    greedy = _greedy_from_matrix if n <= _MATRIX_LIMIT else _greedy
    keep = greedy(boxes.numpy(), cats, iou_threshold)
    return order[keep].to(device)


def _greedy_from_matrix(boxes: np.ndarray, cats: np.ndarray | None, iou_threshold: float) -> torch.Tensor:
    """:func:`_greedy` for few boxes, from the N x N overlap matrix (numpy: single-threaded,
    which for matrices this small beats waking a thread pool)."""
    x0, y0, x1, y1 = (boxes[:, k] for k in range(4))
    area = (x1 - x0) * (y1 - y0)
    width = np.clip(np.minimum(x1[:, None], x1[None]) - np.maximum(x0[:, None], x0[None]), 0, None)
    height = np.clip(np.minimum(y1[:, None], y1[None]) - np.maximum(y0[:, None], y0[None]), 0, None)
    inter = width * height
    with np.errstate(invalid="ignore", divide="ignore"):  # 0/0 for two empty boxes: NaN, never > threshold
        overlaps = inter / (area[:, None] + area[None] - inter) > iou_threshold
    if cats is not None:
        overlaps &= cats[:, None] == cats[None, :]
    pending = np.arange(len(overlaps))
    keep = []
    while len(pending):
        i, rest = pending[0], pending[1:]
        keep.append(i)
        pending = rest[~overlaps[i, rest]]
    return torch.tensor(keep, dtype=torch.int64)


def _greedy(boxes: np.ndarray, cats: np.ndarray | None, iou_threshold: float) -> torch.Tensor:
    """Greedy selection over Nx4 float64 boxes sorted by score -> int64 indices kept.

    One step per *kept* box: its IoU with the boxes still pending, which then drop the
    suppressed ones. Time is O(kept x N) and memory O(N), without an N x N matrix.
    """
    x0, y0, x1, y1 = (np.ascontiguousarray(boxes[:, k]) for k in range(4))
    area = (x1 - x0) * (y1 - y0)
    pending = np.arange(len(boxes))
    keep = []
    with np.errstate(invalid="ignore", divide="ignore"):  # 0/0 for two empty boxes: NaN, never > threshold
        while len(pending):
            i, rest = pending[0], pending[1:]
            keep.append(i)
            width = np.minimum(x1[i], x1[rest]) - np.maximum(x0[i], x0[rest])
            height = np.minimum(y1[i], y1[rest]) - np.maximum(y0[i], y0[rest])
            inter = np.clip(width, 0, None) * np.clip(height, 0, None)
            over = inter / (area[i] + area[rest] - inter) > iou_threshold
            if cats is not None:
                over &= cats[rest] == cats[i]
            pending = rest[~over]
    return torch.tensor(keep, dtype=torch.int64)
