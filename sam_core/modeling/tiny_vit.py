"""TinyViT, MobileSAM's image encoder (and HQ-SAM's ``vit_tiny``): 1024x1024 image -> 256x64x64.

Four stages over a 4x-downsampled grid: MBConv blocks at 256x256, then windowed
attention blocks at 128x128, 64x64 and 64x64 (the last patch merging keeps the
resolution, as in MobileSAM), then SAM's convolutional neck. Parameter names are
those of ``mobile_sam.pt`` (``layers.*``, ``patch_embed.seq.*``, ``neck.*``); the
ImageNet head (``norm_head``, ``head``; ``num_classes`` 0 leaves it out) is kept so those
files load strictly, but is never run.

Every convolution is followed by a BatchNorm, which inference folds into the
convolution (:mod:`.folded_conv`); the fast paths live in :mod:`.tiny_vit_fast`.
Shapes: token tensors are B x (H*W) x C, row-major over the grid; conv feature maps B x C x H x W.
"""
from __future__ import annotations

import itertools

import torch
import torch.nn.functional as F
from torch import nn

from .common import LayerNorm2d
from . import tiny_vit_fast
from .folded_conv import folded_conv
from .tiny_vit_config import MOBILE_SAM_TINY_VIT, TinyViTConfig
from .kept_workspace import KeptWorkspace




class ConvBN(nn.Sequential):
    """``Conv2d_BN``: a bias-free convolution (``c``) and its BatchNorm (``bn``)."""

    def __init__(self, in_chans: int, out_chans: int, kernel: int = 1, stride: int = 1, groups: int = 1) -> None:
        super().__init__()
        self.add_module("c", nn.Conv2d(in_chans, out_chans, kernel, stride, kernel // 2, groups=groups, bias=False))
        self.add_module("bn", nn.BatchNorm2d(out_chans))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if torch.is_grad_enabled() or self.training:
            return super().forward(x)
        weight, bias = folded_conv(self.c, self.bn, x.dtype)
        return F.conv2d(x, weight, bias, self.c.stride, self.c.padding, 1, self.c.groups)

    def folded(self, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
        """(weight, bias) of the convolution with the BatchNorm folded in."""
        return folded_conv(self.c, self.bn, dtype)


class PatchEmbed(nn.Module):
    """Two stride-2 3x3 convolutions with a GELU between: B x 3 x H x W -> B x C x H/4 x W/4."""

    def __init__(self, in_chans: int, embed_dim: int) -> None:
        super().__init__()
        self.seq = nn.Sequential(
            ConvBN(in_chans, embed_dim // 2, 3, 2), nn.GELU(), ConvBN(embed_dim // 2, embed_dim, 3, 2)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.seq(x)


class MBConv(nn.Module):
    """Inverted residual: 1x1 expand, 3x3 depthwise, 1x1 project, residual, GELU (B x C x H x W)."""

    def __init__(self, chans: int, expand_ratio: float) -> None:
        super().__init__()
        hidden = int(chans * expand_ratio)
        self.conv1 = ConvBN(chans, hidden)
        self.act1 = nn.GELU()
        self.conv2 = ConvBN(hidden, hidden, 3, groups=hidden)
        self.act2 = nn.GELU()
        self.conv3 = ConvBN(hidden, chans)
        self.act3 = nn.GELU()

    def forward(self, x: torch.Tensor, workspace: dict | None = None, name: str = "") -> torch.Tensor:
        """``x``: B x C x H x W. With a ``workspace`` and autograd off (the encoder's inference
        path), ``x`` is 1 x H x W x C channels last and the result goes to the buffer ``name``."""
        if workspace is not None and not torch.is_grad_enabled():
            return tiny_vit_fast.mbconv_block(self, x, workspace, name)
        y = self.act2(self.conv2(self.act1(self.conv1(x))))
        return self.act3(self.conv3(y) + x)


class PatchMerging(nn.Module):
    """1x1, 3x3 depthwise (stride ``stride``), 1x1: B x C x H x W (or tokens) -> B x (H'*W') x C'."""

    def __init__(self, dim: int, out_dim: int, stride: int) -> None:
        super().__init__()
        self.act = nn.GELU()
        self.conv1 = ConvBN(dim, out_dim)
        self.conv2 = ConvBN(out_dim, out_dim, 3, stride, groups=out_dim)
        self.conv3 = ConvBN(out_dim, out_dim)

    def forward(self, x: torch.Tensor, grid: tuple[int, int]) -> torch.Tensor:
        if x.ndim == 3:
            x = x.transpose(1, 2).reshape(x.shape[0], -1, *grid)
        x = self.conv3(self.act(self.conv2(self.act(self.conv1(x)))))
        return x.flatten(2).transpose(1, 2)


class ConvLayer(nn.Module):
    """Stage 0: MBConv blocks, then patch merging (BCHW in, tokens out)."""

    def __init__(self, dim: int, depth: int, out_dim: int, stride: int, expand_ratio: float) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(MBConv(dim, expand_ratio) for _ in range(depth))
        self.downsample = PatchMerging(dim, out_dim, stride)

    def forward(self, x: torch.Tensor, grid: tuple[int, int]) -> torch.Tensor:
        for block in self.blocks:
            x = block(x)
        return self.downsample(x, grid)


class Mlp(nn.Module):
    """Pre-norm MLP on tokens: LayerNorm, fc1, GELU, fc2."""

    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)
        self.act = nn.GELU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(self.norm(x))))


class Attention(nn.Module):
    """Pre-norm attention within one window of ``resolution`` tokens, with a learnt bias per
    head and per |dy|, |dx| offset (LeViT's ``attention_biases``).

    ``qkv`` rows are laid out per head as [q, k, v] (not q for all heads, then k, then v).
    """

    def __init__(self, dim: int, num_heads: int, resolution: tuple[int, int]) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.head_dim = dim // num_heads
        self.norm = nn.LayerNorm(dim)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        rows, cols = resolution
        self.attention_biases = nn.Parameter(torch.zeros(num_heads, rows * cols))
        self.register_buffer("attention_bias_idxs", _offset_index(resolution), persistent=False)

    def bias(self) -> torch.Tensor:
        """heads x N x N attention bias of one window (N = window tokens)."""
        return self.attention_biases[:, self.attention_bias_idxs]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x``: windows x N x C -> windows x N x C."""
        b, n, c = x.shape
        qkv = self.qkv(self.norm(x)).view(b, n, self.num_heads, 3, self.head_dim).permute(3, 0, 2, 1, 4)
        out = F.scaled_dot_product_attention(qkv[0], qkv[1], qkv[2], attn_mask=self.bias().to(x.dtype))
        return self.proj(out.transpose(1, 2).reshape(b, n, c))


def _offset_index(resolution: tuple[int, int]) -> torch.Tensor:
    """N x N index of each (query, key) pair's (|dy|, |dx|) into ``attention_biases``, numbered in
    the order the reference first meets the offsets (which is dy * cols + dx)."""
    points = list(itertools.product(range(resolution[0]), range(resolution[1])))
    offsets: dict[tuple[int, int], int] = {}
    index = []
    for p1 in points:
        for p2 in points:
            offset = (abs(p1[0] - p2[0]), abs(p1[1] - p2[1]))
            index.append(offsets.setdefault(offset, len(offsets)))
    return torch.tensor(index, dtype=torch.long).view(len(points), len(points))


class TinyViTBlock(nn.Module):
    """Windowed attention (zero-padded to whole windows), residual, 3x3 depthwise conv,
    residual MLP. Tokens B x (H*W) x C in and out."""

    def __init__(self, dim: int, num_heads: int, window_size: int, mlp_ratio: float) -> None:
        super().__init__()
        self.window_size = window_size
        self.attn = Attention(dim, num_heads, (window_size, window_size))
        self.mlp = Mlp(dim, int(dim * mlp_ratio))
        self.local_conv = ConvBN(dim, dim, 3, groups=dim)

    def forward(self, x: torch.Tensor, grid: tuple[int, int], workspace: dict | None = None) -> torch.Tensor:
        """``x``: B x (H*W) x C tokens of the ``grid``. With a ``workspace`` and autograd off
        (the encoder's inference path), ``x`` is 1 x H x W x C and may be updated in place."""
        if workspace is not None and not torch.is_grad_enabled():
            return tiny_vit_fast.attention_block(self, x, workspace)
        b, n, c = x.shape
        h, w = grid
        win = self.window_size
        if h == win and w == win:
            attended = self.attn(x)
        else:
            pad_b, pad_r = (win - h % win) % win, (win - w % win) % win
            padded = F.pad(x.view(b, h, w, c), (0, 0, 0, pad_r, 0, pad_b))
            ph, pw = h + pad_b, w + pad_r
            windows = padded.view(b, ph // win, win, pw // win, win, c).transpose(2, 3).reshape(-1, win * win, c)
            attended = self.attn(windows).view(b, ph // win, pw // win, win, win, c).transpose(2, 3)
            attended = attended.reshape(b, ph, pw, c)[:, :h, :w].reshape(b, n, c)
        x = x + attended
        x = self.local_conv(x.transpose(1, 2).reshape(b, c, h, w)).view(b, c, n).transpose(1, 2)
        return x + self.mlp(x)


class BasicLayer(nn.Module):
    """A stage of TinyViT blocks, then (except the last stage) patch merging."""

    def __init__(
        self, dim: int, depth: int, num_heads: int, window_size: int, mlp_ratio: float,
        out_dim: int | None, stride: int,
    ) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(TinyViTBlock(dim, num_heads, window_size, mlp_ratio) for _ in range(depth))
        self.downsample = PatchMerging(dim, out_dim, stride) if out_dim is not None else None

    def forward(self, x: torch.Tensor, grid: tuple[int, int]) -> torch.Tensor:
        for block in self.blocks:
            x = block(x, grid)
        return x if self.downsample is None else self.downsample(x, grid)


class TinyViT(KeptWorkspace):
    """TinyViT encoder with SAM's neck.

    Input: B x 3 x ``img_size`` x ``img_size`` float, normalised and padded as SAM does.
    Output: B x ``out_chans`` x (img_size/16) x (img_size/16). :meth:`forward_with_early` also
    returns the early feature HQ-SAM reads (stage 1's output, B x h x w x C1, channels last).
    """

    def __init__(self, config: TinyViTConfig = MOBILE_SAM_TINY_VIT) -> None:
        super().__init__()
        self.config = config
        self.img_size = config.img_size
        dims, strides = config.embed_dims, config.merge_strides
        self.patch_embed = PatchEmbed(3, dims[0])
        layers: list[nn.Module] = [ConvLayer(dims[0], config.depths[0], dims[1], strides[0], config.mbconv_expand_ratio)]
        for i in range(1, len(dims)):
            last = i == len(dims) - 1
            layers.append(BasicLayer(
                dims[i], config.depths[i], config.num_heads[i], config.window_sizes[i], config.mlp_ratio,
                None if last else dims[i + 1], 1 if last else strides[i],
            ))
        self.layers = nn.ModuleList(layers)
        if config.num_classes > 0:  # the ImageNet head: in the published checkpoints, never run
            self.norm_head = nn.LayerNorm(dims[-1])
            self.head = nn.Linear(dims[-1], config.num_classes)
        self.neck = nn.Sequential(
            nn.Conv2d(dims[-1], config.out_chans, kernel_size=1, bias=False),
            LayerNorm2d(config.out_chans),
            nn.Conv2d(config.out_chans, config.out_chans, kernel_size=3, padding=1, bias=False),
            LayerNorm2d(config.out_chans),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_with_early(x)[0]

    def forward_with_early(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(embedding B x 256 x h x w, stage-1 output B x h1 x w1 x C1)."""
        if not (torch.is_grad_enabled() or self.training):
            return self._inference(x)
        x = self.patch_embed(x)
        grid = (x.shape[-2], x.shape[-1])
        early = None
        for i, layer in enumerate(self.layers):
            x = layer(x, grid)
            grid = self.stage_grid(grid, i)
            if i == 1:
                early = x.view(x.shape[0], *grid, -1)
        b, _, c = x.shape
        return self.neck(x.transpose(1, 2).reshape(b, c, *grid)), early

    def _inference(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.with_workspace(lambda workspace: tiny_vit_fast.encode(self, x, workspace))

    @property
    def blocks(self) -> list[nn.Module]:
        """The MBConv and attention blocks in the order they run (for progress and cancellation
        hooks; both paths call each of them)."""
        return [block for layer in self.layers for block in layer.blocks]

    def stage_grid(self, grid: tuple[int, int], stage: int) -> tuple[int, int]:
        """The grid after stage ``stage``'s patch merging (3x3, padding 1, its stride)."""
        if stage >= len(self.layers) - 1:
            return grid
        stride = self.config.merge_strides[stage]
        return ((grid[0] - 1) // stride + 1, (grid[1] - 1) // stride + 1)
