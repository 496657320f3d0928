"""The SAM v1 network: encoder, prompt encoder and mask decoder, plus pre/post-processing.

It offers the family interface of :mod:`sam_core.families.base` to ``SamPredictor``.
"""
from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from ..families.base import IMAGE_EMBED, ImageEmbedding
from ..upscale import MaskUpscaler
from ..utils.transforms import ResizeLongestSide
from .decoder_cache import ImageCache
from .image_encoder import ImageEncoderViT
from .mask_decoder import MaskDecoder
from .prompt_encoder import PromptEncoder

PIXEL_MEAN = (123.675, 116.28, 103.53)
PIXEL_STD = (58.395, 57.12, 57.375)


class Sam(nn.Module):
    """Segment Anything v1. Expects RGB input; masks are thresholded at logit 0."""

    mask_threshold: float = 0.0
    image_format: str = "RGB"
    low_res_logit_limit: float | None = None  # v1 hands its low-res logits back unclamped
    generator_defaults: dict = {}  # the generator's own defaults are v1's

    def __init__(
        self, image_encoder: ImageEncoderViT, prompt_encoder: PromptEncoder, mask_decoder: MaskDecoder
    ) -> None:
        super().__init__()
        self.image_encoder = image_encoder
        self.prompt_encoder = prompt_encoder
        self.mask_decoder = mask_decoder
        # Not in the checkpoint (persistent=False), exactly as in Meta's model.
        self.register_buffer("pixel_mean", torch.tensor(PIXEL_MEAN).view(-1, 1, 1), False)
        self.register_buffer("pixel_std", torch.tensor(PIXEL_STD).view(-1, 1, 1), False)
        # Original frame -> input frame: longest side to img_size, then padding (bottom, right).
        self.transform = ResizeLongestSide(image_encoder.img_size)

    @property
    def device(self) -> torch.device:
        return self.pixel_mean.device

    @torch.no_grad()
    def forward(self, batched_input: list[dict[str, Any]], multimask_output: bool) -> list[dict[str, torch.Tensor]]:
        """Meta's end-to-end call: images and their prompts -> masks, all in one batch.

        Each record has ``image`` (3xhxw RGB 0..255, already resized to the input frame),
        ``original_size`` (H, W), and optionally ``point_coords`` (BxNx2) with
        ``point_labels`` (BxN), ``boxes`` (Bx4 XYXY) and ``mask_inputs`` (Bx1x256x256),
        prompts in the input frame. Returns per image ``masks`` (BxCxHxW bool, original
        frame), ``iou_predictions`` (BxC) and ``low_res_logits`` (BxCx256x256); C is 3
        with ``multimask_output``, else 1. For prompts that come one at a time, a
        :class:`~sam_core.SamPredictor` is faster (the image is embedded once).
        """
        encoder = self.image_encoder
        images = torch.stack([self.preprocess(record["image"]) for record in batched_input], dim=0)
        embeddings = encoder(images.to(encoder.pos_embed.dtype)).float()
        outputs = []
        for record, embedding in zip(batched_input, embeddings):
            points = None
            if "point_coords" in record:
                points = (record["point_coords"], record["point_labels"])
            sparse, dense = self.prompt_encoder(points, record.get("boxes"), record.get("mask_inputs"))
            low_res, iou = self.mask_decoder(embedding[None], self.prompt_encoder.get_dense_pe(), sparse, dense,
                                             multimask_output)
            masks = self.postprocess_masks(low_res, tuple(record["image"].shape[-2:]), tuple(record["original_size"]))
            outputs.append({"masks": masks > self.mask_threshold, "iou_predictions": iou, "low_res_logits": low_res})
        return outputs

    def preprocess(self, x: torch.Tensor) -> torch.Tensor:
        """Bx3xhxw RGB in [0, 255] (h, w <= img_size) -> normalised, zero-padded Bx3xSxS float."""
        if max(x.shape[-2:]) != self.image_encoder.img_size:
            raise ValueError(f"the longest side must be {self.image_encoder.img_size}, got {tuple(x.shape[-2:])}")
        x = (x - self.pixel_mean) / self.pixel_std
        size = self.image_encoder.img_size
        return F.pad(x, (0, size - x.shape[-1], 0, size - x.shape[-2]))

    def mask_upscaler(self, input_size: tuple[int, int], original_size: tuple[int, int]) -> MaskUpscaler:
        """:meth:`postprocess_masks` for one image as a :class:`MaskUpscaler` (the same two
        bilinear steps as separable products, in row blocks), built once per image."""
        low_res = self.prompt_encoder.mask_input_size[0]
        frame = self.prompt_encoder.input_image_size[0]  # the mask frame (1024), as postprocess_masks
        return MaskUpscaler.for_sam(low_res, frame, input_size, original_size, self.device)

    def postprocess_masks(
        self, masks: torch.Tensor, input_size: tuple[int, ...], original_size: tuple[int, ...]
    ) -> torch.Tensor:
        """Low-res BxCx256x256 logits -> BxCxHxW logits in the original image frame.

        Two bilinear steps, as the reference does: up to the padded input size,
        crop the padding (``input_size`` is the resized image's h, w), then resize
        to ``original_size``.
        """
        size = self.prompt_encoder.input_image_size[0]  # the mask frame (1024), whatever the encoder's input
        scale = size // masks.shape[-1]
        # Only the rows and columns that survive the crop are computed: every output pixel
        # inside the crop samples low-res rows/cols < ceil(input/scale) + 1, so this equals
        # upscaling the whole padded frame and then cropping.
        rows = min(masks.shape[-2], -(-input_size[0] // scale) + 1)
        cols = min(masks.shape[-1], -(-input_size[1] // scale) + 1)
        masks = F.interpolate(
            masks[..., :rows, :cols], scale_factor=scale, mode="bilinear", align_corners=False
        )[..., : input_size[0], : input_size[1]]
        if tuple(masks.shape[-2:]) == tuple(original_size):
            return masks
        return F.interpolate(masks, tuple(original_size), mode="bilinear", align_corners=False)

    # -- the family interface (sam_core.families.base) ------------------------------------------
    def encode(self, pixels: torch.Tensor) -> ImageEmbedding:
        """1x3xSxS preprocessed pixels -> ``image_embed`` 1x256x64x64 float32 (the encoder
        runs in its own dtype)."""
        encoder = self.image_encoder
        return ImageEmbedding({IMAGE_EMBED: encoder(pixels.to(self.encoder_dtype)).float()})

    @property
    def encoder_dtype(self) -> torch.dtype:
        """The image encoder's precision (its first parameter's dtype)."""
        return next(self.image_encoder.parameters()).dtype

    def embedding_shapes(self) -> dict[str, tuple[int, ...]]:
        grid = self.prompt_encoder.image_embedding_size
        return {IMAGE_EMBED: (1, self.prompt_encoder.embed_dim, *grid)}

    def build_decoder_cache(self, embedding: ImageEmbedding) -> ImageCache:
        """What :meth:`decode` reuses for every prompt on this image."""
        return self.mask_decoder.build_image_cache(self.prompt_encoder, embedding[IMAGE_EMBED])

    def decode(
        self,
        cache: ImageCache,
        point_coords: torch.Tensor | None,
        point_labels: torch.Tensor | None,
        boxes: torch.Tensor | None,
        mask_input: torch.Tensor | None,
        multimask_output: bool,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Prompt encoder + mask decoder: (low-res logits BxMx256x256, iou BxM), M = 3 or 1.

        Prompts are in the 1024 input frame: point_coords BxNx2 (x, y), point_labels BxN,
        boxes Bx4 XYXY, mask_input Bx1x256x256 logits. Uses
        :meth:`MaskDecoder.decode_cached`; equals Meta's decoder to float rounding.
        """
        sparse, features = self.prompt_tokens(point_coords, point_labels, boxes, mask_input)
        keep = slice(1, None) if multimask_output else slice(0, 1)
        return self.mask_decoder.decode_cached(cache, sparse, features, keep)

    def prompt_tokens(
        self,
        point_coords: torch.Tensor | None,
        point_labels: torch.Tensor | None,
        boxes: torch.Tensor | None,
        mask_input: torch.Tensor | None,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(sparse prompt tokens B x T x C, mask-prompt features B x P x 16 or None) for the
        click path; same frames as :meth:`decode`."""
        points = None if point_coords is None else (point_coords, point_labels)
        if mask_input is not None and points is None and boxes is None:
            sparse = mask_input.new_empty(mask_input.shape[0], 0, self.prompt_encoder.embed_dim)
        else:
            sparse, _ = self.prompt_encoder(points, boxes, None)
        features = None if mask_input is None else self.prompt_encoder.mask_downscaling.features(mask_input)
        return sparse, features
