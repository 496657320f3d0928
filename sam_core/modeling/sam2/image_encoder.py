"""SAM 2's image encoder: the Hiera trunk and its FPN neck, for still images.

The neck turns each trunk stage into ``d_model`` (256) channels with a 1x1
convolution; the stride-16 level also takes the nearest-upsampled stride-32 level
(top-down). SAM 2 drops the stride-32 level afterwards (``scalp``), so the encoder
returns three maps: strides 4 and 8 (the decoder's high-res features, before its own
1x1 convolutions) and 16 (the image embedding, 64x64 for a 1024 input). The neck's
sine position encodings feed only the video memory; they are not computed here.
"""
from __future__ import annotations

from typing import Sequence

import torch
from torch import nn
from torch.nn import functional as F

from .hiera import Hiera


class FpnNeck(nn.Module):
    """``convs[i]`` projects trunk level ``n - i`` (lowest resolution first, as in the
    checkpoint); ``top_down_levels`` add the upsampled coarser level."""

    def __init__(self, backbone_channel_list: Sequence[int], d_model: int = 256,
                 top_down_levels: Sequence[int] = (2, 3)) -> None:
        super().__init__()
        self.convs = nn.ModuleList()
        for dim in backbone_channel_list:
            conv = nn.Sequential()
            conv.add_module("conv", nn.Conv2d(dim, d_model, kernel_size=1))
            self.convs.append(conv)
        self.top_down_levels = tuple(top_down_levels)

    def forward(self, levels: list[torch.Tensor]) -> list[torch.Tensor]:
        """Trunk levels (highest resolution first) -> the same number of d_model maps."""
        n = len(self.convs) - 1
        out: list[torch.Tensor] = [None] * len(levels)  # type: ignore[list-item]
        previous = None
        for i in range(n, -1, -1):
            lateral = self.convs[n - i](levels[i])
            if i in self.top_down_levels and previous is not None:
                # The reference upsamples in float32 whatever the trunk's dtype.
                top_down = F.interpolate(previous.to(torch.float32), scale_factor=2.0, mode="nearest")
                previous = lateral + top_down
            else:
                previous = lateral
            out[i] = previous
        return out


class ImageEncoder(nn.Module):
    """Bx3x1024x1024 normalised pixels -> [B x 256 x 256 x 256, B x 256 x 128 x 128,
    B x 256 x 64 x 64] (strides 4, 8, 16)."""

    def __init__(self, trunk: Hiera, neck: FpnNeck, scalp: int = 1) -> None:
        super().__init__()
        self.trunk = trunk
        self.neck = neck
        self.scalp = scalp

    @property
    def blocks(self) -> nn.ModuleList:
        """The trunk's blocks, in order (for progress and cancellation hooks)."""
        return self.trunk.blocks

    @property
    def dtype(self) -> torch.dtype:
        return self.trunk.pos_embed.dtype

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        features = self.neck(self.trunk(x))
        return features[: len(features) - self.scalp]
