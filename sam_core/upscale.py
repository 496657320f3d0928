"""Low-res mask logits -> full-resolution masks, one block of rows at a time.

SAM's post-processing (``Sam.postprocess_masks``, as in Meta's code) is two bilinear
resizes: the 256x256 logits up to the padded 1024 frame, crop to the resized image
(``input_size``), then to the original size. Each is separable, so the full-resolution
logits of a low-res map ``L`` are ``Ry @ (L resized along its rows)``, where ``Ry``
(H x 256) is the row steps composed into one matrix.

:class:`MaskUpscaler` resizes the columns first, with the same 1-D resizes the reference
uses (a small r x W intermediate per mask: only the r low-res rows any output reads),
then applies ``Ry`` to blocks of output rows. Each row of ``Ry`` has at most four non-zero
taps, so a block reads only the few rows it needs, and its float logits are thresholded
(or counted) while still in cache: no full-resolution float image is ever written. The
values equal the two-pass resize up to float rounding (about 1e-7 relative), which is what
the parity tests check against the reference.

The resize steps of an axis are data (:func:`sam_resize_steps` for SAM v1), so a family
whose post-processing is another chain of bilinear resizes uses the same class.

Frames: ``low_res`` logits are in the padded input frame divided by 4
(N x 256 x 256); outputs are in the original frame (N x H x W).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

import torch
from torch.nn import functional as F

from .upscale_statistics import MaskStatistics, TileGrid, settled_statistics
from .utils.threshold import greater_into

# Floats of one block's logits (1 MiB): small enough to stay in L2 while they are thresholded.
_BLOCK_FLOATS = 2**18


Steps = Sequence[Tuple[int, int]]  # per axis: (resize to this length, then keep the first this many)


def resize_matrix(n_in: int, n_out: int) -> torch.Tensor:
    """The n_out x n_in float32 matrix of a 1-D bilinear resize (``align_corners=False``),
    read off ``F.interpolate`` itself so the taps are exactly torch's."""
    eye = torch.eye(n_in, dtype=torch.float32)[None]  # 1 x n_in channels x n_in samples
    return F.interpolate(eye, size=n_out, mode="linear", align_corners=False)[0].t().contiguous()


def axis_matrix(low_res: int, steps: Steps) -> torch.Tensor:
    """The resize steps of one axis composed: an out x low_res float32 matrix."""
    matrix, length = None, low_res
    for size, keep in steps:
        step = resize_matrix(length, size)[:keep]
        matrix = step if matrix is None else step @ matrix
        length = keep
    return matrix if matrix is not None else torch.eye(low_res)


def sam_resize_steps(padded: int, input_size: Tuple[int, int], original_size: Tuple[int, int]) -> Tuple[Steps, Steps]:
    """Rows' and columns' steps of ``Sam.postprocess_masks``: up to the padded input frame, crop
    the padding, then to the original size."""
    return tuple(((padded, int(i)), (int(o), int(o))) for i, o in zip(input_size, original_size))


@dataclass
class _RowBlock:
    start: int  # first output row
    stop: int  # one past the last output row
    taps_start: int  # first low-res row read
    weights: torch.Tensor  # (stop - start) x taps float32


class MaskUpscaler:
    """Upscales N x 256 x 256 low-res logits of one image to its original H x W frame.

    Built once per (input size, original size, device); :class:`~sam_core.SamPredictor`
    keeps one per image.
    """

    def __init__(self, low_res_size: int, row_steps: Steps, col_steps: Steps, device: torch.device | str = "cpu") -> None:
        """``row_steps`` / ``col_steps``: each axis's resizes (see :func:`sam_resize_steps`)."""
        self.row_steps, self.col_steps = list(row_steps), list(col_steps)
        self.original_size = (self.row_steps[-1][1], self.col_steps[-1][1])
        self.device = torch.device(device)
        rows = axis_matrix(low_res_size, self.row_steps)
        used = (rows != 0).any(dim=0).nonzero()
        self.rows_used = int(used.max()) + 1 if len(used) else 1
        self._rows = rows[:, : self.rows_used]
        self._blocks: dict[int, List[_RowBlock]] = {}
        self._low_res_size = low_res_size
        self._columns: Optional[torch.Tensor] = None
        self._tiles: Optional[TileGrid] = None

    @classmethod
    def for_sam(
        cls,
        low_res_size: int,
        padded_size: int,
        input_size: Tuple[int, int],
        original_size: Tuple[int, int],
        device: torch.device | str = "cpu",
    ) -> "MaskUpscaler":
        """The upscaler of ``Sam.postprocess_masks`` for one image."""
        return cls(low_res_size, *sam_resize_steps(padded_size, input_size, original_size), device=device)

    def blocks(self, n_masks: int) -> List[_RowBlock]:
        """Row blocks sized so that ``n_masks`` masks' block logits take about 1 MiB."""
        h, w = self.original_size
        return self.blocks_of_height(max(1, min(h, _BLOCK_FLOATS // max(1, n_masks * w))))

    def blocks_of_height(self, height: int) -> List[_RowBlock]:
        """The output rows in blocks of ``height`` (the last one shorter), built once per height."""
        h = self.original_size[0]
        if height not in self._blocks:
            blocks = []
            for start in range(0, h, height):
                stop = min(h, start + height)
                taps = (self._rows[start:stop] != 0).any(dim=0).nonzero()[:, 0]
                first, last = int(taps.min()), int(taps.max()) + 1
                weights = self._rows[start:stop, first:last].contiguous().to(self.device)
                blocks.append(_RowBlock(start, stop, first, weights))
            self._blocks[height] = blocks
        return self._blocks[height]

    def columns(self, low_res: torch.Tensor) -> torch.Tensor:
        """N x 256 x 256 -> N x r x W: the column resize of the low-res rows any output uses.

        Done by the same two 1-D resizes as the reference's (cheap: r rows, not H).
        """
        x = low_res[:, : self.rows_used].float()
        for size, keep in self.col_steps:
            if x.shape[-1] != size:
                x = F.interpolate(x, size=size, mode="linear", align_corners=False)
            x = x[..., :keep]
        return x

    def logits(self, low_res: torch.Tensor) -> torch.Tensor:
        """N x 256 x 256 low-res logits -> N x H x W float32 logits, original frame."""
        out = low_res.new_empty((low_res.shape[0], *self.original_size), dtype=torch.float32)
        for first, cols in self._chunks(low_res):
            for block in self.blocks(len(cols)):
                taps = cols[:, block.taps_start : block.taps_start + block.weights.shape[1]]
                out[first : first + len(cols), block.start : block.stop] = block.weights @ taps
        return out

    def masks(self, low_res: torch.Tensor, threshold: float, out: Optional[torch.Tensor] = None) -> torch.Tensor:
        """N x 256 x 256 low-res logits -> N x H x W bool (logit > ``threshold``), original frame.

        ``out``: an N x H x W bool tensor to write into (reused across calls), or None.
        """
        if out is None:
            out = torch.empty((low_res.shape[0], *self.original_size), dtype=torch.bool, device=low_res.device)
        for first, cols in self._chunks(low_res):
            for block in self.blocks(len(cols)):
                taps = cols[:, block.taps_start : block.taps_start + block.weights.shape[1]]
                greater_into(block.weights @ taps, threshold, out[first : first + len(cols), block.start : block.stop])
        return out

    def statistics(
        self,
        low_res: torch.Tensor,
        thresholds: Sequence[float],
        mask_threshold: float,
        covered: Optional[torch.Tensor] = None,
    ) -> MaskStatistics:
        """What the generator filters on, from full-resolution logits never stored whole.

        Only the tiles of the output that a cut crosses are evaluated at full resolution
        (:mod:`sam_core.upscale_statistics`); the figures equal the dense ones exactly.

        Args:
            low_res: N x 256 x 256 logits.
            thresholds: logit cuts whose pixel counts are wanted (e.g. the stability cuts).
            mask_threshold: the cut that defines the mask, whose box (and overlap with
                ``covered``) is measured.
            covered: H x W bool, or None.
        """
        return settled_statistics(self, low_res, thresholds, mask_threshold, covered)

    @property
    def column_matrix(self) -> torch.Tensor:
        """The column resizes composed: W x 256 float32 (CPU), as :meth:`columns` applies them."""
        if self._columns is None:
            self._columns = axis_matrix(self._low_res_size, self.col_steps)
        return self._columns

    def tile_grid(self) -> TileGrid:
        """The tiles :meth:`statistics` settles or evaluates (built once)."""
        if self._tiles is None:
            self._tiles = TileGrid.of(self)
        return self._tiles

    def _chunks(self, low_res: torch.Tensor, chunk: Optional[int] = None):
        """(first index, column-resized chunk) pairs; chunks bound the r x W intermediates."""
        n = low_res.shape[0]
        if chunk is None:
            per_mask = self.rows_used * self.original_size[1]
            chunk = max(1, min(n, 2**23 // max(1, per_mask)))  # 32 MiB of column-resized rows
        for first in range(0, n, chunk):
            yield first, self.columns(low_res[first : first + chunk])
