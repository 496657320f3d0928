"""The mask decoder, rearranged for interactive clicks. Same function, less work.

What makes a click cheap:

* **Per-image cache** (:mod:`sam_core.decoder_cache`). Without a ``mask_input``,
  the decoder's image tokens start as ``embedding + no_mask_embed``, and the first
  layer's key/value projections (token->image) and query projection
  (image->token) see only those tokens and the positional encoding: they are
  computed once per image. A ``mask_input`` keeps that cache: its embedding is a
  1x1 convolution of 16 features, so the projections become the cached ones plus
  a product with those features (:func:`mask_input_features`).
* **Few tokens.** A prompt has T ~ 7 tokens and 8 heads, so 56 token-head rows,
  against 128 projected channels for each of 4096 image tokens. Attention that
  crosses between them is computed with the projections folded into the token
  side (``(Q Wk) X^T`` instead of ``Q (X Wk^T)^T``), which needs no per-image-token
  projection at all. The key bias cancels in the softmax and the value bias
  passes through it, because attention rows sum to one.
* **Upscaling as matrix products.** A 2x2, stride-2 transposed convolution maps
  each input pixel to its own 2x2 output block: one GEMM over channels-last
  tokens, then a pixel shuffle. This skips the layout conversions that cost
  more than the convolutions themselves on a CPU. For a single prompt the
  upscaled features (12 MB) go to buffers kept with the image, and only the
  masks the caller keeps are formed.

Frames and shapes: ``P`` image tokens (64x64 = 4096), ``C`` = 256 channels,
``H`` = 8 heads of ``D`` = 16, ``T`` prompt tokens, ``B`` prompts in a batch.
"""
from __future__ import annotations

import math

import torch

from .decoder_cache import ImageCache, Layer0Projection, _heads, build_image_cache
from .modeling.mask_decoder import MaskDecoder
from .modeling.prompt_encoder import PromptEncoder
from .modeling.transformer import Attention

__all__ = ["ImageCache", "build_image_cache", "decode", "mask_input_features"]


def token_to_image(
    attn: Attention,
    queries: torch.Tensor,
    image_with_pe: torch.Tensor | None,
    image: torch.Tensor | None,
    cached_kv: tuple[Layer0Projection, Layer0Projection] | None = None,
) -> torch.Tensor:
    """Tokens attend to image tokens. ``queries``: B x T x C; image tensors 1|B x P x C.

    With ``cached_kv`` (layer 0's keys and values) the image projections are reused.
    The softmax scale is applied to the few token-side rows, not to the T x P scores.
    """
    heads = attn.num_heads
    q = _heads(attn.q_proj(queries), heads)  # B x H x T x D
    b, _, t, d = q.shape
    q = q * (1.0 / math.sqrt(d))
    if cached_kv is not None:
        keys, values = cached_kv
        weights = torch.softmax(keys.scores(q), dim=-1)  # B x H x T x P
        out = values.mix(weights)  # B x H x T x D
    else:
        wk = attn.k_proj.weight.view(heads, d, -1)  # H x D x C
        folded = torch.einsum("bhtd,hdc->bhtc", q, wk).reshape(b, heads * t, -1)
        scores = folded @ image_with_pe.transpose(-1, -2)  # B x HT x P
        weights = torch.softmax(scores, dim=-1)
        mixed = (weights @ image).view(b, heads, t, -1)  # B x H x T x C
        wv = attn.v_proj.weight.view(heads, d, -1)
        out = torch.einsum("bhtc,hdc->bhtd", mixed, wv) + attn.v_proj.bias.view(1, heads, 1, d)
    return attn.out_proj(out.transpose(1, 2).reshape(b, t, heads * d))


def image_to_token(
    attn: Attention,
    image_with_pe: torch.Tensor | None,
    token_keys: torch.Tensor,
    token_values: torch.Tensor,
    cached_queries: Layer0Projection | None = None,
    residual: torch.Tensor | None = None,
) -> torch.Tensor:
    """Image tokens attend to the prompt tokens. Returns B x P x C (plus ``residual``).

    ``image_with_pe``: 1|B x P x C; token tensors B x T x C; ``cached_queries``: layer 0's
    image queries; ``residual``: 1|B x P x C, added to the result in the same product.
    """
    heads = attn.num_heads
    k = _heads(attn.k_proj(token_keys), heads)  # B x H x T x D
    v = _heads(attn.v_proj(token_values), heads)
    b, _, t, d = k.shape
    k = k * (1.0 / math.sqrt(d))  # the softmax scale, on the few token-side rows
    # Scores are laid out B x H x T x P so the softmax over the T tokens runs across
    # rows with P contiguous lanes (a softmax over a 7-wide last axis vectorises badly).
    if cached_queries is not None:
        scores = cached_queries.scores(k)  # B x H x T x P
    else:
        wq = attn.q_proj.weight.view(heads, d, -1)  # H x D x C
        folded = torch.einsum("hdc,bhtd->bhtc", wq, k).reshape(b, heads * t, -1)  # B x HT x C
        query_bias = torch.einsum("hd,bhtd->bht", attn.q_proj.bias.view(heads, d), k)
        scores = (folded @ image_with_pe.transpose(-1, -2)).view(b, heads, t, -1) + query_bias[..., None]
    weights = torch.softmax(scores, dim=2).reshape(b, heads * t, -1)  # B x HT x P
    wo = attn.out_proj.weight.view(-1, heads, d)  # C x H x D
    projected = torch.einsum("bhtd,chd->bhtc", v, wo).reshape(b, heads * t, -1)  # B x HT x C
    # Each head's weights sum to one over its T tokens, so the output bias can ride on
    # the projected rows (1/H of it per head) and the residual comes in as beta * input.
    projected = projected + attn.out_proj.bias / heads
    if residual is None:
        return torch.bmm(weights.transpose(1, 2), projected)
    return torch.baddbmm(residual, weights.transpose(1, 2), projected)


def mask_input_features(prompt_encoder: PromptEncoder, masks: torch.Tensor) -> torch.Tensor:
    """``PromptEncoder.mask_downscaling`` up to its last 1x1 convolution, on B x 1 x 4h x 4w
    mask logits: B x (h*w) x F token-major features (F = 16), for :func:`decode`.

    Each 2x2, stride-2 convolution is a GEMM over 2x2 patches in channels-last
    layout, which skips the layout conversions the convolutions need on a CPU.
    """
    conv1, norm1, _, conv2, norm2, _, _ = prompt_encoder.mask_downscaling
    b, _, height, width = masks.shape
    x = masks.reshape(b, height // 2, 2, width // 2, 2).permute(0, 1, 3, 2, 4).reshape(-1, 4)
    x = torch.addmm(conv1.bias, x, conv1.weight.reshape(conv1.out_channels, 4).t())
    x = torch.nn.functional.layer_norm(x, (conv1.out_channels,), norm1.weight, norm1.bias, norm1.eps)
    x = torch.nn.functional.gelu(x)
    channels = conv1.out_channels
    # (b, row, 2, col, 2, channel) patches -> (di, dj, channel) rows, as the weight is permuted
    x = x.view(b, height // 4, 2, width // 4, 2, channels).permute(0, 1, 3, 2, 4, 5).reshape(-1, 4 * channels)
    x = torch.addmm(conv2.bias, x, conv2.weight.permute(0, 2, 3, 1).reshape(conv2.out_channels, -1).t())
    x = torch.nn.functional.layer_norm(x, (conv2.out_channels,), norm2.weight, norm2.bias, norm2.eps)
    return torch.nn.functional.gelu(x).view(b, (height // 4) * (width // 4), conv2.out_channels)


def decode(
    decoder: MaskDecoder,
    cache: ImageCache,
    sparse: torch.Tensor,
    mask_features: torch.Tensor | None = None,
    keep: slice = slice(None),
) -> tuple[torch.Tensor, torch.Tensor]:
    """Low-res masks (B x M x 4h x 4w logits, M = the ``keep`` part of the 4 outputs) and
    IoU scores (B x M).

    ``sparse``: B x T x C prompt tokens. ``mask_features``: B x P x F from
    :func:`mask_input_features` for a mask prompt, else None (``no_mask_embed``).
    ``keep``: which of the 4 outputs (0: single mask, 1-3: the multimask candidates) to form.
    """
    transformer = decoder.transformer
    batch = sparse.shape[0]
    tokens = torch.cat([decoder.output_tokens(batch).to(sparse.dtype), sparse], dim=1)
    point_pe = tokens
    key_pe = cache.key_pe
    if mask_features is None:
        keys = cache.src
    else:
        b = mask_features.shape[0]
        keys = torch.baddbmm(cache.mask_base, mask_features, cache.mask_embed_weight.expand(b, -1, -1))
    layer0 = cache.layer0(mask_features)
    queries = tokens
    for index, layer in enumerate(transformer.layers):
        use_cache = index == 0
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
            layer0[:2] if use_cache else None,
        )
        queries = layer.norm2(queries + attn_out)
        queries = layer.norm3(queries + layer.mlp(queries))
        keys = image_to_token(
            layer.cross_attn_image_to_token,
            keys_with_pe,
            queries + point_pe,
            queries,
            layer0[2] if use_cache else None,
            residual=keys,
        )
        keys = layer.norm4(keys)
    final = token_to_image(transformer.final_attn_token_to_image, queries + point_pe, keys + key_pe, keys)
    queries = transformer.norm_final_attn(queries + final)
    h, w = cache.embedding.shape[-2:]
    masks, iou = heads_channels_last(decoder, cache, queries, keys, (h, w), keep)
    return masks, iou[:, keep]


def heads_channels_last(
    decoder: MaskDecoder,
    cache: ImageCache,
    hs: torch.Tensor,
    keys: torch.Tensor,
    grid: tuple[int, int],
    keep: slice = slice(None),
) -> tuple[torch.Tensor, torch.Tensor]:
    """``MaskDecoder.heads`` on token-major image features.

    ``hs``: B x N x C decoder tokens; ``keys``: B x P x C image tokens (row-major over
    ``grid``). Returns (masks B x M x 4h x 4w for the ``keep`` part of the mask tokens,
    iou B x 4).
    """
    weights = cache.heads
    _, norm, _, _, _ = decoder.output_upscaling
    b, p, c = keys.shape
    mid, out = weights.up2_weight.shape[0], weights.up2_weight.shape[1] // 4
    # One prompt: the 4 and 8 MB intermediates go to buffers kept with the image (fresh
    # ones cost page faults on every click); a batch gets its own.
    buffers = cache.buffers if b == 1 else {}
    x = _buffer(buffers, "up1", (b * p, 4 * mid), keys)
    torch.addmm(weights.up1_bias, keys.reshape(b * p, c), weights.up1_weight, out=x)
    normed = torch.nn.functional.layer_norm(x.view(-1, mid), (mid,), norm.weight, norm.bias, norm.eps)
    torch.ops.aten.gelu_(normed)
    x = _buffer(buffers, "up2", (b * p * 4, 4 * out), keys)
    torch.addmm(weights.up2_bias, normed, weights.up2_weight, out=x)
    torch.ops.aten.gelu_(x)
    hyper = hs[:, 1 : 1 + decoder.num_mask_tokens, :][:, keep].transpose(0, 1)  # M x B x C
    layers = list(zip(weights.hyper_weights, weights.hyper_biases))
    for i, (weight, bias) in enumerate(layers):
        hyper = torch.baddbmm(bias[keep], hyper, weight[keep])
        if i < len(layers) - 1:
            hyper = torch.relu(hyper)
    masks = torch.bmm(x.view(b, p * 16, out), hyper.permute(1, 2, 0))  # B x (P*16) x M
    h, w = grid
    # (i, j, di, dj, di2, dj2, m) -> (m, 4i+2di+di2, 4j+2dj+dj2)
    masks = masks.view(b, h, w, 2, 2, 2, 2, -1).permute(0, 7, 1, 3, 5, 2, 4, 6).reshape(b, -1, 4 * h, 4 * w)
    return masks, decoder.iou_prediction_head(hs[:, 0, :])


def _buffer(buffers: dict, name: str, shape: tuple[int, ...], like: torch.Tensor) -> torch.Tensor:
    """A tensor of ``shape`` kept in ``buffers`` under (name, shape, dtype, device)."""
    key = (name, shape, like.dtype, like.device)
    if key not in buffers:
        buffers[key] = like.new_empty(shape)
    return buffers[key]
