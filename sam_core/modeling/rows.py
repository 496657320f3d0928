"""Channels-last helpers for convolutional encoders at inference: convolutions over bands of rows.

At 1024 px the first stages of TinyViT and EfficientViT hold feature maps of 16 to 64 MB.
Run whole, every such map is a fresh allocation (page faults cost more than the
arithmetic) and every elementwise step streams it through main memory. Run a band of
rows at a time, the intermediates of a block stay in the CPU's cache and allocations
stay small. Feature maps here are B x H x W x C, contiguous (NHWC).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from ..utils import gemm


BAND_BYTES = 4 * 2**20  # what one band's widest intermediate may take: about the L2 of the cores that share it


def band_rows(height: int, width: int, channels: int, element_size: int, batch: int = 1) -> int:
    """Rows per band so that ``batch`` x rows x ``width`` x ``channels`` takes about BAND_BYTES."""
    rows = BAND_BYTES // max(1, batch * width * channels * element_size)
    return max(1, min(height, rows))


def conv_rows(
    x: torch.Tensor, top: int, bottom: int, weight: torch.Tensor, bias: torch.Tensor | None,
    stride: int = 1, groups: int = 1, offset: int = 0, height: int | None = None,
) -> torch.Tensor:
    """Output rows ``top:bottom`` of a k x k convolution with "same" padding (k // 2) of a
    B x H x W x C map: B x rows x W' x C_out (a channels-last result viewed as NHWC).

    ``x`` holds rows ``offset:offset + x.shape[1]`` of the map, which has ``height`` rows
    (default: ``x`` is the whole map); it must hold every row the outputs read. Zero rows
    stand in above and below the map, as the full convolution's padding does.
    """
    k = weight.shape[-1]
    pad = k // 2
    height = x.shape[1] if height is None else height
    first, last = top * stride - pad, (bottom - 1) * stride - pad + k  # input rows read, [first, last)
    lo, hi = max(first, 0), min(last, height)
    band = x[:, lo - offset : hi - offset].permute(0, 3, 1, 2)
    if stride == 1 and (lo > first or hi < last):
        # The convolution's own padding gives the zero rows at the map's edges; the outputs
        # centred on halo rows (which had no true neighbour) are dropped.
        out = F.conv2d(band, weight, bias, 1, pad, 1, groups)
        return out[:, :, top - lo : bottom - lo].permute(0, 2, 3, 1)
    if lo > first or hi < last:
        band = F.pad(band, (0, 0, lo - first, last - hi))
    out = F.conv2d(band, weight, bias, (stride, stride), (0, pad), 1, groups)
    return out.permute(0, 2, 3, 1)


def linear_rows(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, out: torch.Tensor | None = None):
    """A 1x1 convolution (``weight`` C_out x C_in x 1 x 1, or C_out x C_in) on a ... x C map:
    ... x C_out, by one GEMM (into ``out`` when given)."""
    rows = x.reshape(-1, x.shape[-1])
    w = weight.reshape(weight.shape[0], -1)  # C_out x C_in
    if out is None:
        result = gemm.linear(rows, w, bias)
    else:
        result = gemm.linear_into(rows, w, bias, out.view(-1, weight.shape[0]))
    return result.view(*x.shape[:-1], weight.shape[0])
