"""Hiera, SAM 2's image trunk: a 1024x1024 image -> features at strides 4, 8, 16 and 32.

Four stages of pre-norm transformer blocks; the first block of stages 2-4 doubles the
width and the heads and max-pools its queries 2x2 (the grid halves). Blocks attend
within windows (a per-stage size, lagging by one block at a stage change) except a
few global ones. There are no relative positions: attention is plain
``scaled_dot_product_attention``. The position embedding is a small learned map,
bicubically resized to the grid, plus a tiled per-window embedding.

Which blocks are global and the window sizes are not in the weights; they come from
the published configuration the loader matches (:mod:`sam_core.families.sam2`).
Grids are channels-last, B x H x W x C.
"""
from __future__ import annotations

import threading
from typing import Sequence

import torch
from torch import nn
from torch.nn import functional as F

from ..mask_decoder import MLP
from .hiera_inference import block_tokens

_WORKSPACE_LOCK = threading.Lock()  # one trunk call at a time uses a trunk's kept workspace


class PatchEmbed(nn.Module):
    """7x7 convolution, stride 4: Bx3xHxW -> B x H/4 x W/4 x C (channels-last)."""

    def __init__(self, embed_dim: int, in_chans: int = 3) -> None:
        super().__init__()
        self.proj = nn.Conv2d(in_chans, embed_dim, kernel_size=7, stride=4, padding=3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(x).permute(0, 2, 3, 1)


class MultiScaleAttention(nn.Module):
    """Multi-head attention over BxHxWxC tokens; with ``q_stride`` the queries are max-pooled
    first, so the output grid is H/s x W/s and ``dim_out`` wide."""

    def __init__(self, dim: int, dim_out: int, num_heads: int, q_stride: int | None = None) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.q_stride = q_stride
        self.qkv = nn.Linear(dim, dim_out * 3)
        self.proj = nn.Linear(dim_out, dim_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, h, w, _ = x.shape
        q, k, v = self.qkv(x).reshape(b, h * w, 3, self.num_heads, -1).unbind(2)
        if self.q_stride:
            q = max_pool(q.reshape(b, h, w, -1), self.q_stride)
            h, w = q.shape[1:3]
            q = q.reshape(b, h * w, self.num_heads, -1)
        x = F.scaled_dot_product_attention(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2))
        return self.proj(x.transpose(1, 2).reshape(b, h, w, -1))


class MultiScaleBlock(nn.Module):
    """Pre-norm block; ``window_size == 0`` attends globally. A block that changes width
    projects its (normed, pooled) input for the residual (``proj``)."""

    def __init__(
        self, dim: int, dim_out: int, num_heads: int, window_size: int, q_stride: int | None, mlp_ratio: float = 4.0
    ) -> None:
        super().__init__()
        self.dim, self.dim_out = dim, dim_out
        self.window_size = window_size
        self.q_stride = q_stride
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = MultiScaleAttention(dim, dim_out, num_heads, q_stride)
        self.norm2 = nn.LayerNorm(dim_out, eps=1e-6)
        self.mlp = MLP(dim_out, int(dim_out * mlp_ratio), dim_out, num_layers=2, activation=nn.GELU)
        if dim != dim_out:
            self.proj = nn.Linear(dim, dim_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x``: BxHxWxC -> B x H' x W' x C' (H' = H/q_stride)."""
        shortcut = x
        x = self.norm1(x)
        if self.dim != self.dim_out:
            shortcut = self.proj(x)
            if self.q_stride:
                shortcut = max_pool(shortcut, self.q_stride)
        window = self.window_size
        h, w = x.shape[1:3]
        if window > 0:
            x, padded = window_partition(x, window)
        x = self.attn(x)
        if self.q_stride:
            window //= self.q_stride
            h, w = shortcut.shape[1:3]
            padded = (h + (-h) % window, w + (-w) % window) if window > 0 else (h, w)
        if window > 0:
            x = window_unpartition(x, window, padded, (h, w))
        x = shortcut + x
        return x + self.mlp(self.norm2(x))


class Hiera(nn.Module):
    """The trunk. ``forward``: Bx3xSxS -> one B x C_i x S/s_i x S/s_i map per stage
    (strides 4, 8, 16, 32; widths embed_dim * 1, 2, 4, 8)."""

    def __init__(
        self,
        embed_dim: int,
        num_heads: int,
        stages: Sequence[int],
        global_att_blocks: Sequence[int],
        window_spec: Sequence[int],
        pos_embed_size: tuple[int, int],
        q_stride: int = 2,
    ) -> None:
        super().__init__()
        self.stage_ends = [sum(stages[: i + 1]) - 1 for i in range(len(stages))]
        pooled = {end + 1 for end in self.stage_ends[:-1]}
        self.patch_embed = PatchEmbed(embed_dim)
        self.pos_embed = nn.Parameter(torch.zeros(1, embed_dim, *pos_embed_size))
        self.pos_embed_window = nn.Parameter(torch.zeros(1, embed_dim, window_spec[0], window_spec[0]))
        self.blocks = nn.ModuleList()
        stage, dim = 0, embed_dim
        for i in range(sum(stages)):
            # A stage's first block still uses the previous stage's window (on its larger input).
            window = 0 if i in global_att_blocks else window_spec[stage]
            dim_out = dim
            if i in pooled:
                dim_out, num_heads, stage = dim * 2, num_heads * 2, stage + 1
            self.blocks.append(MultiScaleBlock(dim, dim_out, num_heads, window, q_stride if i in pooled else None))
            dim = dim_out
        self.channel_list = [self.blocks[end].dim_out for end in self.stage_ends[::-1]]
        self._pos_cache: tuple | None = None
        self._workspace: dict = {}

    def position_embedding(self, size: tuple[int, int]) -> torch.Tensor:
        """1 x H x W x C: the learned map resized bicubically to the grid, plus the window
        embedding tiled over it. Kept while the weights, dtype and size stay the same."""
        if torch.is_grad_enabled():
            return self._position_embedding(size)
        key = (size, self.pos_embed._version, self.pos_embed_window._version, self.pos_embed.data_ptr(),
               self.pos_embed.dtype, self.pos_embed.device)
        if self._pos_cache is None or self._pos_cache[0] != key:
            self._pos_cache = (key, self._position_embedding(size).contiguous())
        return self._pos_cache[1]

    def _position_embedding(self, size: tuple[int, int]) -> torch.Tensor:
        window = self.pos_embed_window
        grid = F.interpolate(self.pos_embed, size=size, mode="bicubic")
        grid = grid + window.tile([a // b for a, b in zip(grid.shape, window.shape)])
        return grid.permute(0, 2, 3, 1)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        if not torch.is_grad_enabled():
            return [rows.view(*grid, -1).permute(0, 3, 1, 2) for rows, grid in self.stage_tokens(x)]
        x = self.patch_embed(x)
        x = x + self.position_embedding(tuple(x.shape[1:3]))
        outputs = []
        for i, block in enumerate(self.blocks):
            x = block(x)
            if i in self.stage_ends:
                outputs.append(x.permute(0, 3, 1, 2))
        return outputs

    def stage_tokens(self, x: torch.Tensor) -> list[tuple[torch.Tensor, tuple[int, int, int]]]:
        """Inference: Bx3xSxS -> per stage, its (B*H*W) x C token rows (grid order) and (B, H, W).

        The blocks run the in-place path of :mod:`.hiera_inference` with buffers kept from
        the last image; a call made while another holds them gets buffers of its own.
        """
        embedded = self.patch_embed(x)
        b, h, w, c = embedded.shape
        rows = torch.add(embedded, self.position_embedding((h, w))).view(-1, c)
        grid = (b, h, w)
        outputs = []
        owned = _WORKSPACE_LOCK.acquire(blocking=False)
        workspace = self._workspace if owned else {}
        try:
            for i, block in enumerate(self.blocks):
                rows, grid = block_tokens(block, rows, grid, workspace)
                if i in self.stage_ends:
                    outputs.append((rows, grid))
        finally:
            if owned:
                _WORKSPACE_LOCK.release()
        return outputs

    def release_workspace(self) -> None:
        """Free the inference buffers kept between calls."""
        with _WORKSPACE_LOCK:
            self._workspace = {}

    def _apply(self, fn, *args, **kwargs):  # .to(), .half(), ...: buffers of the old device or dtype go
        self._workspace = {}
        self._pos_cache = None
        return super()._apply(fn, *args, **kwargs)


def max_pool(x: torch.Tensor, stride: int) -> torch.Tensor:
    """BxHxWxC -> B x H/s x W/s x C, max over stride x stride cells (floor, as MaxPool2d)."""
    return F.max_pool2d(x.permute(0, 3, 1, 2), stride, stride).permute(0, 2, 3, 1)


def window_partition(x: torch.Tensor, window: int) -> tuple[torch.Tensor, tuple[int, int]]:
    """BxHxWxC -> (B * windows) x window x window x C, zero-padded at the bottom and right;
    also returns the padded (H, W)."""
    b, h, w, c = x.shape
    pad_h, pad_w = (-h) % window, (-w) % window
    if pad_h or pad_w:
        x = F.pad(x, (0, 0, 0, pad_w, 0, pad_h))
    hp, wp = h + pad_h, w + pad_w
    x = x.view(b, hp // window, window, wp // window, window, c)
    return x.permute(0, 1, 3, 2, 4, 5).reshape(-1, window, window, c), (hp, wp)


def window_unpartition(
    windows: torch.Tensor, window: int, padded: tuple[int, int], size: tuple[int, int]
) -> torch.Tensor:
    """The inverse of :func:`window_partition`, cropping the padding: B x H x W x C."""
    hp, wp = padded
    b = windows.shape[0] // (hp * wp // window // window)
    x = windows.reshape(b, hp // window, wp // window, window, window, -1)
    x = x.permute(0, 1, 3, 2, 4, 5).reshape(b, hp, wp, -1)
    return x[:, : size[0], : size[1]] if (hp, wp) != tuple(size) else x
