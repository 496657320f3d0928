"""The SAM model: encoder, prompt encoder and mask decoder, plus pre/post-processing."""
from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from .image_encoder import ImageEncoderViT
from .mask_decoder import MaskDecoder
from .prompt_encoder import PromptEncoder

PIXEL_MEAN = (123.675, 116.28, 103.53)
PIXEL_STD = (58.395, 57.12, 57.375)


class Sam(nn.Module):
    """Segment Anything v1. Expects RGB input; masks are thresholded at logit 0."""

    mask_threshold: float = 0.0
    image_format: str = "RGB"

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
        x = (x - self.pixel_mean) / self.pixel_std
        size = self.image_encoder.img_size
        return F.pad(x, (0, size - x.shape[-1], 0, size - x.shape[-2]))

    def postprocess_masks(
        self, masks: torch.Tensor, input_size: tuple[int, ...], original_size: tuple[int, ...]
    ) -> torch.Tensor:
        """Low-res BxCx256x256 logits -> BxCxHxW logits in the original image frame.

        Two bilinear steps, as the reference does: up to the padded input size,
        crop the padding (``input_size`` is the resized image's h, w), then resize
        to ``original_size``.
        """
        size = self.image_encoder.img_size
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
