"""SAM v1 (Meta's ``sam_vit_{b,l,h}``): recognised by its three key groups, sized by
:func:`sam_core.config.infer_config`."""
from __future__ import annotations

from typing import Collection, Mapping

import torch

from ..config import SamConfig, infer_config
from ..modeling import ImageEncoderViT, MaskDecoder, PromptEncoder, Sam, TwoWayTransformer
from .base import Family

GROUPS = ("image_encoder", "prompt_encoder", "mask_decoder")


def build_sam(config: SamConfig) -> Sam:
    """An untrained ``Sam`` of the given shape (in eval mode), carrying ``config``."""
    grid = config.img_size // config.patch_size
    sam = Sam(
        image_encoder=ImageEncoderViT(
            img_size=config.img_size,
            patch_size=config.patch_size,
            embed_dim=config.embed_dim,
            depth=config.depth,
            num_heads=config.num_heads,
            out_chans=config.prompt_embed_dim,
            window_size=config.window_size,
            global_attn_indexes=config.global_attn_indexes,
        ),
        prompt_encoder=PromptEncoder(
            embed_dim=config.prompt_embed_dim,
            image_embedding_size=(grid, grid),
            input_image_size=(config.img_size, config.img_size),
        ),
        mask_decoder=MaskDecoder(
            transformer_dim=config.prompt_embed_dim,
            transformer=TwoWayTransformer(embedding_dim=config.prompt_embed_dim),
        ),
    )
    sam.config = config
    return sam.eval()


def owns(keys: Collection[str]) -> bool:
    """Meta's layout: exactly SAM's three module groups at the top level (families with
    extra groups, or other encoders under these names, are recognised before this one)."""
    groups = {key.split(".", 1)[0] for key in keys}
    return all(group in groups for group in GROUPS)


def build(state_dict: Mapping[str, torch.Tensor]) -> Sam:
    return build_sam(infer_config(state_dict))


FAMILY = Family(title="SAM v1", owns=owns, build=build)
