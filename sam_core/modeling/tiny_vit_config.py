"""Architecture of a TinyViT image encoder (:class:`TinyViTConfig`), and reading it off a state_dict.

MobileSAM (Apache-2.0) and HQ-SAM's ``vit_tiny`` use TinyViT-5M at 1024x1024 with
SAM's neck. Image size and patch-merging strides are not in the weights; TinyViT-SAM
is trained at 1024 px, and its strides follow from the stage widths (see
:attr:`TinyViTConfig.merge_strides`).
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Mapping

import torch


@dataclass(frozen=True)
class TinyViTConfig:
    """Stage widths, depths, heads and attention windows of a TinyViT (MobileSAM: 5M)."""

    embed_dims: tuple[int, ...] = (64, 128, 160, 320)
    depths: tuple[int, ...] = (2, 2, 6, 2)
    num_heads: tuple[int, ...] = (2, 4, 5, 10)
    window_sizes: tuple[int, ...] = (7, 7, 14, 7)
    mlp_ratio: float = 4.0
    mbconv_expand_ratio: float = 4.0
    num_classes: int = 1000
    img_size: int = 1024
    out_chans: int = 256

    @property
    def merge_strides(self) -> tuple[int, ...]:
        """Stride of each stage's patch merging. TinyViT-SAM keeps the 64x64 grid for the last
        stage: the merge into the widths its published models end on (320, 448, 576) has
        stride 1, as in the reference code."""
        return tuple(1 if out in (320, 448, 576) else 2 for out in self.embed_dims[1:])

    @property
    def name(self) -> str:
        return "vit_t" if self == MOBILE_SAM_TINY_VIT else f"tiny_vit(dims={list(self.embed_dims)})"


MOBILE_SAM_TINY_VIT = TinyViTConfig()


class TinyViTConfigError(ValueError):
    """The tensors do not describe a TinyViT image encoder."""


_BLOCK = re.compile(r"^image_encoder\.layers\.(\d+)\.blocks\.(\d+)\.")


def infer_tiny_vit_config(state_dict: Mapping[str, torch.Tensor]) -> TinyViTConfig:
    """Read a TinyViT's shape off ``image_encoder.*`` tensors: widths from the norms, heads
    and windows from ``attention_biases`` (heads x window^2), ratios from the hidden widths."""

    def get(name: str) -> torch.Tensor:
        try:
            return state_dict[f"image_encoder.{name}"]
        except KeyError:
            raise TinyViTConfigError(f"missing tensor image_encoder.{name}") from None

    blocks: dict[int, set[int]] = {}
    for key in state_dict:
        match = _BLOCK.match(key)
        if match:
            blocks.setdefault(int(match.group(1)), set()).add(int(match.group(2)))
    stages = len(blocks)
    if stages < 2 or sorted(blocks) != list(range(stages)) or any(sorted(b) != list(range(len(b))) for b in blocks.values()):
        raise TinyViTConfigError("stages or blocks are missing or not numbered from 0")
    dims = [get("layers.0.blocks.0.conv1.c.weight").shape[1]]
    expand = get("layers.0.blocks.0.conv1.c.weight").shape[0] / dims[0]
    # Stage 0 is convolutional: its heads and window are never used; MobileSAM's values stand in.
    heads, windows, ratios = [MOBILE_SAM_TINY_VIT.num_heads[0]], [MOBILE_SAM_TINY_VIT.window_sizes[0]], []
    for i in range(1, stages):
        biases = get(f"layers.{i}.blocks.0.attn.attention_biases")
        window = math.isqrt(biases.shape[1])
        if window * window != biases.shape[1]:
            raise TinyViTConfigError(f"layers.{i} attention biases do not cover a square window")
        dim = get(f"layers.{i}.blocks.0.attn.norm.weight").shape[0]
        dims.append(dim)
        heads.append(biases.shape[0])
        windows.append(window)
        ratios.append(get(f"layers.{i}.blocks.0.mlp.fc1.weight").shape[0] / dim)
    if len(set(ratios)) != 1:
        raise TinyViTConfigError("the attention stages disagree on the MLP ratio")
    head = state_dict.get("image_encoder.head.weight")
    return TinyViTConfig(
        embed_dims=tuple(dims),
        depths=tuple(len(blocks[i]) for i in range(stages)),
        num_heads=tuple(heads),
        window_sizes=tuple(windows),
        mlp_ratio=_round(ratios[0]),
        mbconv_expand_ratio=_round(expand),
        num_classes=head.shape[0] if head is not None else 0,
        out_chans=get("neck.0.weight").shape[0],
    )


def _round(value: float) -> float:
    return float(int(value)) if float(value).is_integer() else float(value)
