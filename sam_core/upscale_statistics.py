"""Per-mask pixel counts and boxes at full resolution, evaluating only where a cut passes.

:meth:`MaskUpscaler.statistics` asks, for N low-res logit maps, how many full-resolution
pixels lie above each of a few cuts (the stability cuts), the box of the mask (logit >
``mask_threshold``) and its overlap with a ``covered`` mask. Every full-resolution logit is
a weighted sum of a few low-res logits with non-negative weights that sum to one (both
bilinear resizes of every axis), so it lies between the smallest and the largest low-res
logit it reads, up to float rounding. The output is cut into tiles (a block of
``TILE_ROWS`` rows times ``TILE_COLS`` columns); a tile whose low-res support is wholly
above a cut (by more than a rounding margin) has all its pixels above it, one wholly below
has none. A mask's block of rows is evaluated at full resolution only where some cut
crosses one of its tiles, with the same block products as the dense path, so the figures
are the dense ones exactly: for a settled tile the dense values are on the settled side of
every cut too (the margin bounds their rounding). Where the weights are not all >= 0
(no SAM resize), every block is evaluated.

Frames: ``low_res`` N x 256 x 256 float logits in the padded input frame / 4; ``covered``
H x W bool and every output in the original frame. Outputs are CPU tensors.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional, Protocol, Sequence, Tuple

import torch

from .utils.threshold import greater


class MaskUpscaler(Protocol):
    """What this module reads of :class:`sam_core.upscale.MaskUpscaler` (named here, not
    imported: that module imports this one)."""

    original_size: Tuple[int, int]
    column_matrix: torch.Tensor

    def blocks_of_height(self, rows: int): ...

    def columns(self, low_res: torch.Tensor) -> torch.Tensor: ...

    def tile_grid(self) -> "TileGrid": ...

TILE_ROWS = 16
TILE_COLS = 32
# Rounding of the two resizes (a few products and sums of float32) is under 1e-6 of the
# largest logit read; a tile closer than this to a cut is evaluated instead of settled.
_MARGIN = 1e-5
_CANDIDATES_PER_PASS = 16  # a block's logits: 16 masks x 16 rows x W floats, 1 MiB at 1024 wide


@dataclass
class MaskStatistics:
    """Per-mask figures from :meth:`MaskUpscaler.statistics` (N masks, CPU tensors)."""

    counts: torch.Tensor  # len(thresholds) x N int64 pixels above each cut
    boxes: torch.Tensor  # N x 4 int64 XYXY, inclusive ends; zeros when empty
    covered: Optional[torch.Tensor]  # N int64 mask pixels inside ``covered``, or None


@dataclass
class TileGrid:
    """The tiles of one upscaler: G row blocks (its blocks of ``TILE_ROWS`` rows) x T column tiles.

    ``row_taps`` G x a and ``col_taps`` T x b index the low-res rows / columns each tile's pixels
    read (padded by repeating one of them); ``cols_padded`` is W rounded up to T * ``TILE_COLS``.
    """

    row_taps: torch.Tensor  # G x a int64, low-res rows
    col_taps: torch.Tensor  # T x b int64, low-res columns
    row_heights: torch.Tensor  # G int64 rows per block
    col_widths: torch.Tensor  # T int64 real (unpadded) columns per tile
    cols_padded: int
    settles: bool  # every resize weight is >= 0, so a tile's support bounds its logits

    @classmethod
    def of(cls, upscaler: "MaskUpscaler") -> "TileGrid":
        blocks = upscaler.blocks_of_height(TILE_ROWS)
        row_taps = _padded_ranges([(b.taps_start, b.taps_start + b.weights.shape[1]) for b in blocks])
        w = upscaler.original_size[1]
        columns = upscaler.column_matrix  # W x 256, non-negative
        col_ranges = []
        for start in range(0, w, TILE_COLS):
            used = (columns[start : start + TILE_COLS] != 0).any(dim=0).nonzero()[:, 0]
            col_ranges.append((int(used.min()), int(used.max()) + 1))
        n_tiles = len(col_ranges)
        widths = torch.full((n_tiles,), TILE_COLS, dtype=torch.int64)
        widths[-1] = w - TILE_COLS * (n_tiles - 1)
        heights = torch.tensor([b.stop - b.start for b in blocks], dtype=torch.int64)
        settles = bool((columns >= 0).all()) and all(bool((b.weights >= 0).all()) for b in blocks)
        return cls(row_taps, _padded_ranges(col_ranges), heights, widths, TILE_COLS * n_tiles, settles)

    def low_res_range(self, low_res: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """N x 256 x 256 -> (min, max) over each tile's low-res support, each N x G x T."""
        rows = low_res[:, self.row_taps.to(low_res.device)]  # N x G x a x 256
        lo, hi = rows.amin(dim=2), rows.amax(dim=2)
        col_taps = self.col_taps.to(low_res.device)
        return lo[..., col_taps].amin(dim=-1), hi[..., col_taps].amax(dim=-1)


def settled_statistics(
    upscaler: "MaskUpscaler",
    low_res: torch.Tensor,
    thresholds: Sequence[float],
    mask_threshold: float,
    covered: Optional[torch.Tensor] = None,
) -> MaskStatistics:
    """:meth:`MaskUpscaler.statistics`; see the module docstring."""
    grid = upscaler.tile_grid()
    n = low_res.shape[0]
    cuts = list(thresholds) + [mask_threshold]
    counts = torch.zeros(len(cuts), n, dtype=torch.int64)
    row_any = torch.zeros(n, upscaler.original_size[0], dtype=torch.bool)
    col_any = torch.zeros(n, upscaler.original_size[1], dtype=torch.bool)
    inside = torch.zeros(n, dtype=torch.int64)
    covered_tiles = None if covered is None else _tile_sums(covered.cpu(), grid)
    for first in range(0, n, _CANDIDATES_PER_PASS):
        picked = slice(first, first + _CANDIDATES_PER_PASS)
        part = _Part(upscaler, grid, low_res[picked], cuts, covered, covered_tiles)
        counts[:, picked], row_any[picked], col_any[picked], inside[picked] = part.run()
    stats_counts = counts[: len(thresholds)]
    return MaskStatistics(stats_counts, _box(row_any, col_any), inside if covered is not None else None)


class _Part:
    """The statistics of up to ``_CANDIDATES_PER_PASS`` masks: settled tiles from their low-res
    range, the rest evaluated block by block."""

    def __init__(self, upscaler, grid: TileGrid, low_res, cuts: List[float], covered, covered_tiles) -> None:
        self.upscaler, self.grid, self.cuts = upscaler, grid, cuts
        self.low_res, self.covered, self.covered_tiles = low_res.float(), covered, covered_tiles

    def run(self):
        grid, cuts = self.grid, self.cuts
        n = self.low_res.shape[0]
        lo, hi = grid.low_res_range(self.low_res)  # N x G x T
        margin = _MARGIN * torch.maximum(lo.abs(), hi.abs())
        above = torch.stack([lo - margin > cut for cut in cuts])  # K x N x G x T
        below = torch.stack([hi + margin < cut for cut in cuts])
        # A block of rows is evaluated whole, for the masks that a cut crosses anywhere in it
        # (one product per block keeps the torch calls few; most blocks a cut misses lie
        # above or below a mask, where its logits are far from every cut).
        open_rows = ~(above | below).all(dim=0).all(dim=2)  # N x G: some cut crosses (or NaN)
        if not grid.settles:
            open_rows[:] = True
        above &= ~open_rows[:, :, None]
        above, open_rows = above.cpu(), open_rows.cpu()
        area = grid.row_heights[:, None] * grid.col_widths[None, :]  # G x T
        counts = (above.to(torch.int64) * area).sum(dim=(2, 3))
        mask_tiles = above[-1]  # settled wholly inside the mask
        row_any = _any(mask_tiles, 2).repeat_interleave(grid.row_heights, dim=1)
        col_any = _any(mask_tiles, 1).repeat_interleave(TILE_COLS, dim=1)[:, : self.upscaler.original_size[1]]
        inside = torch.zeros(n, dtype=torch.int64)
        if self.covered_tiles is not None:
            inside += (mask_tiles.to(torch.int64) * self.covered_tiles).sum(dim=(1, 2))
        if bool(open_rows.any()):
            self._evaluate(open_rows, counts, row_any, col_any, inside)
        return counts, row_any, col_any, inside

    def _evaluate(self, open_rows, counts, row_any, col_any, inside) -> None:
        """Adds the figures of the open (mask, block) pairs, from their full-resolution logits."""
        upscaler, cuts = self.upscaler, self.cuts
        n = open_rows.shape[0]
        columns = upscaler.columns(self.low_res)  # N x r x W
        for g, block in enumerate(upscaler.blocks_of_height(TILE_ROWS)):
            masks = open_rows[:, g].nonzero()[:, 0]
            if len(masks) == 0:
                continue
            taps = columns[:, block.taps_start : block.taps_start + block.weights.shape[1]]  # N x k x W
            some = len(masks) < n  # else slices, not index copies
            if some:
                taps = taps[masks.to(columns.device)]
            rows = masks if some else slice(None)
            logits = block.weights @ taps  # A x rows x W, in cache
            for k, cut in enumerate(cuts[:-1]):
                counts[k, rows] += _count(greater(logits, cut)).cpu()
            mask = greater(logits, cuts[-1])
            counts[-1, rows] += _count(mask).cpu()
            row_any[rows, block.start : block.stop] |= _any(mask, 2).cpu()
            col_any[rows] |= _any(mask, 1).cpu()
            if self.covered is not None:
                inside[rows] += _count(mask & self.covered[block.start : block.stop]).cpu()


def _padded_ranges(ranges: List[Tuple[int, int]]) -> torch.Tensor:
    """[(start, stop)] -> len x max_width int64 indices, each row start..stop-1 then stop-1 repeated."""
    width = max(stop - start for start, stop in ranges)
    out = torch.empty(len(ranges), width, dtype=torch.int64)
    for i, (start, stop) in enumerate(ranges):
        out[i] = torch.arange(start, start + width).clamp(max=stop - 1)
    return out


def _tile_sums(mask: torch.Tensor, grid: TileGrid) -> torch.Tensor:
    """H x W bool -> G x T int64 set pixels per tile."""
    padded = torch.nn.functional.pad(mask.to(torch.int64), (0, grid.cols_padded - mask.shape[1]))
    per_col_tile = padded.view(mask.shape[0], -1, TILE_COLS).sum(dim=2)  # H x T
    starts = torch.cumsum(grid.row_heights, 0) - grid.row_heights
    return torch.stack([per_col_tile[s : s + h].sum(dim=0) for s, h in zip(starts.tolist(), grid.row_heights.tolist())])


def _any(masks: torch.Tensor, dim: int) -> torch.Tensor:
    """``masks.any(dim)`` for bool tensors, as a uint8 max (torch's bool ``any`` is ~50x slower)."""
    return masks.view(torch.uint8).amax(dim=dim).view(torch.bool)


def _count(masks: torch.Tensor) -> torch.Tensor:
    """N x h x w bool -> N int64 set pixels."""
    return masks.flatten(1).sum(dim=1)


def _box(row_any: torch.Tensor, col_any: torch.Tensor) -> torch.Tensor:
    """N x H and N x W bool occupancy -> N x 4 int64 XYXY with inclusive ends, zeros if empty."""
    def extent(occupied: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        index = torch.arange(occupied.shape[1])
        first = torch.where(occupied, index, occupied.shape[1]).amin(dim=1)
        last = torch.where(occupied, index, -1).amax(dim=1)
        return first, last

    x0, x1 = extent(col_any)
    y0, y1 = extent(row_any)
    boxes = torch.stack([x0, y0, x1, y1], dim=1)
    return torch.where(row_any.any(dim=1)[:, None], boxes, torch.zeros_like(boxes))
