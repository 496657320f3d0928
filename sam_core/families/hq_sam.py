"""HQ-SAM (``sam_hq_vit_{b,l,h,tiny}.pth``): SAM v1's key groups plus the HQ decoder's
``mask_decoder.hf_token``, ``hf_mlp.*``, ``compress_vit_feat.*``, ``embedding_encoder.*`` and
``embedding_maskfeature.*``. The encoder is a SAM v1 ViT, or TinyViT for ``vit_tiny``; the
early feature's width (``compress_vit_feat``'s input) must be the encoder's."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Collection, Mapping, Union

import torch

from ..config import SamConfig
from ..config import infer_config as infer_vit_config
from ..modeling import ImageEncoderViT, PromptEncoder, TwoWayTransformer
from ..modeling.hq_sam import HQSam
from ..modeling.mask_decoder_hq import MaskDecoderHQ
from ..modeling.tiny_vit import TinyViT
from ..modeling.tiny_vit_config import TinyViTConfig, TinyViTConfigError, infer_tiny_vit_config
from .base import ConfigError, Family
from .mobile_sam import owns as has_tiny_vit

HQ_KEY = "mask_decoder.hf_token.weight"


@dataclass(frozen=True)
class HQSamConfig:
    """``encoder``: a ViT (:class:`SamConfig`) or a TinyViT (``vit_tiny``)."""

    encoder: Union[SamConfig, TinyViTConfig]
    family = "hq_sam"

    @property
    def vit_dim(self) -> int:
        """Width of the early feature the HQ decoder reads."""
        encoder = self.encoder
        return encoder.embed_dims[2] if isinstance(encoder, TinyViTConfig) else encoder.embed_dim

    @property
    def name(self) -> str:
        encoder = self.encoder
        if isinstance(encoder, TinyViTConfig):
            return "vit_tiny" if encoder.name == "vit_t" else encoder.name
        return encoder.name

    @property
    def variant(self) -> str:
        return self.name

    @property
    def title(self) -> str:
        return f"HQ-SAM {self.name}"


def build_hq_sam(config: HQSamConfig) -> HQSam:
    """An untrained HQ-SAM of ``config`` (eval mode), carrying ``config``."""
    encoder = config.encoder
    if isinstance(encoder, TinyViTConfig):
        image_encoder, grid, embed_dim = TinyViT(encoder), 64, encoder.out_chans
    else:
        grid, embed_dim = encoder.img_size // encoder.patch_size, encoder.prompt_embed_dim
        image_encoder = ImageEncoderViT(
            img_size=encoder.img_size, patch_size=encoder.patch_size, embed_dim=encoder.embed_dim,
            depth=encoder.depth, num_heads=encoder.num_heads, out_chans=embed_dim,
            window_size=encoder.window_size, global_attn_indexes=encoder.global_attn_indexes,
        )
    size = grid * 16
    sam = HQSam(
        image_encoder,
        PromptEncoder(embed_dim=embed_dim, image_embedding_size=(grid, grid), input_image_size=(size, size)),
        MaskDecoderHQ(transformer_dim=embed_dim, transformer=TwoWayTransformer(embedding_dim=embed_dim),
                      vit_dim=config.vit_dim),
    )
    sam.config = config
    return sam.eval()


def owns(keys: Collection[str]) -> bool:
    return any(key.startswith("mask_decoder.hf_") for key in keys)


def infer_config(state_dict: Mapping[str, torch.Tensor]) -> HQSamConfig:
    try:
        if has_tiny_vit(state_dict.keys()):
            encoder: Union[SamConfig, TinyViTConfig] = infer_tiny_vit_config(state_dict)
        else:
            encoder = infer_vit_config(state_dict)
    except TinyViTConfigError as exc:
        raise ConfigError(str(exc)) from None
    config = HQSamConfig(encoder)
    compress = state_dict.get("mask_decoder.compress_vit_feat.0.weight")
    if compress is None:
        raise ConfigError("missing tensor mask_decoder.compress_vit_feat.0.weight")
    if compress.shape[0] != config.vit_dim:
        raise ConfigError(f"the HQ decoder reads a {compress.shape[0]}-wide early feature, but the encoder's is "
                          f"{config.vit_dim} wide")
    return config


def build(state_dict: Mapping[str, torch.Tensor]) -> HQSam:
    return build_hq_sam(infer_config(state_dict))


FAMILY = Family(title="HQ-SAM", owns=owns, build=build)
