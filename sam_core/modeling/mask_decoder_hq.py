"""HQ-SAM's mask decoder: SAM's decoder plus a high-quality output token.

The extra token (``hf_token``, with its own hypernetwork ``hf_mlp``) reads a finer
feature map: SAM's upscaled decoder features refined by two 3x3 convolutions
(``embedding_maskfeature``), plus a per-image *HQ feature* made from the image
embedding (``embedding_encoder``) and an early ViT feature (``compress_vit_feat``),
all at 4x the embedding grid (256x256). The answer is one mask: the HQ mask plus SAM's
single mask, or plus the best of SAM's three candidates (``multimask_output``), or
the HQ mask alone (``hq_token_only``), with SAM's IoU prediction for it.

The early feature is the ViT's output after its first global-attention block (for
TinyViT, stage 1's output): B x h x w x C_vit, channels last, as the encoders give it.
"""
from __future__ import annotations

from dataclasses import dataclass, fields

import torch
from torch import nn
from torch.nn import functional as F

from .common import LayerNorm2d
from .decoder_cache import ImageCache
from .mask_decoder import MLP, MaskDecoder
from .prompt_encoder import PromptEncoder
from .transformer import TwoWayTransformer


class FeatureUpscaling(nn.Sequential):
    """Two 2x2 stride-2 transposed convolutions with LayerNorm and GELU between: 4x the grid."""

    def __init__(self, in_chans: int, mid_chans: int, out_chans: int) -> None:
        super().__init__(
            nn.ConvTranspose2d(in_chans, mid_chans, kernel_size=2, stride=2),
            LayerNorm2d(mid_chans),
            nn.GELU(),
            nn.ConvTranspose2d(mid_chans, out_chans, kernel_size=2, stride=2),
        )


class MaskFeature(nn.Sequential):
    """3x3 convolution, LayerNorm, GELU, 3x3 convolution (same channels in and out)."""

    def __init__(self, chans: int, mid_chans: int) -> None:
        super().__init__(
            nn.Conv2d(chans, mid_chans, 3, 1, 1),
            LayerNorm2d(mid_chans),
            nn.GELU(),
            nn.Conv2d(mid_chans, chans, 3, 1, 1),
        )

    conv1 = property(lambda self: self[0])
    norm = property(lambda self: self[1])
    conv2 = property(lambda self: self[3])


@dataclass
class HQImageCache(ImageCache):
    """The click path's per-image cache plus the HQ feature, 1 x C/8 x 4h x 4w."""

    hq_features: torch.Tensor | None = None


class MaskDecoderHQ(MaskDecoder):
    """:class:`MaskDecoder` with HQ-SAM's output token; ``vit_dim`` is the early feature's width."""

    def __init__(
        self,
        transformer_dim: int = 256,
        transformer: TwoWayTransformer | None = None,
        num_multimask_outputs: int = 3,
        iou_head_depth: int = 3,
        iou_head_hidden_dim: int = 256,
        vit_dim: int = 1024,
    ) -> None:
        super().__init__(transformer_dim, transformer, num_multimask_outputs, iou_head_depth, iou_head_hidden_dim)
        self.vit_dim = vit_dim
        self.hf_token = nn.Embedding(1, transformer_dim)
        self.hf_mlp = MLP(transformer_dim, transformer_dim, transformer_dim // 8, 3)
        self.compress_vit_feat = FeatureUpscaling(vit_dim, transformer_dim, transformer_dim // 8)
        self.embedding_encoder = FeatureUpscaling(transformer_dim, transformer_dim // 4, transformer_dim // 8)
        self.embedding_maskfeature = MaskFeature(transformer_dim // 8, transformer_dim // 4)

    @property
    def hq_token_index(self) -> int:
        """Position of the HQ token among the decoder's output tokens (after IoU and masks)."""
        return 1 + self.num_mask_tokens

    def output_tokens(self, batch: int) -> torch.Tensor:
        """IoU token, SAM's mask tokens, the HQ token: B x (2+num_mask_tokens) x C."""
        tokens = torch.cat([self.iou_token.weight, self.mask_tokens.weight, self.hf_token.weight], dim=0)
        return tokens.unsqueeze(0).expand(batch, -1, -1)

    def hq_features(self, image_embeddings: torch.Tensor, early: torch.Tensor) -> torch.Tensor:
        """Per image: embedding B x C x h x w, early feature B x h x w x C_vit -> B x C/8 x 4h x 4w."""
        return self.embedding_encoder(image_embeddings) + self.compress_vit_feat(early.permute(0, 3, 1, 2))

    def forward(
        self,
        image_embeddings: torch.Tensor,
        image_pe: torch.Tensor,
        sparse_prompt_embeddings: torch.Tensor,
        dense_prompt_embeddings: torch.Tensor,
        multimask_output: bool,
        hq_token_only: bool = False,
        early: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The reference arithmetic: (masks B x 1 x 4h x 4w logits, iou B x 1)."""
        hq = self.hq_features(image_embeddings, early)
        masks, iou = self.predict_masks_hq(
            image_embeddings, image_pe, sparse_prompt_embeddings, dense_prompt_embeddings, hq
        )
        return self.select(masks, iou, multimask_output, hq_token_only)

    def predict_masks_hq(
        self,
        image_embeddings: torch.Tensor,
        image_pe: torch.Tensor,
        sparse_prompt_embeddings: torch.Tensor,
        dense_prompt_embeddings: torch.Tensor,
        hq_features: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """SAM's 4 masks and the HQ mask, B x 5 x 4h x 4w, with SAM's 4 IoU predictions."""
        batch = sparse_prompt_embeddings.shape[0]
        tokens = torch.cat([self.output_tokens(batch), sparse_prompt_embeddings], dim=1)
        src = image_embeddings if image_embeddings.shape[0] == batch else image_embeddings.expand(batch, -1, -1, -1)
        src = src + dense_prompt_embeddings
        pos = image_pe if image_pe.shape[0] == batch else image_pe.expand(batch, -1, -1, -1)
        b, c, h, w = src.shape
        hs, src = self.transformer(src, pos, tokens)
        upscaled = self.output_upscaling(src.transpose(1, 2).reshape(b, c, h, w))
        refined = self.embedding_maskfeature(upscaled) + hq_features
        mask_tokens = hs[:, 1 : 1 + self.num_mask_tokens]
        hyper = torch.stack([mlp(mask_tokens[:, i]) for i, mlp in enumerate(self.output_hypernetworks_mlps)], dim=1)
        hq_hyper = self.hf_mlp(hs[:, self.hq_token_index])[:, None]
        _, channels, fh, fw = upscaled.shape
        masks = (hyper @ upscaled.reshape(b, channels, fh * fw)).view(b, -1, fh, fw)
        hq_mask = (hq_hyper @ refined.reshape(b, channels, fh * fw)).view(b, 1, fh, fw)
        return torch.cat([masks, hq_mask], dim=1), self.iou_prediction_head(hs[:, 0])

    def select(
        self, masks: torch.Tensor, iou: torch.Tensor, multimask_output: bool, hq_token_only: bool
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """HQ-SAM's answer from all masks (B x 5 x ...) and SAM's IoU (B x 4): B x 1 masks, B x 1 IoU."""
        hq_mask = masks[:, self.num_mask_tokens :]
        if multimask_output:
            iou, best = iou[:, 1:].max(dim=1)
            sam_mask = masks[:, 1 : self.num_mask_tokens][torch.arange(masks.shape[0]), best][:, None]
            iou = iou[:, None]
        else:
            sam_mask, iou = masks[:, :1], iou[:, :1]
        return (hq_mask if hq_token_only else sam_mask + hq_mask), iou

    # -- the click path ----------------------------------------------------------------------------------
    def build_image_cache(
        self, prompt_encoder: PromptEncoder, embedding: torch.Tensor, early: torch.Tensor | None = None
    ) -> HQImageCache:
        """:meth:`MaskDecoder.build_image_cache` plus the HQ feature (which the reference makes
        again for every prompt). ``early``: 1 x h x w x C_vit."""
        if early is None:
            raise ValueError("HQ-SAM's decoder needs the encoder's early feature")
        base = super().build_image_cache(prompt_encoder, embedding)
        values = {f.name: getattr(base, f.name) for f in fields(ImageCache)}
        hq = self.hq_features(embedding, early.to(embedding.dtype))
        return HQImageCache(**values, hq_features=hq)

    def decode_cached_hq(
        self,
        cache: HQImageCache,
        sparse: torch.Tensor,
        mask_features: torch.Tensor | None,
        multimask_output: bool,
        hq_token_only: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """:meth:`forward` for one image's ``cache``: (masks B x 1 x 4h x 4w logits, iou B x 1).

        The HQ mask's last convolution and its dot product with the HQ token's hypernetwork
        output are one convolution to a single channel (the weights contracted with that
        output first), so the 64-to-32 channel 3x3 convolution of the reference never runs.
        """
        read = list(range(self.hq_token_index + 1))  # the output tokens, not the prompt's
        queries, keys = self.transformer_cached(cache, sparse, mask_features, read)
        scores = self.iou_prediction_head(queries[:, 0])  # B x 4
        b = keys.shape[0]
        h, w = cache.embedding.shape[-2:]
        if multimask_output:
            iou, best = scores[:, 1:].max(dim=1)
            iou = iou[:, None]
        else:
            iou, best = scores[:, :1], None
        sam_mask = None
        if not hq_token_only:
            keep = slice(1, None) if multimask_output else slice(0, 1)
            mask_tokens = queries[:, 1 : 1 + self.num_mask_tokens][:, keep]
            sam_mask, _ = self.heads_token_major(cache, queries[:, 0], mask_tokens, keys, (h, w), keep)
            if best is not None:
                sam_mask = sam_mask[torch.arange(b), best][:, None]
        upscaled = self.upscale_token_major(cache, keys)  # B x (P*16) x C8, rows (i, j, di, dj, di2, dj2)
        c8 = upscaled.shape[-1]
        spatial = upscaled.view(b, h, w, 2, 2, 2, 2, c8).permute(0, 1, 3, 5, 2, 4, 6, 7).reshape(b, 4 * h, 4 * w, c8)
        hq_mask = self._hq_mask(cache, spatial.permute(0, 3, 1, 2), self.hf_mlp(queries[:, self.hq_token_index]))
        return (hq_mask if sam_mask is None else sam_mask + hq_mask), iou

    def _hq_mask(self, cache: HQImageCache, upscaled: torch.Tensor, hyper: torch.Tensor) -> torch.Tensor:
        """``hyper . (embedding_maskfeature(upscaled) + hq_features)`` per prompt: B x 1 x H x W.

        ``upscaled``: B x C8 x H x W (any memory layout); ``hyper``: B x C8."""
        feature = self.embedding_maskfeature
        b, c8 = hyper.shape
        x = F.conv2d(upscaled.contiguous(memory_format=torch.channels_last), feature.conv1.weight, feature.conv1.bias,
                     padding=1)
        norm = feature.norm
        x = F.layer_norm(x.permute(0, 2, 3, 1), (x.shape[1],), norm.weight, norm.bias, norm.eps)
        x = F.gelu(x).permute(0, 3, 1, 2)  # B x mid x H x W, channels last in memory
        conv2 = feature.conv2
        weight = torch.einsum("bc,cmij->bmij", hyper, conv2.weight)  # B x mid x 3 x 3
        bias = hyper @ conv2.bias
        mid = x.shape[1]
        grouped = x.reshape(1, b * mid, *x.shape[-2:]) if b > 1 else x
        hq = F.conv2d(grouped, weight, bias, padding=1, groups=b).view(b, 1, *x.shape[-2:])
        return hq + torch.einsum("bc,chw->bhw", hyper, cache.hq_features[0])[:, None]
