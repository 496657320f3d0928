"""SAM 2's mask decoder: SAM v1's two-way transformer and heads, plus

* an object-score token ahead of the IoU token (its score head is loaded; the image
  predictor ignores its output, as the reference does),
* the stride-8 and stride-4 image features added inside the upscaling,
* a sigmoid on the IoU head,
* for a single mask: the single-mask output unless it is unstable, then the best of
  the three candidates (``dynamic_multimask_via_stability``, on in ``build_sam2``).

``conv_s0`` / ``conv_s1`` project the encoder's stride-4/8 maps once per image.
"""
from __future__ import annotations

import torch
from torch import nn

from ..decoder_cache import ImageCache
from ..mask_decoder import MLP, MaskDecoder
from ..prompt_encoder import PromptEncoder
from ..transformer import TwoWayTransformer


def _two_layer_mlp(dim: int, hidden: int) -> MLP:
    return MLP(dim, hidden, dim, num_layers=2)


class Sam2MaskDecoder(MaskDecoder):
    token_offset = 1  # the object-score token comes first

    def __init__(self, transformer_dim: int = 256, stability_delta: float = 0.05, stability_thresh: float = 0.98):
        super().__init__(
            transformer_dim=transformer_dim,
            transformer=TwoWayTransformer(embedding_dim=transformer_dim, mlp_block=_two_layer_mlp),
        )
        self.iou_prediction_head = MLP(transformer_dim, 256, self.num_mask_tokens, 3, sigmoid_output=True)
        self.obj_score_token = nn.Embedding(1, transformer_dim)
        self.pred_obj_score_head = MLP(transformer_dim, transformer_dim, 1, 3)
        self.conv_s0 = nn.Conv2d(transformer_dim, transformer_dim // 8, kernel_size=1)
        self.conv_s1 = nn.Conv2d(transformer_dim, transformer_dim // 4, kernel_size=1)
        self.stability_delta = stability_delta
        self.stability_thresh = stability_thresh

    def output_tokens(self, batch: int) -> torch.Tensor:
        tokens = torch.cat([self.obj_score_token.weight, self.iou_token.weight, self.mask_tokens.weight], dim=0)
        return tokens.unsqueeze(0).expand(batch, -1, -1)

    def upscale(self, src: torch.Tensor, high_res_features=None) -> torch.Tensor:
        feat_s0, feat_s1 = high_res_features
        up = self.output_upscaling
        x = up[2](up.norm(up.up1(src) + feat_s1))
        return up[4](up.up2(x) + feat_s0)

    def build_image_cache(
        self, prompt_encoder: PromptEncoder, embedding: torch.Tensor, high_res: tuple[torch.Tensor, torch.Tensor]
    ) -> ImageCache:
        """v1's cache plus ``high_res`` (the projected 1 x C/8 x 4h x 4w and 1 x C/4 x 2h x 2w
        maps) in the row and column order of the two upscaling products."""
        cache = super().build_image_cache(prompt_encoder, embedding)
        feat_s0, feat_s1 = high_res
        h, w = embedding.shape[-2:]
        mid, out = feat_s1.shape[1], feat_s0.shape[1]
        # rows (i, j), columns (di, dj, channel) for pixel (2i+di, 2j+dj)
        cache.high_res_s1 = feat_s1[0].view(mid, h, 2, w, 2).permute(1, 3, 2, 4, 0).reshape(h * w, 4 * mid)
        # rows (i, j, di, dj), columns (di2, dj2, channel) for pixel (4i+2di+di2, 4j+2dj+dj2)
        cache.high_res_s0 = (
            feat_s0[0].view(out, h, 2, 2, w, 2, 2).permute(1, 4, 2, 5, 3, 6, 0).reshape(h * w * 4, 4 * out)
        )
        return cache

    def select(
        self, masks: torch.Tensor, iou: torch.Tensor, multimask_output: bool
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """All 4 outputs (B x 4 x h x w, B x 4) -> the 3 candidates, or one mask: output 0
        when its stability score is >= ``stability_thresh``, else the best candidate."""
        if multimask_output:
            return masks[:, 1:], iou[:, 1:]
        batch = torch.arange(masks.shape[0], device=masks.device)
        best = torch.argmax(iou[:, 1:], dim=-1) + 1
        single = masks[:, 0].flatten(1)
        inner = (single > self.stability_delta).sum(-1).float()
        outer = (single > -self.stability_delta).sum(-1).float()
        stable = torch.where(outer > 0, inner / outer, 1.0) >= self.stability_thresh
        chosen = torch.where(stable, torch.zeros_like(best), best)
        return masks[batch, chosen][:, None], iou[batch, chosen][:, None]
