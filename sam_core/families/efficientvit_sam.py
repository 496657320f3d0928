"""EfficientViT-SAM (``efficientvit_sam_{l0,l1,l2,xl0,xl1}.pt``): SAM v1's prompt encoder and
decoder with ``image_encoder.backbone.*`` / ``image_encoder.neck.*`` / ``image_encoder.norm.*``,
sized by :func:`~sam_core.modeling.efficientvit.infer_efficientvit_config` (L at 512 px,
XL at 1024)."""
from __future__ import annotations

from typing import Collection, Mapping

import torch

from ..modeling.efficientvit import EfficientViTConfigError, EfficientViTSamConfig, EfficientViTSamEncoder
from ..modeling.efficientvit import infer_efficientvit_config
from ..modeling.efficientvit.sam import EfficientViTSam
from .base import ConfigError, Family
from .mobile_sam import sam_decoder


def build_efficientvit_sam(config: EfficientViTSamConfig) -> EfficientViTSam:
    """An untrained EfficientViT-SAM of ``config`` (eval mode), carrying ``config``."""
    sam = EfficientViTSam(EfficientViTSamEncoder(config), *sam_decoder(config.out_chans))
    sam.config = config
    return sam.eval()


def owns(keys: Collection[str]) -> bool:
    return any(key.startswith("image_encoder.backbone.stages.") for key in keys)


def build(state_dict: Mapping[str, torch.Tensor]) -> EfficientViTSam:
    try:
        config = infer_efficientvit_config(state_dict)
    except EfficientViTConfigError as exc:
        raise ConfigError(str(exc)) from None
    return build_efficientvit_sam(config)


FAMILY = Family(title="EfficientViT-SAM", owns=owns, build=build)
