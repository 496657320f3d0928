"""HQ-SAM: a SAM v1 encoder (ViT-B/L/H, or TinyViT for ``vit_tiny``) whose early feature feeds
HQ-SAM's decoder (:mod:`.mask_decoder_hq`). Frames and pre/post-processing are SAM v1's.

The embedding holds ``image_embed`` (1 x 256 x 64 x 64) and ``interm_embed``, the encoder's
early feature (the ViT's tokens after its first global-attention block, or TinyViT's stage-1
output) as 1 x C_vit x 64 x 64: what the reference predictor keeps as ``interm_features``.
The answer to a prompt is one mask: the HQ mask plus SAM's best candidate (multimask) or
SAM's single mask; ``hq_token_only`` True gives the HQ mask alone, as the reference's flag.
"""
from __future__ import annotations

import torch

from ..families.base import IMAGE_EMBED, ImageEmbedding
from .decoder_cache import ImageCache
from .mask_decoder_hq import MaskDecoderHQ
from .prompt_encoder import PromptEncoder
from .sam import Sam

INTERM_EMBED = "interm_embed"


class HQSam(Sam):
    """SAM with HQ-SAM's decoder; ``image_encoder`` offers ``forward_with_early``."""

    hq_token_only: bool = False

    def __init__(self, image_encoder: torch.nn.Module, prompt_encoder: PromptEncoder, mask_decoder: MaskDecoderHQ) -> None:
        super().__init__(image_encoder, prompt_encoder, mask_decoder)

    def encode(self, pixels: torch.Tensor) -> ImageEmbedding:
        """1x3xSxS preprocessed pixels -> ``image_embed`` and ``interm_embed``, float32."""
        embedding, early = self.image_encoder.forward_with_early(pixels.to(self.encoder_dtype))
        return ImageEmbedding({IMAGE_EMBED: embedding.float(), INTERM_EMBED: early.permute(0, 3, 1, 2).float()})

    def embedding_shapes(self) -> dict[str, tuple[int, ...]]:
        grid = self.prompt_encoder.image_embedding_size
        return {IMAGE_EMBED: (1, self.prompt_encoder.embed_dim, *grid), INTERM_EMBED: (1, self.mask_decoder.vit_dim, *grid)}

    def build_decoder_cache(self, embedding: ImageEmbedding) -> ImageCache:
        """The click path's cache plus the HQ feature (made once per image)."""
        early = embedding[INTERM_EMBED].permute(0, 2, 3, 1)
        return self.mask_decoder.build_image_cache(self.prompt_encoder, embedding[IMAGE_EMBED], early)

    def decode(
        self,
        cache: ImageCache,
        point_coords: torch.Tensor | None,
        point_labels: torch.Tensor | None,
        boxes: torch.Tensor | None,
        mask_input: torch.Tensor | None,
        multimask_output: bool,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """HQ-SAM's answer: (low-res logits B x 1 x 256 x 256, iou B x 1); frames as :meth:`Sam.decode`."""
        sparse, features = self.prompt_tokens(point_coords, point_labels, boxes, mask_input)
        return self.mask_decoder.decode_cached_hq(cache, sparse, features, multimask_output, self.hq_token_only)
