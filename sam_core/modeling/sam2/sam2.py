"""The SAM 2 / 2.1 image network: Hiera encoder, prompt encoder and mask decoder, plus
``no_mem_embed``, with the image path of ``SAM2ImagePredictor``.

It offers the family interface of :mod:`sam_core.families.base`. Frames: the input frame
is the image stretched to 1024 x 1024 (:class:`~sam_core.utils.transforms.ResizeSquare`).
The embedding holds ``image_embed`` (1x256x64x64, ``no_mem_embed`` added, as the image
predictor does) and ``high_res_feat_s0`` / ``high_res_feat_s1`` (the stride-4 and -8
maps after the decoder's ``conv_s0`` / ``conv_s1``: 1x32x256x256 and 1x64x128x128).
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from ...families.base import IMAGE_EMBED, ImageEmbedding
from ...utils.transforms import ResizeSquare
from ..decoder_cache import ImageCache
from .image_encoder import ImageEncoder
from .mask_decoder import Sam2MaskDecoder
from .neck_inference import embedding_maps
from .prompt_encoder import Sam2PromptEncoder

PIXEL_MEAN = (0.485, 0.456, 0.406)  # ImageNet, on [0, 1] pixels
PIXEL_STD = (0.229, 0.224, 0.225)
HIGH_RES_S0, HIGH_RES_S1 = "high_res_feat_s0", "high_res_feat_s1"


class Sam2(nn.Module):
    """SAM 2 for still images. Keys equal the official checkpoint's image modules."""

    mask_threshold: float = 0.0
    image_format: str = "RGB"
    low_res_logit_limit: float | None = 32.0  # SAM2ImagePredictor clamps the logits it returns
    # SAM2AutomaticMaskGenerator's defaults where they differ from SAM v1's generator.
    generator_defaults: dict = {"pred_iou_thresh": 0.8, "use_m2m": False}

    def __init__(self, image_encoder: ImageEncoder, image_size: int = 1024, embed_dim: int = 256) -> None:
        super().__init__()
        grid = image_size // 16
        self.image_encoder = image_encoder
        self.sam_prompt_encoder = Sam2PromptEncoder(
            embed_dim=embed_dim, image_embedding_size=(grid, grid), input_image_size=(image_size, image_size)
        )
        self.sam_mask_decoder = Sam2MaskDecoder(embed_dim)
        self.no_mem_embed = nn.Parameter(torch.zeros(1, 1, embed_dim))
        self.register_buffer("pixel_mean", torch.tensor(PIXEL_MEAN).view(-1, 1, 1), False)
        self.register_buffer("pixel_std", torch.tensor(PIXEL_STD).view(-1, 1, 1), False)
        self.image_size = image_size
        self.transform = ResizeSquare(image_size)

    @property
    def device(self) -> torch.device:
        return self.pixel_mean.device

    def preprocess(self, x: torch.Tensor) -> torch.Tensor:
        """Bx3xSxS RGB in [0, 1], already resized -> normalised (no padding)."""
        if tuple(x.shape[-2:]) != (self.image_size, self.image_size):
            raise ValueError(f"SAM 2 takes {self.image_size}x{self.image_size} input, got {tuple(x.shape[-2:])}")
        return (x - self.pixel_mean) / self.pixel_std

    def encode(self, pixels: torch.Tensor) -> ImageEmbedding:
        """1x3xSxS normalised pixels -> the three maps of the embedding, float32. The trunk
        runs in its own dtype; the neck, the decoder's projections and ``no_mem_embed`` in
        float32 (with autograd off: :func:`.neck_inference.embedding_maps`)."""
        encoder, decoder = self.image_encoder, self.sam_mask_decoder
        pixels = pixels.to(encoder.dtype)
        if not torch.is_grad_enabled():
            image, stride4, stride8 = embedding_maps(self, encoder.trunk.stage_tokens(pixels))
            return ImageEmbedding({IMAGE_EMBED: image, HIGH_RES_S0: stride4, HIGH_RES_S1: stride8})
        stride4, stride8, stride16 = encoder(pixels)
        return ImageEmbedding({
            IMAGE_EMBED: stride16.float() + self.no_mem_embed.view(1, -1, 1, 1),
            HIGH_RES_S0: decoder.conv_s0(stride4.float()),
            HIGH_RES_S1: decoder.conv_s1(stride8.float()),
        })

    def embedding_shapes(self) -> dict[str, tuple[int, ...]]:
        c, (h, w) = self.sam_prompt_encoder.embed_dim, self.sam_prompt_encoder.image_embedding_size
        return {IMAGE_EMBED: (1, c, h, w), HIGH_RES_S0: (1, c // 8, 4 * h, 4 * w), HIGH_RES_S1: (1, c // 4, 2 * h, 2 * w)}

    def build_decoder_cache(self, embedding: ImageEmbedding) -> ImageCache:
        return self.sam_mask_decoder.build_image_cache(
            self.sam_prompt_encoder, embedding[IMAGE_EMBED], (embedding[HIGH_RES_S0], embedding[HIGH_RES_S1])
        )

    def decode(
        self,
        cache: ImageCache,
        point_coords: torch.Tensor | None,
        point_labels: torch.Tensor | None,
        boxes: torch.Tensor | None,
        mask_input: torch.Tensor | None,
        multimask_output: bool,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """As ``SAM2ImagePredictor._predict``: a box enters as two corner points (labels 2, 3)
        ahead of the points, with the padding point after them. Returns unclamped low-res
        logits BxMx256x256 and IoU BxM (M = 3, or 1 chosen by stability)."""
        if boxes is not None:
            corners = boxes.reshape(-1, 2, 2)
            corner_labels = torch.tensor([[2, 3]], dtype=torch.int, device=boxes.device).repeat(corners.shape[0], 1)
            if point_coords is None:
                point_coords, point_labels = corners, corner_labels
            else:
                point_coords = torch.cat([corners, point_coords], dim=1)
                point_labels = torch.cat([corner_labels, point_labels.to(torch.int)], dim=1)
        encoder = self.sam_prompt_encoder
        if point_coords is None:
            batch = 1 if mask_input is None else mask_input.shape[0]
            sparse = cache.src.new_empty(batch, 0, encoder.embed_dim)
        else:
            sparse, _ = encoder((point_coords, point_labels), None, None)
        features = None if mask_input is None else encoder.mask_downscaling.features(mask_input)
        decoder = self.sam_mask_decoder
        if multimask_output:
            return decoder.decode_cached(cache, sparse, features, slice(1, None))
        masks, iou = decoder.decode_cached(cache, sparse, features, slice(None))
        return decoder.select(masks, iou, multimask_output=False)

    def postprocess_masks(
        self, masks: torch.Tensor, input_size: tuple[int, ...], original_size: tuple[int, ...]
    ) -> torch.Tensor:
        """Low-res BxCx256x256 logits -> BxCxHxW logits: one bilinear resize (there is no padding)."""
        return F.interpolate(masks.float(), tuple(original_size), mode="bilinear", align_corners=False)
