"""The mask decoder, rearranged for interactive clicks. Same function, less work.

Two facts make a click cheap:

* **Per-image cache.** Without a ``mask_input``, the decoder's image tokens
  start as ``embedding + no_mask_embed``, and the first layer's key/value
  projections (token->image) and query projection (image->token) see only
  those tokens and the positional encoding. :func:`build_image_cache`
  computes them once per image.
* **Few tokens.** A prompt has T ~ 7 tokens and 8 heads, so 56 token-head rows,
  against 128 projected channels for each of 4096 image tokens. Attention that
  crosses between them is computed with the projections folded into the token
  side (``(Q Wk) X^T`` instead of ``Q (X Wk^T)^T``), which needs no per-image-token
  projection at all. The key bias cancels in the softmax and the value bias
  passes through it, because attention rows sum to one.
* **Upscaling as matrix products.** A 2x2, stride-2 transposed convolution maps
  each input pixel to its own 2x2 output block: one GEMM over channels-last
  tokens, then a pixel shuffle. This skips the layout conversions that cost
  more than the convolutions themselves on a CPU.

Frames and shapes: ``P`` image tokens (64x64 = 4096), ``C`` = 256 channels,
``H`` = 8 heads of ``D`` = 16, ``T`` prompt tokens, ``B`` prompts in a batch.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from .modeling.mask_decoder import MaskDecoder
from .modeling.prompt_encoder import PromptEncoder
from .modeling.transformer import Attention


@dataclass
class ImageCache:
    """What the decoder needs per image, independent of the prompt (batch of 1)."""

    src: torch.Tensor  # 1 x P x C: embedding + no_mask_embed
    key_pe: torch.Tensor  # 1 x P x C: dense positional encoding
    embedding: torch.Tensor  # 1 x C x h x w: the raw image embedding
    layer0_keys: torch.Tensor  # 1 x H x P x D: token->image keys of layer 0
    layer0_values: torch.Tensor  # 1 x H x P x D: token->image values of layer 0
    layer0_image_queries: torch.Tensor  # 1 x H x P x D: image->token queries of layer 0


def _heads(x: torch.Tensor, heads: int) -> torch.Tensor:
    """B x N x (H*D) -> B x H x N x D."""
    b, n, c = x.shape
    return x.reshape(b, n, heads, c // heads).transpose(1, 2)


def build_image_cache(prompt_encoder: PromptEncoder, decoder: MaskDecoder, embedding: torch.Tensor) -> ImageCache:
    """``embedding``: 1 x C x h x w image embedding from the encoder."""
    layer0 = decoder.transformer.layers[0]
    heads = layer0.cross_attn_token_to_image.num_heads
    src = (embedding + prompt_encoder.no_mask_embed.weight.reshape(1, -1, 1, 1)).flatten(2).transpose(1, 2)
    key_pe = prompt_encoder.get_dense_pe().to(embedding.dtype).flatten(2).transpose(1, 2)
    with_pe = src + key_pe
    t2i, i2t = layer0.cross_attn_token_to_image, layer0.cross_attn_image_to_token
    return ImageCache(
        src=src.contiguous(),
        key_pe=key_pe.contiguous(),
        embedding=embedding,
        layer0_keys=_heads(t2i.k_proj(with_pe), heads).contiguous(),
        layer0_values=_heads(t2i.v_proj(src), heads).contiguous(),
        layer0_image_queries=_heads(i2t.q_proj(with_pe), heads).contiguous(),
    )


def token_to_image(
    attn: Attention,
    queries: torch.Tensor,
    image_with_pe: torch.Tensor | None,
    image: torch.Tensor | None,
    cached_kv: tuple[torch.Tensor, torch.Tensor] | None = None,
) -> torch.Tensor:
    """Tokens attend to image tokens. ``queries``: B x T x C; image tensors 1|B x P x C.

    With ``cached_kv`` (keys, values: 1 x H x P x D) the image projections are reused.
    """
    heads = attn.num_heads
    q = _heads(attn.q_proj(queries), heads)  # B x H x T x D
    b, _, t, d = q.shape
    scale = 1.0 / math.sqrt(d)
    if cached_kv is not None:
        keys, values = cached_kv
        weights = torch.softmax((q @ keys.transpose(-1, -2)) * scale, dim=-1)  # B x H x T x P
        out = weights @ values  # B x H x T x D
    else:
        wk = attn.k_proj.weight.view(heads, d, -1)  # H x D x C
        folded = torch.einsum("bhtd,hdc->bhtc", q, wk).reshape(b, heads * t, -1)
        scores = folded @ image_with_pe.transpose(-1, -2)  # B x HT x P
        weights = torch.softmax(scores * scale, dim=-1)
        mixed = (weights @ image).view(b, heads, t, -1)  # B x H x T x C
        wv = attn.v_proj.weight.view(heads, d, -1)
        out = torch.einsum("bhtc,hdc->bhtd", mixed, wv) + attn.v_proj.bias.view(1, heads, 1, d)
    return attn.out_proj(out.transpose(1, 2).reshape(b, t, heads * d))


def image_to_token(
    attn: Attention,
    image_with_pe: torch.Tensor | None,
    token_keys: torch.Tensor,
    token_values: torch.Tensor,
    cached_queries: torch.Tensor | None = None,
) -> torch.Tensor:
    """Image tokens attend to the prompt tokens. Returns B x P x C.

    ``image_with_pe``: 1|B x P x C; token tensors B x T x C; ``cached_queries``: 1 x H x P x D.
    """
    heads = attn.num_heads
    k = _heads(attn.k_proj(token_keys), heads)  # B x H x T x D
    v = _heads(attn.v_proj(token_values), heads)
    b, _, t, d = k.shape
    scale = 1.0 / math.sqrt(d)
    # Scores are laid out B x H x T x P so the softmax over the T tokens runs across
    # rows with P contiguous lanes (a softmax over a 7-wide last axis vectorises badly).
    if cached_queries is not None:
        scores = k @ cached_queries.transpose(-1, -2)  # B x H x T x P
    else:
        wq = attn.q_proj.weight.view(heads, d, -1)  # H x D x C
        folded = torch.einsum("hdc,bhtd->bhtc", wq, k).reshape(b, heads * t, -1)  # B x HT x C
        query_bias = torch.einsum("hd,bhtd->bht", attn.q_proj.bias.view(heads, d), k)
        scores = (folded @ image_with_pe.transpose(-1, -2)).view(b, heads, t, -1) + query_bias[..., None]
    weights = torch.softmax(scores * scale, dim=2).reshape(b, heads * t, -1)  # B x HT x P
    wo = attn.out_proj.weight.view(-1, heads, d)  # C x H x D
    projected = torch.einsum("bhtd,chd->bhtc", v, wo).reshape(b, heads * t, -1)  # B x HT x C
    return torch.baddbmm(attn.out_proj.bias.expand(b, 1, -1), weights.transpose(1, 2), projected)


def decode(
    decoder: MaskDecoder,
    cache: ImageCache,
    sparse: torch.Tensor,
    dense: torch.Tensor | None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """All 4 low-res masks (B x 4 x 4h x 4w logits) and IoU scores (B x 4).

    ``dense`` is the mask-input embedding (B x C x h x w), or None for no mask input,
    in which case the cached first layer is used.
    """
    transformer = decoder.transformer
    batch = sparse.shape[0]
    tokens = torch.cat([decoder.output_tokens(batch).to(sparse.dtype), sparse], dim=1)
    point_pe = tokens
    key_pe = cache.key_pe
    if dense is None:
        keys = cache.src
    else:
        # Token-major and contiguous: every later elementwise op over the 4096 tokens
        # runs several times slower on a transposed view.
        keys = (cache.embedding + dense).flatten(2).transpose(1, 2).contiguous()
    queries = tokens
    for index, layer in enumerate(transformer.layers):
        use_cache = index == 0 and dense is None
        if layer.skip_first_layer_pe:
            queries = layer.self_attn(queries, queries, queries)
        else:
            q = queries + point_pe
            queries = queries + layer.self_attn(q, q, queries)
        queries = layer.norm1(queries)
        keys_with_pe = None if use_cache else keys + key_pe
        attn_out = token_to_image(
            layer.cross_attn_token_to_image,
            queries + point_pe,
            keys_with_pe,
            keys,
            (cache.layer0_keys, cache.layer0_values) if use_cache else None,
        )
        queries = layer.norm2(queries + attn_out)
        queries = layer.norm3(queries + layer.mlp(queries))
        image_out = image_to_token(
            layer.cross_attn_image_to_token,
            keys_with_pe,
            queries + point_pe,
            queries,
            cache.layer0_image_queries if use_cache else None,
        )
        keys = layer.norm4(keys + image_out)
    final = token_to_image(transformer.final_attn_token_to_image, queries + point_pe, keys + key_pe, keys)
    queries = transformer.norm_final_attn(queries + final)
    h, w = cache.embedding.shape[-2:]
    return heads_channels_last(decoder, queries, keys, (h, w))


def heads_channels_last(
    decoder: MaskDecoder, hs: torch.Tensor, keys: torch.Tensor, grid: tuple[int, int]
) -> tuple[torch.Tensor, torch.Tensor]:
    """``MaskDecoder.heads`` on token-major image features.

    ``hs``: B x N x C decoder tokens; ``keys``: B x P x C image tokens (row-major over
    ``grid``). Returns (masks B x 4 x 4h x 4w, iou B x 4).
    """
    up1, norm, _, up2, _ = decoder.output_upscaling
    b, p, c = keys.shape
    mid, out = up1.weight.shape[1], up2.weight.shape[1]
    # ConvTranspose2d weight: in x out x 2 x 2 -> in x (2*2*out), output blocks (di, dj, channel).
    w1 = up1.weight.permute(0, 2, 3, 1).reshape(c, 4 * mid)
    w2 = up2.weight.permute(0, 2, 3, 1).reshape(mid, 4 * out)
    x = torch.addmm(up1.bias.repeat(4), keys.reshape(b * p, c), w1).view(b, p, 4, mid)
    x = torch.nn.functional.gelu(torch.nn.functional.layer_norm(x, (mid,), norm.weight, norm.bias, norm.eps))
    x = torch.addmm(up2.bias.repeat(4), x.reshape(-1, mid), w2).view(b, p, 4, 4, out)
    x = torch.nn.functional.gelu(x)
    mask_tokens = hs[:, 1 : 1 + decoder.num_mask_tokens, :]
    hyper_in = torch.stack(
        [mlp(mask_tokens[:, i, :]) for i, mlp in enumerate(decoder.output_hypernetworks_mlps)], dim=1
    )  # B x M x out
    masks = torch.bmm(x.view(b, p * 16, out), hyper_in.transpose(1, 2))  # B x (P*16) x M
    h, w = grid
    # (i, j, di, dj, di2, dj2, m) -> (m, 4i+2di+di2, 4j+2dj+dj2)
    masks = masks.view(b, h, w, 2, 2, 2, 2, -1).permute(0, 7, 1, 3, 5, 2, 4, 6).reshape(b, -1, 4 * h, 4 * w)
    return masks, decoder.iou_prediction_head(hs[:, 0, :])
