"""Building blocks of the automatic mask generator: prompt grids, crops, scoring, encoding.

Frames: the *original* frame is the full image's pixel grid; a *crop* frame is a
crop box's own grid, whose origin is the crop's top-left pixel. Crop boxes are
XYXY ints in the original frame with exclusive ``x1``/``y1`` (slice bounds).
Mask boxes are XYXY with *inclusive* ``x1``/``y1`` (the last set pixel), the
convention SAM's generator reports (so its XYWH width is ``x1 - x0``).
"""
from __future__ import annotations

import math
from typing import Any, Dict, Iterable, List, Sequence, Tuple, Union

import numpy as np
import torch

from .rle import Rle, rle_from_runs

Column = Union[torch.Tensor, List[Any]]


class CandidateTable:
    """The generator's working set: aligned per-candidate columns (N rows each), CPU tensors or lists."""

    def __init__(self, **columns: Column) -> None:
        self.columns: Dict[str, Column] = dict(columns)

    def __len__(self) -> int:
        return len(next(iter(self.columns.values()))) if self.columns else 0

    def __getitem__(self, name: str) -> Column:
        return self.columns[name]

    def __setitem__(self, name: str, column: Column) -> None:
        self.columns[name] = column

    def select(self, rows: torch.Tensor) -> "CandidateTable":
        """Rows by an N bool mask or by int64 indices (which also reorder)."""
        rows = rows.cpu()
        index = rows.nonzero()[:, 0] if rows.dtype == torch.bool else rows
        picked = {}
        for name, col in self.columns.items():
            picked[name] = col[index] if isinstance(col, torch.Tensor) else [col[i] for i in index.tolist()]
        return CandidateTable(**picked)

    @staticmethod
    def concat(parts: Sequence["CandidateTable"]) -> "CandidateTable":
        """Stack the rows of ``parts`` in order; parts without rows are ignored."""
        parts = [p for p in parts if len(p)]
        if not parts:
            return CandidateTable()
        out = {}
        for name, first in parts[0].columns.items():
            cols = [p[name] for p in parts]
            out[name] = torch.cat(cols) if isinstance(first, torch.Tensor) else sum(cols, [])
        return CandidateTable(**out)


def build_point_grid(n_per_side: int) -> np.ndarray:
    """(n*n)x2 float64 XY points at pixel-cell centres of the unit square, x varying fastest."""
    half_step = 1.0 / (2 * n_per_side)
    ticks = np.linspace(half_step, 1.0 - half_step, n_per_side)
    xs, ys = np.meshgrid(ticks, ticks)
    return np.stack([xs.reshape(-1), ys.reshape(-1)], axis=1)


def build_layer_point_grids(n_per_side: int, n_layers: int, downscale: int) -> List[np.ndarray]:
    """One unit-square grid per crop layer 0..n_layers; layer i has n_per_side / downscale**i per side."""
    return [build_point_grid(int(n_per_side / downscale**i)) for i in range(n_layers + 1)]


def generate_crop_boxes(
    image_size: Tuple[int, int], n_layers: int, overlap_ratio: float
) -> Tuple[List[List[int]], List[int]]:
    """Crop boxes (XYXY, original frame, exclusive ends) and the layer of each.

    Layer 0 is the whole image; layer i >= 1 tiles it with (2**i)**2 crops that
    overlap by ``overlap_ratio * short_side * 2 / 2**i`` pixels.
    """
    h, w = image_size
    boxes, layers = [[0, 0, w, h]], [0]
    for layer in range(1, n_layers + 1):
        n_side = 2**layer
        overlap = int(overlap_ratio * min(h, w) * (2 / n_side))
        crop_w = int(math.ceil((overlap * (n_side - 1) + w) / n_side))
        crop_h = int(math.ceil((overlap * (n_side - 1) + h) / n_side))
        for i in range(n_side):  # x-major order, as SAM's generator lists them
            for j in range(n_side):
                x0, y0 = int((crop_w - overlap) * i), int((crop_h - overlap) * j)
                boxes.append([x0, y0, min(x0 + crop_w, w), min(y0 + crop_h, h)])
                layers.append(layer)
    return boxes, layers


def stability_score(logits: torch.Tensor, threshold: float, offset: float) -> torch.Tensor:
    """Bx...xHxW logits -> float32 IoU of the masks cut at ``threshold +/- offset``.

    The high cut is contained in the low one, so IoU = area(high) / area(low);
    NaN where the low cut is empty.
    """
    high = count_set(logits > threshold + offset)
    low = count_set(logits > threshold - offset)
    return high.float() / low.float()


def count_set(masks: torch.Tensor) -> torch.Tensor:
    """Bx...xHxW bool -> Bx... int32 number of set pixels per mask."""
    # Summing the bytes over one flat axis is several times faster on CPU than
    # summing bools over two axes.
    return masks.flatten(-2).view(torch.uint8).sum(dim=-1, dtype=torch.int32)


def near_crop_edge(
    boxes: torch.Tensor, crop_box: Sequence[int], image_box: Sequence[int], atol: float = 20.0
) -> torch.Tensor:
    """Bx4 XYXY boxes in the crop frame -> B bool: some side lies within ``atol`` px of
    the crop's border where that border is not also the image's border (a mask cut by the crop)."""
    x0, y0 = crop_box[0], crop_box[1]
    shifted = boxes.float() + torch.tensor([x0, y0, x0, y0], dtype=torch.float, device=boxes.device)
    crop = torch.tensor(crop_box, dtype=torch.float, device=boxes.device)
    image = torch.tensor(image_box, dtype=torch.float, device=boxes.device)
    at_crop = (shifted - crop).abs() <= atol
    at_image = (shifted - image).abs() <= atol
    return (at_crop & ~at_image).any(dim=1)


class MaskRuns:
    """The vertical runs of set pixels of a BxHxW mask stack, a compact stand-in for it.

    ``runs`` is Kx4 int64 ``(mask, x, y_start, y_end)``, ``[y_start, y_end)`` in
    the masks' own frame, sorted by mask, then x, then y. Boxes and RLEs are
    derived from it without another pass over the pixels.
    """

    def __init__(self, runs: np.ndarray, n_masks: int) -> None:
        self.runs, self.n_masks = runs, n_masks

    @staticmethod
    def from_masks(masks: torch.Tensor) -> "MaskRuns":
        """BxHxW bool (any device) -> its runs; only run boundaries leave the device."""
        # Column-major, with a zero guard above and below each column, every run
        # shows up as a (start, end) pair of value changes within its column.
        cols = torch.nn.functional.pad(masks.transpose(1, 2).to(torch.int8), (1, 1))
        changes = (cols[:, :, 1:] != cols[:, :, :-1]).nonzero().cpu().numpy().astype(np.int64)
        runs = np.concatenate([changes[0::2], changes[1::2, 2:]], axis=1)
        return MaskRuns(runs.reshape(-1, 4), masks.shape[0])

    def _bounds(self) -> np.ndarray:
        """Row range ``[bounds[i], bounds[i + 1])`` of ``runs`` for each mask i."""
        return np.searchsorted(self.runs[:, 0], np.arange(self.n_masks + 1))

    def select(self, keep: np.ndarray) -> "MaskRuns":
        """The runs of masks ``keep`` (increasing int indices), renumbered 0..len(keep)-1."""
        renumber = np.full(self.n_masks, -1, dtype=np.int64)
        renumber[keep] = np.arange(len(keep))
        owner = renumber[self.runs[:, 0]]
        runs = self.runs[owner >= 0]
        runs[:, 0] = owner[owner >= 0]
        return MaskRuns(runs, len(keep))

    def boxes(self) -> torch.Tensor:
        """Bx4 int64 XYXY boxes with inclusive ends (masks' frame); [0, 0, 0, 0] when empty."""
        boxes = torch.zeros(self.n_masks, 4, dtype=torch.int64)
        bounds = self._bounds()
        filled = np.flatnonzero(bounds[1:] > bounds[:-1])
        if len(filled) == 0:
            return boxes
        first, last = bounds[filled], bounds[filled + 1] - 1
        # Runs are sorted by x within a mask, and a mask's rows are contiguous.
        x0, x1 = self.runs[first, 1], self.runs[last, 1]
        y0 = np.minimum.reduceat(self.runs[:, 2], first)
        y1 = np.maximum.reduceat(self.runs[:, 3], first) - 1
        boxes[torch.from_numpy(filled)] = torch.from_numpy(np.stack([x0, y0, x1, y1], axis=1))
        return boxes

    def to_rles(self, crop_box: Sequence[int], image_size: Tuple[int, int]) -> List[Rle]:
        """Uncompressed RLEs in the original frame, the masks pasted at ``crop_box``'s corner."""
        h, w = image_size
        x0, y0 = int(crop_box[0]), int(crop_box[1])
        column_start = (self.runs[:, 1] + x0) * h + y0
        starts, ends = column_start + self.runs[:, 2], column_start + self.runs[:, 3]
        bounds = self._bounds()
        return [rle_from_runs(starts[a:b], ends[a:b], h, w) for a, b in zip(bounds[:-1], bounds[1:])]


def masks_to_rles(masks: torch.Tensor, crop_box: Sequence[int], image_size: Tuple[int, int]) -> List[Rle]:
    """BxHcxWc bool masks in a crop frame -> uncompressed RLEs in the original frame (0 outside the crop)."""
    return MaskRuns.from_masks(masks).to_rles(crop_box, image_size)


def box_xyxy_to_xywh(box: Iterable[float]) -> List[float]:
    """[x0, y0, x1, y1] -> [x0, y0, x1 - x0, y1 - y0] as a plain list."""
    x0, y0, x1, y1 = list(box)
    return [x0, y0, x1 - x0, y1 - y0]
