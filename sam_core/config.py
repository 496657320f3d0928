"""Architecture description of a SAM v1 model (:class:`SamConfig`), and reading it off a state_dict."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar, Mapping

import torch

from .families.base import ConfigError


@dataclass(frozen=True)
class SamConfig:
    """Image-encoder shape; the prompt encoder and decoder follow from ``prompt_embed_dim``."""

    family: ClassVar[str] = "sam"

    embed_dim: int
    depth: int
    num_heads: int
    global_attn_indexes: tuple[int, ...]
    window_size: int = 14
    patch_size: int = 16
    img_size: int = 1024
    prompt_embed_dim: int = 256

    @property
    def name(self) -> str:
        for name, known in KNOWN_VARIANTS.items():
            if known == self:
                return name
        return f"custom(d={self.embed_dim},L={self.depth},h={self.num_heads})"

    @property
    def variant(self) -> str:
        return self.name

    @property
    def title(self) -> str:
        return f"SAM {self.name}"


KNOWN_VARIANTS: dict[str, SamConfig] = {
    "vit_b": SamConfig(768, 12, 12, (2, 5, 8, 11)),
    "vit_l": SamConfig(1024, 24, 16, (5, 11, 17, 23)),
    "vit_h": SamConfig(1280, 32, 16, (7, 15, 23, 31)),
}


_BLOCK_REL_POS = re.compile(r"^image_encoder\.blocks\.(\d+)\.attn\.rel_pos_h$")


def infer_config(state_dict: Mapping[str, torch.Tensor]) -> SamConfig:
    """Read the architecture off tensor shapes alone.

    * embed dim and grid from ``image_encoder.pos_embed`` (1 x grid x grid x C),
    * patch size from ``patch_embed.proj.weight`` (C x 3 x p x p),
    * depth from the number of blocks,
    * head_dim from ``rel_pos_h`` (length x head_dim), hence heads = C / head_dim,
    * global blocks have ``rel_pos_h`` of length 2*grid-1; the others give the window size.
    """
    try:
        pos_embed = state_dict["image_encoder.pos_embed"]
        patch = state_dict["image_encoder.patch_embed.proj.weight"]
        prompt_dim = state_dict["prompt_encoder.no_mask_embed.weight"].shape[1]
    except KeyError as exc:
        raise ConfigError(f"missing tensor {exc.args[0]}") from None
    if pos_embed.ndim != 4 or patch.ndim != 4:
        raise ConfigError("image_encoder.pos_embed is not 1 x grid x grid x C")
    grid, embed_dim, patch_size = pos_embed.shape[1], pos_embed.shape[3], patch.shape[-1]
    rel_lengths: dict[int, tuple[int, int]] = {}
    for key, value in state_dict.items():
        match = _BLOCK_REL_POS.match(key)
        if match:
            rel_lengths[int(match.group(1))] = tuple(value.shape)
    depth = len(rel_lengths)
    if depth == 0 or sorted(rel_lengths) != list(range(depth)):
        raise ConfigError("image encoder blocks are missing or not numbered 0..N-1")
    head_dims = {shape[1] for shape in rel_lengths.values()}
    if len(head_dims) != 1 or embed_dim % next(iter(head_dims)):
        raise ConfigError("rel_pos_h head sizes are inconsistent with the embed dim")
    head_dim = head_dims.pop()
    global_len = 2 * grid - 1
    global_idx = tuple(i for i, shape in sorted(rel_lengths.items()) if shape[0] == global_len)
    window_lengths = {shape[0] for i, shape in rel_lengths.items() if i not in global_idx}
    if len(window_lengths) > 1:
        raise ConfigError("windowed blocks disagree on the window size")
    window = (window_lengths.pop() + 1) // 2 if window_lengths else 14
    return SamConfig(
        embed_dim=embed_dim,
        depth=depth,
        num_heads=embed_dim // head_dim,
        global_attn_indexes=global_idx,
        window_size=window,
        patch_size=patch_size,
        img_size=grid * patch_size,
        prompt_embed_dim=prompt_dim,
    )
