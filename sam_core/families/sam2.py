"""SAM 2 and SAM 2.1 (``sam2_hiera_*.pt``, ``sam2.1_hiera_*.pt``): ``{"model": ...}`` files with
``image_encoder.trunk.*``, ``sam_prompt_encoder.*`` and ``sam_mask_decoder.*``.

Only the image path is built; the video modules (memory attention and encoder, object
pointers, temporal encodings) are ignored. Hiera's global-attention blocks and window
sizes are not in the weights, so the trunk's signature (width, blocks per stage, size of
the position-embedding map) is matched against the published configurations. SAM 2.1
is told from SAM 2 by its ``no_obj_embed_spatial`` (a video-memory tensor; the image path
of the two is the same).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Collection, Mapping

import torch

from ..modeling.sam2 import FpnNeck, Hiera, ImageEncoder, Sam2
from .base import ConfigError, Family

IMAGE_PREFIXES = ("image_encoder.", "sam_prompt_encoder.", "sam_mask_decoder.")
IMAGE_TENSORS = ("no_mem_embed",)


@dataclass(frozen=True)
class HieraShape:
    """A Hiera trunk: width and heads of stage 1 (doubled per stage), blocks per stage, the
    global-attention blocks, the window per stage and the position-embedding map's size."""

    embed_dim: int
    num_heads: int
    stages: tuple[int, ...]
    global_att_blocks: tuple[int, ...]
    window_spec: tuple[int, ...] = (8, 4, 14, 7)
    pos_embed_size: tuple[int, int] = (14, 14)

    @property
    def signature(self) -> tuple:
        """What the weights show: width, blocks per stage, position-map size."""
        return self.embed_dim, self.stages, self.pos_embed_size


#: The published trunks (sam2/configs/sam2.1/*.yaml; SAM 2.0 uses the same four).
HIERA_VARIANTS: dict[str, HieraShape] = {
    "hiera_t": HieraShape(96, 1, (1, 2, 7, 2), (5, 7, 9), pos_embed_size=(7, 7)),
    "hiera_s": HieraShape(96, 1, (1, 2, 11, 2), (7, 10, 13), pos_embed_size=(7, 7)),
    "hiera_b+": HieraShape(112, 2, (2, 3, 16, 3), (12, 16, 20)),
    "hiera_l": HieraShape(144, 2, (2, 6, 36, 4), (23, 33, 43), window_spec=(8, 4, 16, 8), pos_embed_size=(7, 7)),
}

#: Not a published model: a seven-block trunk that the tests and the self-test build seeded
#: checkpoints of. It has each kind of block (pooling, windowed with padding, global).
TEST_VARIANTS: dict[str, HieraShape] = {
    "hiera_test": HieraShape(32, 1, (1, 1, 3, 2), (3,), pos_embed_size=(7, 7)),
}


@dataclass(frozen=True)
class Sam2Config:
    """``family`` "sam2" or "sam2.1"; ``variant`` a key of :data:`HIERA_VARIANTS` (or the test shape)."""

    family: str
    variant: str
    hiera: HieraShape

    @property
    def name(self) -> str:
        return self.variant

    @property
    def title(self) -> str:
        return f"SAM {self.family[3:]} {self.variant}"


def build_sam2(config: Sam2Config) -> Sam2:
    """An untrained image network of ``config`` (eval mode), carrying ``config``."""
    hiera = config.hiera
    trunk = Hiera(hiera.embed_dim, hiera.num_heads, hiera.stages, hiera.global_att_blocks, hiera.window_spec,
                  hiera.pos_embed_size)
    sam = Sam2(ImageEncoder(trunk, FpnNeck(trunk.channel_list)))
    sam.config = config
    return sam.eval()


def owns(keys: Collection[str]) -> bool:
    return any(key.startswith("image_encoder.trunk.") for key in keys)


def network_weights(state_dict: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The image path's tensors; the video modules' are dropped."""
    return {k: v for k, v in state_dict.items() if k.startswith(IMAGE_PREFIXES) or k in IMAGE_TENSORS}


_BLOCK = re.compile(r"^image_encoder\.trunk\.blocks\.(\d+)\.")


def infer_config(state_dict: Mapping[str, torch.Tensor]) -> Sam2Config:
    """Family and variant from tensor names and shapes; :class:`ConfigError` for a trunk
    that is none of the published ones."""
    try:
        width = state_dict["image_encoder.trunk.patch_embed.proj.weight"].shape[0]
        pos_embed = tuple(state_dict["image_encoder.trunk.pos_embed"].shape[-2:])
    except KeyError as exc:
        raise ConfigError(f"missing tensor {exc.args[0]}") from None
    blocks = sorted({int(m.group(1)) for key in state_dict if (m := _BLOCK.match(key))})
    if not blocks or blocks != list(range(len(blocks))):
        raise ConfigError("Hiera blocks are missing or not numbered 0..N-1")
    # A stage starts at each block that changes width (it has a ``proj``), after block 0's stage.
    starts = [0] + [i for i in blocks if f"image_encoder.trunk.blocks.{i}.proj.weight" in state_dict]
    stages = tuple(b - a for a, b in zip(starts, starts[1:] + [len(blocks)]))
    signature = (int(width), stages, pos_embed)
    family = "sam2.1" if "no_obj_embed_spatial" in state_dict else "sam2"
    for variant, shape in {**HIERA_VARIANTS, **TEST_VARIANTS}.items():
        if shape.signature == signature:
            return Sam2Config(family, variant, shape)
    known = ", ".join(HIERA_VARIANTS)
    raise ConfigError(
        f"unknown Hiera trunk: width {width}, blocks per stage {'-'.join(map(str, stages))}, position map "
        f"{pos_embed[0]}x{pos_embed[1]}; the published ones are {known}"
    )


def build(state_dict: Mapping[str, torch.Tensor]) -> Sam2:
    return build_sam2(infer_config(state_dict))


FAMILY = Family(title="SAM 2 / 2.1", owns=owns, build=build, network_weights=network_weights)
