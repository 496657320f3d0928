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
  more than the convolutions themselves on a CPU. For a single prompt the
  upscaled features (12 MB) go to buffers kept with the image, and only the
  masks the caller keeps are formed.

Frames and shapes: ``P`` image tokens (64x64 = 4096), ``C`` = 256 channels,
``H`` = 8 heads of ``D`` = 16, ``T`` prompt tokens, ``B`` prompts in a batch.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

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
    mask_base: torch.Tensor  # 1 x P x C: embedding + the mask embedding's bias
    mask_input: "MaskInputWeights"  # how a mask prompt's features enter layer 0
    heads: "HeadWeights"  # the upscaling and hypernetwork weights in GEMM layout
    buffers: dict = field(default_factory=dict)  # single-prompt intermediates, reused per click


@dataclass
class MaskInputWeights:
    """The prompt encoder's last 1x1 convolution (F = 16 mask features -> C), and the
    same folded into layer 0's three image-side projections.

    A mask prompt replaces ``no_mask_embed`` by ``features @ embed_weight + bias``; the
    layer-0 keys, values and image queries are linear in it, so they are the cached
    ones plus ``features @ layer0_weight + layer0_bias``: a product with 16 features per
    token instead of 256 channels.
    """

    embed_weight: torch.Tensor  # F x C
    layer0_weight: torch.Tensor  # F x 3I: [keys | values | queries], I = attention width
    layer0_bias: torch.Tensor  # 3I: W (embed bias - no_mask_embed) for each projection

    @classmethod
    def of(cls, prompt_encoder: PromptEncoder, decoder: MaskDecoder) -> "MaskInputWeights":
        embed = prompt_encoder.mask_downscaling[-1]
        weight = embed.weight.view(embed.out_channels, -1)  # C x F
        change = embed.bias - prompt_encoder.no_mask_embed.weight[0]  # C
        layer0 = decoder.transformer.layers[0]
        projections = [
            layer0.cross_attn_token_to_image.k_proj.weight,
            layer0.cross_attn_token_to_image.v_proj.weight,
            layer0.cross_attn_image_to_token.q_proj.weight,
        ]  # each I x C
        return cls(
            embed_weight=weight.t().contiguous(),
            layer0_weight=torch.cat([(w @ weight).t() for w in projections], dim=1).contiguous(),
            layer0_bias=torch.cat([w @ change for w in projections]),
        )


@dataclass
class HeadWeights:
    """``MaskDecoder``'s output heads rearranged for :func:`heads_channels_last`.

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
    def of(cls, decoder: MaskDecoder) -> "HeadWeights":
        up1, _, _, up2, _ = decoder.output_upscaling
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


def _heads(x: torch.Tensor, heads: int) -> torch.Tensor:
    """B x N x (H*D) -> B x H x N x D."""
    b, n, c = x.shape
    return x.reshape(b, n, heads, c // heads).transpose(1, 2)


def build_image_cache(prompt_encoder: PromptEncoder, decoder: MaskDecoder, embedding: torch.Tensor) -> ImageCache:
    """``embedding``: 1 x C x h x w image embedding from the encoder."""
    layer0 = decoder.transformer.layers[0]
    heads = layer0.cross_attn_token_to_image.num_heads
    embedding_tokens = embedding.flatten(2).transpose(1, 2).contiguous()
    src = embedding_tokens + prompt_encoder.no_mask_embed.weight
    key_pe = prompt_encoder.get_dense_pe().to(embedding.dtype).flatten(2).transpose(1, 2)
    with_pe = src + key_pe
    t2i, i2t = layer0.cross_attn_token_to_image, layer0.cross_attn_image_to_token
    return ImageCache(
        src=src,
        key_pe=key_pe.contiguous(),
        embedding=embedding,
        layer0_keys=_heads(t2i.k_proj(with_pe), heads).contiguous(),
        layer0_values=_heads(t2i.v_proj(src), heads).contiguous(),
        layer0_image_queries=_heads(i2t.q_proj(with_pe), heads).contiguous(),
        mask_base=embedding_tokens + prompt_encoder.mask_downscaling[-1].bias,
        mask_input=MaskInputWeights.of(prompt_encoder, decoder),
        heads=HeadWeights.of(decoder),
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
    residual: torch.Tensor | None = None,
) -> torch.Tensor:
    """Image tokens attend to the prompt tokens. Returns B x P x C (plus ``residual``).

    ``image_with_pe``: 1|B x P x C; token tensors B x T x C; ``cached_queries``: 1 x H x P x D;
    ``residual``: 1|B x P x C, added to the result in the same product.
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
    layer0 = (cache.layer0_keys, cache.layer0_values, cache.layer0_image_queries)
    if mask_features is None:
        keys = cache.src
    else:
        weights = cache.mask_input
        b = mask_features.shape[0]
        keys = torch.baddbmm(cache.mask_base, mask_features, weights.embed_weight.expand(b, -1, -1))
        shift = torch.baddbmm(weights.layer0_bias, mask_features, weights.layer0_weight.expand(b, -1, -1))
        heads = transformer.layers[0].cross_attn_token_to_image.num_heads
        layer0 = tuple(cached + _heads(part, heads) for cached, part in zip(layer0, shift.chunk(3, dim=-1)))
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
    normed = _buffer(buffers, "up1_normed", (b * p * 4, mid), keys)
    stats = [_buffer(buffers, f"up1_{name}", (b * p * 4, 1), keys) for name in ("mean", "rstd")]
    torch.ops.aten.native_layer_norm.out(
        x.view(-1, mid), (mid,), norm.weight, norm.bias, norm.eps, out0=normed, out1=stats[0], out2=stats[1]
    )
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
