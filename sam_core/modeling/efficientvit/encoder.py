"""EfficientViT-SAM's image encoder: the EfficientViT-L/XL backbone, SAM's neck, a LayerNorm.

Input: B x 3 x S x S, normalised and zero-padded (S = 512 for L0-L2, 1024 for XL0/XL1).
Output: B x 256 x 64 x 64, the embedding SAM's prompt encoder and mask decoder read.
Keys are those of the released ``efficientvit_sam_*.pt`` under ``image_encoder.``.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..common import LayerNorm2d
from ..kept_workspace import KeptWorkspace
from . import fast
from .config import EfficientViTSamConfig
from .layers import LOCAL_BLOCKS, ConvLayer, EfficientViTBlock, OpSequential, ResidualBlock

NECK_GRID = 64  # the neck brings every input to SAM's 64x64 embedding grid


class EfficientViTLargeBackbone(nn.Module):
    """``stages``: a stride-2 stem (stage 0) or downsampling block, then the stage's blocks."""

    def __init__(self, config: EfficientViTSamConfig) -> None:
        super().__init__()
        widths, depths, kinds = config.width_list, config.depth_list, config.block_list
        expands, fewer = config.expand_list, config.fewer_norm_list
        stem = [ConvLayer(3, widths[0], 3, 2)]
        for _ in range(depths[0]):
            stem.append(ResidualBlock(LOCAL_BLOCKS[kinds[0]](widths[0], widths[0], 1, expands[0], fewer[0]), True))
        stages = [OpSequential(stem)]
        for s in range(1, len(widths)):
            kind = kinds[s]
            down = LOCAL_BLOCKS[kind if kind in ("mb", "fmb") else "mb"]
            ops = [ResidualBlock(down(widths[s - 1], widths[s], 2, expands[s] * 4, fewer[s]), False)]
            for _ in range(depths[s]):
                if kind.startswith("att"):
                    scales = (3,) if kind == "att@3" else (5,)
                    ops.append(EfficientViTBlock(widths[s], config.qkv_dim, expands[s], scales))
                else:
                    ops.append(ResidualBlock(LOCAL_BLOCKS[kind](widths[s], widths[s], 1, expands[s], fewer[s]), True))
            stages.append(OpSequential(ops))
        self.stages = nn.ModuleList(stages)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Every stage's output, by name ("stage0", ...)."""
        features = {}
        for s, stage in enumerate(self.stages):
            x = features[f"stage{s}"] = stage(x)
        return features


class Upsample(nn.Module):
    """Bicubic resize to ``size`` (align_corners False); the identity when already there."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = (size, size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if tuple(x.shape[-2:]) == self.size:
            return x
        return F.interpolate(x.float(), self.size, mode="bicubic", align_corners=False).to(x.dtype)


class SamNeck(nn.Module):
    """Project three backbone stages to ``head_width``, bring them to 64x64, add, run
    ``head_depth`` residual fused-MBConv blocks, project to ``out_chans`` (with a bias)."""

    def __init__(self, config: EfficientViTSamConfig) -> None:
        super().__init__()
        self.input_keys = list(config.neck_inputs)
        width = config.head_width
        self.input_ops = nn.ModuleList(
            OpSequential([ConvLayer(config.width_list[int(key[5:])], width, 1, act=None), Upsample(NECK_GRID)])
            for key in self.input_keys
        )
        self.middle = OpSequential([
            ResidualBlock(LOCAL_BLOCKS["fmb"](width, width, 1, config.head_expand_ratio, False), True)
            for _ in range(config.head_depth)
        ])
        self.output_ops = nn.ModuleList(
            [OpSequential([ConvLayer(width, config.out_chans, 1, bias=True, norm=False, act=None)])]
        )

    def forward(self, features: dict[str, torch.Tensor]) -> torch.Tensor:
        x = self.input_ops[0](features[self.input_keys[0]])
        for key, op in zip(self.input_keys[1:], self.input_ops[1:]):
            x = x + op(features[key])
        return self.output_ops[0](self.middle(x))


class EfficientViTSamEncoder(KeptWorkspace):
    """Backbone, neck and the final LayerNorm (eps 1e-6): B x 3 x S x S -> B x 256 x 64 x 64."""

    def __init__(self, config: EfficientViTSamConfig) -> None:
        super().__init__()
        self.config = config
        self.img_size = config.image_size
        self.backbone = EfficientViTLargeBackbone(config)
        self.neck = SamNeck(config)
        self.norm = LayerNorm2d(config.out_chans)

    @property
    def blocks(self) -> list[nn.Module]:
        """The backbone's blocks and the neck's, in the order they run (for progress and
        cancellation hooks; both paths call each of them)."""
        return [op for stage in self.backbone.stages for op in stage.op_list] + list(self.neck.middle.op_list)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not (torch.is_grad_enabled() or self.training):
            return self.with_workspace(lambda workspace: fast.encode(self, x, workspace))
        return self.norm(self.neck(self.backbone(x)))
