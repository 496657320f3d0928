"""SAM 2 / 2.1's image modules. Parameter names match the official checkpoints' image path."""
from .hiera import Hiera
from .image_encoder import FpnNeck, ImageEncoder
from .mask_decoder import Sam2MaskDecoder
from .prompt_encoder import Sam2PromptEncoder
from .sam2 import Sam2

__all__ = ["FpnNeck", "Hiera", "ImageEncoder", "Sam2", "Sam2MaskDecoder", "Sam2PromptEncoder"]
