"""EfficientViT-SAM: the EfficientViT encoder with SAM v1's prompt encoder and mask decoder,
and the image path of the reference's ``EfficientViTSamPredictor``.

Frames: the image is resized so its longest side is the encoder's size (512 for the L
models, 1024 for XL) and zero-padded to a square, but prompts and masks keep SAM's 1024
frame (the longest side scaled to 1024), exactly as the reference: its ``apply_coords``
scales to that frame, and ``postprocess_masks`` upscales the low-res logits to 1024,
crops the 1024-frame size of the image, then resizes to the original. Normalisation is
torchvision's ``ToTensor`` then ``Normalize`` (mean and std over 255). Every LayerNorm of
the network has eps 1e-6 (the reference model zoo's ``set_norm_eps``), the decoder's included.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from ...utils.transforms import ResizeLongestSide, get_preprocess_shape
from ..mask_decoder import MaskDecoder
from ..prompt_encoder import PromptEncoder
from ..sam import PIXEL_MEAN, PIXEL_STD, Sam
from .encoder import EfficientViTSamEncoder

PROMPT_FRAME = 1024  # prompts and masks are in SAM's 1024 frame whatever the encoder's size
NORM_EPS = 1e-6


class EfficientViTTransform(ResizeLongestSide):
    """Images to ``image_size`` on the longest side; prompts to the 1024 frame."""

    def __init__(self, image_size: int) -> None:
        super().__init__(PROMPT_FRAME)
        self.image_size = image_size

    def apply_image(self, image: np.ndarray) -> np.ndarray:
        """HxWx3 uint8 -> hxwx3 uint8 with the longest side ``image_size`` (antialiased bilinear)."""
        return ResizeLongestSide(self.image_size).apply_image(image)

    def apply_image_torch(self, image: torch.Tensor) -> torch.Tensor:
        return ResizeLongestSide(self.image_size).apply_image_torch(image)


class EfficientViTSam(Sam):
    """EfficientViT-SAM; keys equal the released ``efficientvit_sam_*.pt``."""

    def __init__(self, image_encoder: EfficientViTSamEncoder, prompt_encoder: PromptEncoder,
                 mask_decoder: MaskDecoder) -> None:
        super().__init__(image_encoder, prompt_encoder, mask_decoder)
        for module in self.modules():
            if isinstance(module, nn.LayerNorm):
                module.eps = NORM_EPS
        self.transform = EfficientViTTransform(image_encoder.img_size)
        self.register_buffer("pixel_mean01", torch.tensor(PIXEL_MEAN).view(-1, 1, 1) / 255, False)
        self.register_buffer("pixel_std01", torch.tensor(PIXEL_STD).view(-1, 1, 1) / 255, False)

    def preprocess(self, x: torch.Tensor) -> torch.Tensor:
        """Bx3xhxw RGB in [0, 255], longest side the encoder's size -> normalised, zero-padded."""
        size = self.image_encoder.img_size
        if max(x.shape[-2:]) != size:
            raise ValueError(f"the longest side must be {size}, got {tuple(x.shape[-2:])}")
        x = (x / 255 - self.pixel_mean01) / self.pixel_std01
        return F.pad(x, (0, size - x.shape[-1], 0, size - x.shape[-2]))

    def postprocess_masks(
        self, masks: torch.Tensor, input_size: tuple[int, ...], original_size: tuple[int, ...]
    ) -> torch.Tensor:
        """Low-res BxCx256x256 logits -> BxCxHxW logits in the original frame. ``input_size``
        (the encoder-frame size) is not needed: the crop is the image's size in the 1024 frame."""
        return super().postprocess_masks(masks, self._mask_frame(original_size), original_size)

    def mask_upscaler(self, input_size: tuple[int, int], original_size: tuple[int, int]):
        """:meth:`postprocess_masks` as a :class:`~sam_core.upscale.MaskUpscaler`: the crop is
        the image's size in the 1024 frame, not ``input_size`` (the encoder's frame)."""
        return super().mask_upscaler(self._mask_frame(original_size), original_size)

    @staticmethod
    def _mask_frame(original_size: tuple[int, ...]) -> tuple[int, int]:
        return get_preprocess_shape(int(original_size[0]), int(original_size[1]), PROMPT_FRAME)
