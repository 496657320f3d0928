"""EfficientViT-SAM's image encoder (MIT Han Lab), keys as in the released checkpoints."""
from .config import EFFICIENTVIT_SAM_VARIANTS, EfficientViTConfigError, EfficientViTSamConfig, infer_efficientvit_config
from .encoder import EfficientViTSamEncoder

__all__ = [
    "EFFICIENTVIT_SAM_VARIANTS",
    "EfficientViTConfigError",
    "EfficientViTSamConfig",
    "EfficientViTSamEncoder",
    "infer_efficientvit_config",
]
