"""The FPN neck and the decoder's high-res projections for inference, on the trunk's token rows.

A 1x1 convolution on channels-last rows is one GEMM. The stride-4 and stride-8 levels
go through two 1x1 convolutions in a row (the neck's lateral one, then the decoder's
``conv_s0`` / ``conv_s1``), which compose into one: ``Ws (W x + b) + bs = (Ws W) x +
(Ws b + bs)``. That skips a 256-channel map of 256x256 (and 128x128) and 80% of the
neck's products; it moves results by float rounding only. The stride-16 level adds
the stride-32 level, upsampled 2x by nearest neighbour, as the reference does; the
stride-32 level is dropped afterwards (SAM 2's ``scalp``). Everything here is float32.
"""
from __future__ import annotations

import torch


def embedding_maps(sam2, stages: list[tuple[torch.Tensor, tuple[int, int, int]]]) -> tuple[torch.Tensor, ...]:
    """Trunk stages (rows, (B, H, W)), highest resolution first -> (image_embed + no_mem_embed
    B x 256 x 64 x 64, high_res_feat_s0 B x 32 x 256 x 256, high_res_feat_s1 B x 64 x 128 x 128)."""
    neck, decoder = sam2.image_encoder.neck, sam2.sam_mask_decoder
    n = len(neck.convs) - 1
    if len(stages) != 4 or tuple(neck.top_down_levels) != (2, 3) or sam2.image_encoder.scalp != 1:
        raise NotImplementedError("the inference neck covers SAM 2's published layout only")
    lateral = [neck.convs[n - i].conv for i in range(len(stages))]
    s0_weight, s0_bias = _composed(decoder.conv_s0, lateral[0])
    s1_weight, s1_bias = _composed(decoder.conv_s1, lateral[1])
    stride4 = _to_map(torch.addmm(s0_bias, stages[0][0].float(), s0_weight.t()), stages[0][1])
    stride8 = _to_map(torch.addmm(s1_bias, stages[1][0].float(), s1_weight.t()), stages[1][1])
    coarse_rows, (b, h, w) = stages[3]
    coarse = _conv_rows(lateral[3], coarse_rows.float()).view(b, h, 1, w, 1, -1)
    fine_rows, fine_grid = stages[2]
    bias = lateral[2].bias.float() + sam2.no_mem_embed.view(-1)
    fine = torch.addmm(bias, fine_rows.float(), lateral[2].weight.flatten(1).float().t()).view(b, h, 2, w, 2, -1)
    fine.add_(coarse)  # nearest-neighbour upsampling: each coarse cell feeds its 2x2 fine cells
    return _to_map(fine.view(-1, fine.shape[-1]), fine_grid), stride4, stride8


def _conv_rows(conv: torch.nn.Conv2d, rows: torch.Tensor) -> torch.Tensor:
    return torch.addmm(conv.bias.float(), rows, conv.weight.flatten(1).float().t())


def _composed(outer: torch.nn.Conv2d, inner: torch.nn.Conv2d) -> tuple[torch.Tensor, torch.Tensor]:
    """The 1x1 convolution ``outer(inner(x))`` as (weight out x in, bias)."""
    outer_w, inner_w = outer.weight.flatten(1).float(), inner.weight.flatten(1).float()
    return outer_w @ inner_w, outer_w @ inner.bias.float() + outer.bias.float()


def _to_map(rows: torch.Tensor, grid: tuple[int, int, int]) -> torch.Tensor:
    """(B*H*W) x C rows -> a contiguous B x C x H x W map."""
    b, h, w = grid
    return rows.view(b, h, w, -1).permute(0, 3, 1, 2).contiguous()
