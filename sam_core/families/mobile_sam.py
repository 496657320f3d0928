"""MobileSAM (``mobile_sam.pt``): SAM v1's key groups with a TinyViT encoder
(``image_encoder.layers.*``, ``image_encoder.patch_embed.seq.*``), sized by
:func:`~sam_core.modeling.tiny_vit_config.infer_tiny_vit_config`."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Collection, Mapping

import torch

from ..modeling import MaskDecoder, PromptEncoder, Sam, TwoWayTransformer
from ..modeling.tiny_vit import TinyViT
from ..modeling.tiny_vit_config import TinyViTConfig, TinyViTConfigError, infer_tiny_vit_config
from .base import ConfigError, Family

TINY_VIT_PREFIXES = ("image_encoder.layers.", "image_encoder.patch_embed.seq.")


@dataclass(frozen=True)
class MobileSamConfig:
    """``variant`` "vit_t" for the published TinyViT-5M; other shapes are named by their widths."""

    tiny_vit: TinyViTConfig
    family = "mobile_sam"

    @property
    def name(self) -> str:
        return self.tiny_vit.name

    @property
    def variant(self) -> str:
        return self.name

    @property
    def title(self) -> str:
        return f"MobileSAM {self.name}"


def sam_decoder(embed_dim: int = 256) -> tuple[PromptEncoder, MaskDecoder]:
    """SAM v1's prompt encoder and mask decoder for 1024 px inputs and a 64x64 embedding."""
    prompt_encoder = PromptEncoder(embed_dim=embed_dim, image_embedding_size=(64, 64), input_image_size=(1024, 1024))
    return prompt_encoder, MaskDecoder(transformer_dim=embed_dim, transformer=TwoWayTransformer(embedding_dim=embed_dim))


def build_mobile_sam(config: MobileSamConfig) -> Sam:
    """An untrained MobileSAM of ``config`` (eval mode), carrying ``config``."""
    sam = Sam(TinyViT(config.tiny_vit), *sam_decoder(config.tiny_vit.out_chans))
    sam.config = config
    return sam.eval()


def owns(keys: Collection[str]) -> bool:
    return any(key.startswith(TINY_VIT_PREFIXES) for key in keys)


def infer_config(state_dict: Mapping[str, torch.Tensor]) -> MobileSamConfig:
    try:
        return MobileSamConfig(infer_tiny_vit_config(state_dict))
    except TinyViTConfigError as exc:
        raise ConfigError(str(exc)) from None


def build(state_dict: Mapping[str, torch.Tensor]) -> Sam:
    return build_mobile_sam(infer_config(state_dict))


FAMILY = Family(title="MobileSAM", owns=owns, build=build)
