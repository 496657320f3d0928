"""The mask decoder's two-way transformer: tokens attend to the image and back.

:class:`Attention` also carries the click path's two cross attentions
(:meth:`Attention.tokens_attend_image`, :meth:`Attention.image_attends_tokens`):
the same function as ``forward``, with the projections folded into the few
prompt tokens. Frames and shapes there: ``P`` image tokens (64x64 = 4096), ``C``
channels, ``H`` heads of ``D``, ``T`` prompt tokens, ``B`` prompts in a batch.
"""
from __future__ import annotations

import math
from typing import Callable

import torch
from torch import nn

from ..utils import gemm
from .common import MLPBlock
from .decoder_cache import Layer0Projection


class TwoWayTransformer(nn.Module):
    """``depth`` two-way blocks, then a final token-to-image attention.

    Inputs: image embedding BxCxHxW, its positional encoding BxCxHxW, and
    point (token) embeddings BxNxC. Returns (tokens BxNxC, image B x HW x C).
    """

    def __init__(
        self,
        depth: int = 2,
        embedding_dim: int = 256,
        num_heads: int = 8,
        mlp_dim: int = 2048,
        attention_downsample_rate: int = 2,
        mlp_block: Callable[[int, int], nn.Module] | None = None,
    ) -> None:
        super().__init__()
        self.layers = nn.ModuleList(
            TwoWayAttentionBlock(
                embedding_dim, num_heads, mlp_dim, attention_downsample_rate, skip_first_layer_pe=(i == 0),
                mlp_block=mlp_block,
            )
            for i in range(depth)
        )
        self.final_attn_token_to_image = Attention(embedding_dim, num_heads, attention_downsample_rate)
        self.norm_final_attn = nn.LayerNorm(embedding_dim)

    def forward(
        self, image_embedding: torch.Tensor, image_pe: torch.Tensor, point_embedding: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        keys = image_embedding.flatten(2).permute(0, 2, 1)
        key_pe = image_pe.flatten(2).permute(0, 2, 1)
        queries = point_embedding
        for layer in self.layers:
            queries, keys = layer(queries, keys, point_embedding, key_pe)
        attn_out = self.final_attn_token_to_image(queries + point_embedding, keys + key_pe, keys)
        return self.norm_final_attn(queries + attn_out), keys


class TwoWayAttentionBlock(nn.Module):
    """Self-attention of tokens, tokens->image, token MLP, image->tokens."""

    def __init__(
        self,
        embedding_dim: int,
        num_heads: int,
        mlp_dim: int,
        attention_downsample_rate: int,
        skip_first_layer_pe: bool,
        mlp_block: Callable[[int, int], nn.Module] | None = None,
    ) -> None:
        """``mlp_block(embedding_dim, mlp_dim)`` makes the token MLP (ReLU between two linear
        layers); SAM v1 names them ``lin1``/``lin2``, SAM 2 ``layers.0``/``layers.1``."""
        super().__init__()
        self.self_attn = Attention(embedding_dim, num_heads)
        self.norm1 = nn.LayerNorm(embedding_dim)
        self.cross_attn_token_to_image = Attention(embedding_dim, num_heads, attention_downsample_rate)
        self.norm2 = nn.LayerNorm(embedding_dim)
        self.mlp = MLPBlock(embedding_dim, mlp_dim, nn.ReLU) if mlp_block is None else mlp_block(embedding_dim, mlp_dim)
        self.norm3 = nn.LayerNorm(embedding_dim)
        self.norm4 = nn.LayerNorm(embedding_dim)
        self.cross_attn_image_to_token = Attention(embedding_dim, num_heads, attention_downsample_rate)
        self.skip_first_layer_pe = skip_first_layer_pe

    def forward(
        self, queries: torch.Tensor, keys: torch.Tensor, query_pe: torch.Tensor, key_pe: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        # The first layer's tokens *are* the point embeddings, so adding their PE again is skipped.
        if self.skip_first_layer_pe:
            queries = self.self_attn(queries, queries, queries)
        else:
            q = queries + query_pe
            queries = queries + self.self_attn(q, q, queries)
        queries = self.norm1(queries)

        q, k = queries + query_pe, keys + key_pe
        queries = self.norm2(queries + self.cross_attn_token_to_image(q, k, keys))
        queries = self.norm3(queries + self.mlp(queries))

        q = queries + query_pe
        keys = self.norm4(keys + self.cross_attn_image_to_token(k, q, queries))
        return queries, keys


class Attention(nn.Module):
    """Multi-head attention whose inner width is ``embedding_dim // downsample_rate``."""

    def __init__(self, embedding_dim: int, num_heads: int, downsample_rate: int = 1) -> None:
        super().__init__()
        self.internal_dim = embedding_dim // downsample_rate
        self.num_heads = num_heads
        self.q_proj = nn.Linear(embedding_dim, self.internal_dim)
        self.k_proj = nn.Linear(embedding_dim, self.internal_dim)
        self.v_proj = nn.Linear(embedding_dim, self.internal_dim)
        self.out_proj = nn.Linear(self.internal_dim, embedding_dim)

    def split_heads(self, x: torch.Tensor) -> torch.Tensor:
        """B x N x internal -> B x heads x N x head_dim."""
        b, n, c = x.shape
        return x.reshape(b, n, self.num_heads, c // self.num_heads).transpose(1, 2)

    def attend(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        """Head-split projected q, k, v -> B x N x embedding_dim."""
        attn = (q @ k.transpose(-1, -2)) / math.sqrt(q.shape[-1])
        out = torch.softmax(attn, dim=-1) @ v
        b, heads, n, d = out.shape
        return self.out_proj(out.transpose(1, 2).reshape(b, n, heads * d))

    def forward(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        return self.attend(
            self.split_heads(self.q_proj(q)), self.split_heads(self.k_proj(k)), self.split_heads(self.v_proj(v))
        )

    # -- the click path: few tokens against many image tokens ------------------------------------------
    def tokens_attend_image(
        self,
        queries: torch.Tensor,
        image_with_pe: torch.Tensor | None,
        image: torch.Tensor | None,
        cached: tuple[Layer0Projection, Layer0Projection] | None = None,
    ) -> torch.Tensor:
        """``forward(queries, image_with_pe, image)`` for B x T x C ``queries`` and 1|B x P x C image
        tokens, without projecting the image tokens: ``(Q Wk) X^T`` instead of ``Q (X Wk^T)^T``.

        The key bias cancels in the softmax and the value bias passes through it (rows sum
        to one). ``cached``: layer 0's keys and values, projected once per image. The softmax
        scale is applied to the few token-side rows, not to the T x P scores.
        """
        heads = self.num_heads
        q = self.split_heads(self.q_proj(queries))  # B x H x T x D
        b, _, t, d = q.shape
        q = q * (1.0 / math.sqrt(d))
        if cached is not None:
            keys, values = cached
            weights = torch.softmax(keys.scores(q), dim=-1)  # B x H x T x P
            out = values.mix(weights)  # B x H x T x D
        elif self.folds(t):
            wk = self.k_proj.weight.view(heads, d, -1)  # H x D x C
            folded = torch.einsum("bhtd,hdc->bhtc", q, wk).reshape(b, heads * t, -1)
            weights = torch.softmax(gemm.bmm(folded, image_with_pe.transpose(-1, -2)), dim=-1)  # B x HT x P
            mixed = gemm.bmm(weights, image).view(b, heads, t, -1)  # B x H x T x C
            wv = self.v_proj.weight.view(heads, d, -1)
            out = torch.einsum("bhtc,hdc->bhtd", mixed, wv) + self.v_proj.bias.view(1, heads, 1, d)
        else:  # projected image tokens, 1|B x H x P x D
            keys = self.split_heads(gemm.linear(image_with_pe, self.k_proj.weight, self.k_proj.bias))
            weights = torch.softmax(q @ keys.transpose(-1, -2), dim=-1)  # B x H x T x P
            out = weights @ self.split_heads(gemm.linear(image, self.v_proj.weight, self.v_proj.bias))
        return self.out_proj(out.transpose(1, 2).reshape(b, t, heads * d))

    def folds(self, tokens: int) -> bool:
        """Whether folding the image-side projections into ``tokens`` prompt tokens costs less
        than projecting the image: the folded products are H*T wide, the projected ones
        ``internal_dim`` (128 in SAM's decoder, 8 heads: up to 16 tokens fold, i.e. the 5
        output tokens and up to 11 prompt tokens)."""
        return self.num_heads * tokens <= self.internal_dim

    def image_attends_tokens(
        self,
        image_with_pe: torch.Tensor | None,
        token_keys: torch.Tensor,
        token_values: torch.Tensor,
        cached_queries: Layer0Projection | None = None,
        residual: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """``forward(image_with_pe, token_keys, token_values)`` (plus ``residual``): B x P x C.

        ``image_with_pe``: 1|B x P x C; token tensors B x T x C; ``cached_queries``: layer 0's
        image queries; ``residual``: 1|B x P x C, added in the same product.
        """
        heads = self.num_heads
        k = self.split_heads(self.k_proj(token_keys))  # B x H x T x D
        v = self.split_heads(self.v_proj(token_values))
        b, _, t, d = k.shape
        k = k * (1.0 / math.sqrt(d))  # the softmax scale, on the few token-side rows
        # Scores are laid out B x H x T x P so the softmax over the T tokens runs across
        # rows with P contiguous lanes (a softmax over a 7-wide last axis vectorises badly).
        fold = self.folds(t)
        if cached_queries is not None:
            scores = cached_queries.scores(k)  # B x H x T x P
        elif fold:
            wq = self.q_proj.weight.view(heads, d, -1)  # H x D x C
            folded = torch.einsum("hdc,bhtd->bhtc", wq, k).reshape(b, heads * t, -1)  # B x HT x C
            query_bias = torch.einsum("hd,bhtd->bht", self.q_proj.bias.view(heads, d), k)
            scores = gemm.bmm(folded, image_with_pe.transpose(-1, -2)).view(b, heads, t, -1) + query_bias[..., None]
        else:
            queries = self.split_heads(gemm.linear(image_with_pe, self.q_proj.weight, self.q_proj.bias))
            scores = k @ queries.transpose(-1, -2)  # B x H x T x P
        weights = torch.softmax(scores, dim=2)  # B x H x T x P
        if not fold:  # many tokens: mix the values per head, then one output projection
            mixed = weights.transpose(-1, -2) @ v  # B x H x P x D
            rows = mixed.transpose(1, 2).reshape(b, -1, heads * d)
            if residual is not None:
                residual = residual.expand(b, *residual.shape[1:])
            return gemm.linear(rows, self.out_proj.weight, self.out_proj.bias, residual=residual)
        weights = weights.reshape(b, heads * t, -1)  # B x HT x P
        wo = self.out_proj.weight.view(-1, heads, d)  # C x H x D
        projected = torch.einsum("bhtd,chd->bhtc", v, wo).reshape(b, heads * t, -1)  # B x HT x C
        # Each head's weights sum to one over its T tokens, so the output bias can ride on
        # the projected rows (1/H of it per head) and the residual comes in as beta * input.
        projected = projected + self.out_proj.bias / heads
        return gemm.bmm(weights.transpose(1, 2), projected, residual)
