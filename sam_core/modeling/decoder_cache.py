"""What the click-path decoder keeps per image: everything that does not depend on the prompt.

Used by :meth:`sam_core.modeling.mask_decoder.MaskDecoder.decode_cached`. Without a
``mask_input`` the decoder's image tokens start as ``embedding + no_mask_embed``, and
the first layer's key/value projections (token->image) and query projection
(image->token) see only those tokens and the positional encoding: they are computed
once per image. A mask prompt keeps that cache: its embedding is a 1x1 convolution of
16 features, so the projections become the cached ones plus a product with those
features. Every weight is read from the modules by name, when the cache is built
(:meth:`MaskDecoder.build_image_cache`).

Shapes: ``P`` image tokens (64x64),
``C`` = 256 channels, ``H`` = 8 heads of ``D`` = 16 in the cross attentions
(``I`` = H*D = 128), ``F`` = 16 mask-input features, batch of 1 image.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch


@dataclass
class Layer0Projection:
    """One of layer 0's image-side projections (keys, values or image queries), per head.

    Without a mask prompt it is ``base`` (1 x H x P x D, cached). A mask prompt adds
    ``features @ weight + bias`` (features B x P x F): the projections are linear in the
    mask embedding, which is a 1x1 convolution of 16 features. The sum is never formed;
    products with it are taken term by term, which costs F = 16 instead of C = 256
    multiply-adds per token.
    """

    base: torch.Tensor  # 1 x H x P x D
    weight: torch.Tensor  # H x F x D
    bias: torch.Tensor  # H x 1 x D
    features: torch.Tensor | None = None  # B x 1 x P x F

    def with_features(self, features: torch.Tensor | None) -> "Layer0Projection":
        """The same projection for a mask prompt's ``features`` (B x P x F), or none."""
        return Layer0Projection(self.base, self.weight, self.bias, None if features is None else features[:, None])

    def scores(self, x: torch.Tensor) -> torch.Tensor:
        """``x @ projection^T`` for B x H x T x D rows: B x H x T x P."""
        out = x @ self.base.transpose(-1, -2)
        if self.features is None:
            return out
        out += (x @ self.weight.transpose(-1, -2)) @ self.features.transpose(-1, -2)
        return out.add_(x @ self.bias.transpose(-1, -2))

    def mix(self, weights: torch.Tensor) -> torch.Tensor:
        """``weights @ projection`` for B x H x T x P weights whose rows sum to one: B x H x T x D."""
        out = weights @ self.base
        if self.features is None:
            return out
        out += (weights @ self.features) @ self.weight
        return out.add_(self.bias)


@dataclass
class HeadWeights:
    """``MaskDecoder``'s output heads rearranged for GEMMs on token-major features.

    A ConvTranspose2d weight (in x out x 2 x 2) becomes in x (2*2*out), output blocks
    ordered (di, dj, channel); the M hypernetwork MLPs are stacked for batched products.
    """

    up1_weight: torch.Tensor  # C x 4*mid
    up1_bias: torch.Tensor  # 4*mid
    up2_weight: torch.Tensor  # mid x 4*out
    up2_bias: torch.Tensor  # 4*out
    hyper_weights: list[torch.Tensor]  # per layer: M x in x out
    hyper_biases: list[torch.Tensor]  # per layer: M x 1 x out

    @classmethod
    def of(cls, decoder) -> "HeadWeights":
        """From a :class:`~sam_core.modeling.mask_decoder.MaskDecoder`'s live weights."""
        up1, up2 = decoder.output_upscaling.up1, decoder.output_upscaling.up2
        mlps = decoder.output_hypernetworks_mlps
        depth = len(mlps[0].layers)
        return cls(
            up1_weight=up1.weight.permute(0, 2, 3, 1).reshape(up1.weight.shape[0], -1).contiguous(),
            up1_bias=up1.bias.repeat(4),
            up2_weight=up2.weight.permute(0, 2, 3, 1).reshape(up2.weight.shape[0], -1).contiguous(),
            up2_bias=up2.bias.repeat(4),
            hyper_weights=[torch.stack([m.layers[i].weight.t() for m in mlps]) for i in range(depth)],
            hyper_biases=[torch.stack([m.layers[i].bias[None] for m in mlps]) for i in range(depth)],
        )


@dataclass
class ImageCache:
    """What the decoder needs per image, independent of the prompt."""

    src: torch.Tensor  # 1 x P x C: embedding + no_mask_embed
    key_pe: torch.Tensor  # 1 x P x C: dense positional encoding
    embedding: torch.Tensor  # 1 x C x h x w: the raw image embedding
    mask_base: torch.Tensor  # 1 x P x C: embedding + the mask embedding's bias
    mask_embed_weight: torch.Tensor  # F x C: the mask embedding (a 1x1 convolution)
    layer0_keys: Layer0Projection  # token->image keys of layer 0
    layer0_values: Layer0Projection  # token->image values of layer 0
    layer0_image_queries: Layer0Projection  # image->token queries of layer 0
    heads: HeadWeights  # the upscaling and hypernetwork weights in GEMM layout
    buffers: dict = field(default_factory=dict)  # single-prompt intermediates, reused per click
    # SAM 2 only: its high-res features, added after the first (P x 4*mid) and second
    # (4P x 4*out) upscaling products, in the rows and columns of those products.
    high_res_s1: torch.Tensor | None = None
    high_res_s0: torch.Tensor | None = None

    def layer0(
        self, mask_features: torch.Tensor | None
    ) -> tuple[Layer0Projection, Layer0Projection, Layer0Projection]:
        """Layer 0's keys, values and image queries for a prompt with these mask features."""
        return tuple(
            p.with_features(mask_features) for p in (self.layer0_keys, self.layer0_values, self.layer0_image_queries)
        )
