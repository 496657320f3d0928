"""EfficientViT's building blocks, with the key names of MIT Han Lab's checkpoints.

Feature maps are B x C x H x W. ``ConvLayer`` is a convolution (``conv``), an optional
BatchNorm (``norm``, folded into the convolution at inference) and an optional
activation. EfficientViT-SAM's GELU is the tanh approximation.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..folded_conv import folded_conv
from . import fast

ACTIVATIONS = {"gelu": lambda: nn.GELU(approximate="tanh"), "relu": nn.ReLU, "hswish": nn.Hardswish}


class ConvLayer(nn.Module):
    """Convolution with "same" padding, then BatchNorm (``norm=True``) and ``act`` ("gelu" or None)."""

    def __init__(
        self, in_chans: int, out_chans: int, kernel: int = 3, stride: int = 1, groups: int = 1,
        bias: bool = False, norm: bool = True, act: str | None = "gelu",
    ) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_chans, out_chans, kernel, stride, kernel // 2, groups=groups, bias=bias)
        self.norm = nn.BatchNorm2d(out_chans, eps=1e-6) if norm else None
        self.act = ACTIVATIONS[act]() if act else None

    def folded(self, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(weight, bias) of the convolution with its BatchNorm folded in."""
        return folded_conv(self.conv, self.norm, dtype)

    def forward(self, x: torch.Tensor, workspace: dict | None = None, name: str = "") -> torch.Tensor:
        """``x``: B x C x H x W. With a ``workspace`` and autograd off (the encoder's inference
        path, for the stem), ``x`` is 1 x H x W x C and the result goes to the buffer ``name``."""
        if workspace is not None and not torch.is_grad_enabled():
            return fast.stem(self, x, workspace, name)
        if torch.is_grad_enabled() or self.training:
            x = self.conv(x)
            if self.norm is not None:
                x = self.norm(x)
        else:
            weight, bias = self.folded(x.dtype)
            x = F.conv2d(x, weight, bias, self.conv.stride, self.conv.padding, 1, self.conv.groups)
        return self.act(x) if self.act is not None else x


def _inner(use_norm: bool) -> dict:
    """Keyword arguments of an inner convolution: a BatchNorm, or (``fewer_norm``) a bias instead."""
    return {"norm": True, "bias": False} if use_norm else {"norm": False, "bias": True}


class ResBlock(nn.Module):
    """Two 3x3 convolutions (GELU after the first)."""

    def __init__(self, in_chans: int, out_chans: int, stride: int, expand: float, fewer_norm: bool) -> None:
        super().__init__()
        mid = round(in_chans * expand)
        self.conv1 = ConvLayer(in_chans, mid, 3, stride, **_inner(not fewer_norm))
        self.conv2 = ConvLayer(mid, out_chans, 3, 1, act=None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv2(self.conv1(x))


class FusedMBConv(nn.Module):
    """A 3x3 expanding convolution (GELU), then a 1x1 projection."""

    def __init__(self, in_chans: int, out_chans: int, stride: int, expand: float, fewer_norm: bool) -> None:
        super().__init__()
        mid = round(in_chans * expand)
        self.spatial_conv = ConvLayer(in_chans, mid, 3, stride, **_inner(not fewer_norm))
        self.point_conv = ConvLayer(mid, out_chans, 1, act=None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.point_conv(self.spatial_conv(x))


class MBConv(nn.Module):
    """Inverted residual body: 1x1 expand (GELU), 3x3 depthwise (GELU), 1x1 project."""

    def __init__(self, in_chans: int, out_chans: int, stride: int, expand: float, fewer_norm: bool) -> None:
        super().__init__()
        mid = round(in_chans * expand)
        self.inverted_conv = ConvLayer(in_chans, mid, 1, **_inner(not fewer_norm))
        self.depth_conv = ConvLayer(mid, mid, 3, stride, groups=mid, **_inner(not fewer_norm))
        self.point_conv = ConvLayer(mid, out_chans, 1, act=None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.point_conv(self.depth_conv(self.inverted_conv(x)))


LOCAL_BLOCKS = {"res": ResBlock, "fmb": FusedMBConv, "mb": MBConv}


class LiteMLA(nn.Module):
    """Multi-scale ReLU linear attention.

    One 1x1 convolution makes q, k, v for ``heads`` heads of ``dim`` channels; a depthwise
    ``scale`` x ``scale`` convolution followed by a grouped 1x1 one (per head and q/k/v)
    makes a second, aggregated set, so attention runs over 2 * heads heads. With
    ReLU(q), ReLU(k), each head's output is ``(v k^T) q / (1^T k^T q + eps)`` (linear in the
    number of tokens), then a 1x1 projection with BatchNorm.
    """

    eps = 1e-15

    def __init__(self, in_chans: int, out_chans: int, dim: int, scales: tuple[int, ...]) -> None:
        super().__init__()
        heads = in_chans // dim
        total = heads * dim
        self.dim = dim
        self.qkv = ConvLayer(in_chans, 3 * total, 1, norm=False, act=None)
        self.aggreg = nn.ModuleList(
            nn.Sequential(
                nn.Conv2d(3 * total, 3 * total, scale, padding=scale // 2, groups=3 * total, bias=False),
                nn.Conv2d(3 * total, 3 * total, 1, groups=3 * heads, bias=False),
            )
            for scale in scales
        )
        self.proj = ConvLayer(total * (1 + len(scales)), out_chans, 1, act=None)

    def multi_scale_qkv(self, x: torch.Tensor) -> torch.Tensor:
        """B x C x H x W -> B x (1 + scales) * 3 * heads * dim x H x W."""
        qkv = self.qkv(x)
        return torch.cat([qkv] + [op(qkv) for op in self.aggreg], dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        qkv = self.multi_scale_qkv(x)
        b, _, h, w = qkv.shape
        qkv = qkv.float().reshape(b, -1, 3 * self.dim, h * w)
        q, k, v = F.relu(qkv[:, :, : self.dim]), F.relu(qkv[:, :, self.dim : 2 * self.dim]), qkv[:, :, 2 * self.dim :]
        if h * w > self.dim:
            v = F.pad(v, (0, 0, 0, 1), value=1.0)  # a row of ones gives the normaliser
            out = (v @ k.transpose(-1, -2)) @ q
            out = out[:, :, :-1] / (out[:, :, -1:] + self.eps)
        else:  # few tokens: the quadratic form, as the reference switches to it
            scores = k.transpose(-1, -2) @ q
            out = v @ (scores / (scores.sum(dim=2, keepdim=True) + self.eps))
        return self.proj(out.reshape(b, -1, h, w).to(x.dtype))


class ResidualBlock(nn.Module):
    """``main(x) + x`` (``shortcut`` True) or ``main(x)``; ``shortcut`` has no weights."""

    def __init__(self, main: nn.Module, shortcut: bool) -> None:
        super().__init__()
        self.main = main
        self.shortcut = shortcut

    def forward(self, x: torch.Tensor, workspace: dict | None = None, name: str = "") -> torch.Tensor:
        """``x``: B x C x H x W. With a ``workspace`` and autograd off (the encoder's inference
        path), ``x`` is 1 x H x W x C and the result goes to the buffer ``name``."""
        if workspace is not None and not torch.is_grad_enabled():
            return fast.local_block(self.main, x, self.shortcut, workspace, name)
        return self.main(x) + x if self.shortcut else self.main(x)


class EfficientViTBlock(nn.Module):
    """Residual LiteMLA (``context_module``), then a residual MBConv (``local_module``)."""

    def __init__(self, chans: int, dim: int, expand: float, scales: tuple[int, ...]) -> None:
        super().__init__()
        self.context_module = ResidualBlock(LiteMLA(chans, chans, dim, scales), shortcut=True)
        self.local_module = ResidualBlock(MBConv(chans, chans, 1, expand, fewer_norm=True), shortcut=True)

    def forward(self, x: torch.Tensor, workspace: dict | None = None, name: str = "") -> torch.Tensor:
        """As :class:`ResidualBlock` (the same two forms)."""
        if workspace is not None and not torch.is_grad_enabled():
            x = fast.lite_mla(self.context_module.main, x)
            return fast.local_block(self.local_module.main, x, True, workspace, name)
        return self.local_module(self.context_module(x))


class OpSequential(nn.Module):
    """Modules run in order, kept in ``op_list`` (the checkpoints' name)."""

    def __init__(self, ops: list[nn.Module]) -> None:
        super().__init__()
        self.op_list = nn.ModuleList(ops)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for op in self.op_list:
            x = op(x)
        return x
