"""Mask decoder: turns an image embedding and prompt embeddings into masks and IoU scores.

Two forwards with one function: ``forward`` is the reference arithmetic;
:meth:`MaskDecoder.decode_cached` is the click path, which reuses what
:meth:`MaskDecoder.build_image_cache` keeps per image and
runs the output heads as GEMMs on token-major features. Shapes there: ``P`` image
tokens (64x64), ``C`` = 256 channels, ``T`` prompt tokens, ``B`` prompts.
"""
from __future__ import annotations

from functools import lru_cache

import torch
from torch import nn
from torch.nn import functional as F

from ..utils import gemm
from .common import LayerNorm2d, plain_linear
from .decoder_cache import HeadWeights, ImageCache, Layer0Projection
from .prompt_encoder import PromptEncoder
from .transformer import Attention, TwoWayTransformer


class OutputUpscaling(nn.Sequential):
    """Two 2x2 stride-2 transposed convolutions (LayerNorm, GELU between, GELU after):
    C x h x w -> C/8 x 4h x 4w. A ``Sequential`` so the keys stay Meta's
    (``output_upscaling.0.weight`` ...); the layers are named here, once."""

    def __init__(self, transformer_dim: int) -> None:
        super().__init__(
            nn.ConvTranspose2d(transformer_dim, transformer_dim // 4, kernel_size=2, stride=2),
            LayerNorm2d(transformer_dim // 4),
            nn.GELU(),
            nn.ConvTranspose2d(transformer_dim // 4, transformer_dim // 8, kernel_size=2, stride=2),
            nn.GELU(),
        )

    up1 = property(lambda self: self[0])
    norm = property(lambda self: self[1])
    up2 = property(lambda self: self[3])


class MaskDecoder(nn.Module):
    """Predicts 1 + ``num_multimask_outputs`` low-res masks (256x256 logits) with IoU scores.

    Output 0 is the single-mask answer; outputs 1..3 are the ambiguity-aware candidates.
    Subclasses (SAM 2's) put extra output tokens before the IoU token: ``token_offset``
    says how many.
    """

    token_offset: int = 0

    def __init__(
        self,
        transformer_dim: int = 256,
        transformer: TwoWayTransformer | None = None,
        num_multimask_outputs: int = 3,
        iou_head_depth: int = 3,
        iou_head_hidden_dim: int = 256,
    ) -> None:
        super().__init__()
        self.transformer_dim = transformer_dim
        self.transformer = transformer if transformer is not None else TwoWayTransformer()
        self.num_mask_tokens = num_multimask_outputs + 1
        self.iou_token = nn.Embedding(1, transformer_dim)
        self.mask_tokens = nn.Embedding(self.num_mask_tokens, transformer_dim)
        self.output_upscaling = OutputUpscaling(transformer_dim)
        self.output_hypernetworks_mlps = nn.ModuleList(
            MLP(transformer_dim, transformer_dim, transformer_dim // 8, 3) for _ in range(self.num_mask_tokens)
        )
        self.iou_prediction_head = MLP(transformer_dim, iou_head_hidden_dim, self.num_mask_tokens, iou_head_depth)

    def output_tokens(self, batch: int) -> torch.Tensor:
        """The learned IoU token followed by the mask tokens: B x (1+num_mask_tokens) x C."""
        tokens = torch.cat([self.iou_token.weight, self.mask_tokens.weight], dim=0)
        return tokens.unsqueeze(0).expand(batch, -1, -1)

    def forward(
        self,
        image_embeddings: torch.Tensor,
        image_pe: torch.Tensor,
        sparse_prompt_embeddings: torch.Tensor,
        dense_prompt_embeddings: torch.Tensor,
        multimask_output: bool,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Returns (masks Bx{3|1}x256x256 logits, iou Bx{3|1})."""
        masks, iou = self.predict_masks(
            image_embeddings, image_pe, sparse_prompt_embeddings, dense_prompt_embeddings
        )
        keep = slice(1, None) if multimask_output else slice(0, 1)
        return masks[:, keep], iou[:, keep]

    def predict_masks(
        self,
        image_embeddings: torch.Tensor,
        image_pe: torch.Tensor,
        sparse_prompt_embeddings: torch.Tensor,
        dense_prompt_embeddings: torch.Tensor,
        high_res_features: tuple[torch.Tensor, torch.Tensor] | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """All 4 masks and IoU scores. ``image_embeddings`` is 1xCxHxW or BxCxHxW;
        ``high_res_features`` only for decoders that use them (SAM 2)."""
        batch = sparse_prompt_embeddings.shape[0]
        tokens = torch.cat([self.output_tokens(batch), sparse_prompt_embeddings], dim=1)
        src = image_embeddings
        if src.shape[0] != batch:
            src = src.expand(batch, -1, -1, -1)
        src = src + dense_prompt_embeddings
        pos = image_pe if image_pe.shape[0] == batch else image_pe.expand(batch, -1, -1, -1)
        b, c, h, w = src.shape
        hs, src = self.transformer(src, pos, tokens)
        return self.heads(hs, src.transpose(1, 2).reshape(b, c, h, w), high_res_features)

    def upscale(self, src: torch.Tensor, high_res_features=None) -> torch.Tensor:
        """Image features BxCxHxW -> BxC/8x4Hx4W (SAM 2 adds its high-res features here)."""
        return self.output_upscaling(src)

    def heads(
        self, hs: torch.Tensor, src: torch.Tensor, high_res_features=None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Decoder tokens BxNxC and image features BxCxHxW -> (masks Bx4x4Hx4W, iou Bx4)."""
        s = self.token_offset
        mask_tokens_out = hs[:, s + 1 : s + 1 + self.num_mask_tokens, :]
        upscaled = self.upscale(src, high_res_features)
        b, c, h, w = upscaled.shape
        hyper_in = torch.stack(
            [mlp(mask_tokens_out[:, i, :]) for i, mlp in enumerate(self.output_hypernetworks_mlps)], dim=1
        )
        masks = (hyper_in @ upscaled.reshape(b, c, h * w)).reshape(b, -1, h, w)
        return masks, self.iou_prediction_head(hs[:, s, :])

    # -- the click path ----------------------------------------------------------------------------------
    def build_image_cache(self, prompt_encoder: PromptEncoder, embedding: torch.Tensor) -> ImageCache:
        """What :meth:`decode_cached` reuses for every prompt on one image; ``embedding``:
        1 x C x h x w from the encoder."""
        layer0 = self.transformer.layers[0]
        t2i, i2t = layer0.cross_attn_token_to_image, layer0.cross_attn_image_to_token
        embedding_tokens = embedding.flatten(2).transpose(1, 2).contiguous()
        src = embedding_tokens + prompt_encoder.no_mask_embed.weight
        key_pe = prompt_encoder.get_dense_pe().to(embedding.dtype).flatten(2).transpose(1, 2).contiguous()
        with_pe = src + key_pe
        # A mask prompt replaces no_mask_embed by features @ W^T + b (the last 1x1 convolution),
        # which shifts each projection Wp x + bp by (Wp W) features + Wp (b - no_mask_embed).
        mask_embed = prompt_encoder.mask_downscaling.embed
        mask_weight = mask_embed.weight.view(mask_embed.out_channels, -1)  # C x F
        change = mask_embed.bias - prompt_encoder.no_mask_embed.weight[0]  # C

        def projection(attn: Attention, linear: nn.Linear, tokens: torch.Tensor) -> Layer0Projection:
            width, heads = linear.out_features, attn.num_heads
            return Layer0Projection(
                base=attn.split_heads(linear(tokens)).contiguous(),
                weight=(linear.weight @ mask_weight).t().reshape(-1, heads, width // heads).transpose(0, 1).contiguous(),
                bias=(linear.weight @ change).view(heads, 1, width // heads),
            )

        return ImageCache(
            src=src,
            key_pe=key_pe,
            embedding=embedding,
            mask_base=embedding_tokens + mask_embed.bias,
            mask_embed_weight=mask_weight.t().contiguous(),
            layer0_keys=projection(t2i, t2i.k_proj, with_pe),
            layer0_values=projection(t2i, t2i.v_proj, src),
            layer0_image_queries=projection(i2t, i2t.q_proj, with_pe),
            heads=HeadWeights.of(self),
        )

    def decode_cached(
        self,
        cache: ImageCache,
        sparse: torch.Tensor,
        mask_features: torch.Tensor | None = None,
        keep: slice = slice(None),
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``predict_masks`` for one image's ``cache``: (low-res masks B x M x 4h x 4w logits,
        IoU B x M), M = the ``keep`` part of the 4 outputs (0: single mask, 1-3: candidates).

        ``sparse``: B x T x C prompt tokens. ``mask_features``: B x P x F from
        :meth:`MaskDownscaling.features` for a mask prompt, else None (``no_mask_embed``).
        Only the IoU token and the kept mask tokens go through the final attention.
        """
        s = self.token_offset
        kept = range(self.num_mask_tokens)[keep]
        read = [s] + [s + 1 + m for m in kept]  # the IoU token, then the kept mask tokens
        queries, keys = self.transformer_cached(cache, sparse, mask_features, read)
        grid = tuple(cache.embedding.shape[-2:])
        masks, iou = self.heads_token_major(cache, queries[:, 0], queries[:, 1:], keys, grid, keep)
        return masks, iou[:, keep]

    def transformer_cached(
        self,
        cache: ImageCache,
        sparse: torch.Tensor,
        mask_features: torch.Tensor | None,
        read: list[int] | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The two-way transformer of :meth:`decode_cached`: (tokens B x N x C, image tokens
        B x P x C).

        ``read``: the indices of the tokens whose output is wanted (the output tokens come
        first, then the prompt's); only they go through the final token-to-image attention,
        whose queries are independent of one another, and N = len(read), in that order.
        None: every token, N = 5 + T in SAM v1.
        """
        transformer = self.transformer
        tokens = torch.cat([self.output_tokens(sparse.shape[0]).to(sparse.dtype), sparse], dim=1)
        point_pe, key_pe = tokens, cache.key_pe
        if mask_features is None:
            keys = cache.src
        else:
            b = mask_features.shape[0]
            keys = torch.baddbmm(cache.mask_base, mask_features, cache.mask_embed_weight.expand(b, -1, -1))
        layer0 = cache.layer0(mask_features)
        queries = tokens
        for index, layer in enumerate(transformer.layers):
            first = index == 0  # its image-side projections are in the cache
            if layer.skip_first_layer_pe:
                queries = layer.self_attn(queries, queries, queries)
            else:
                q = queries + point_pe
                queries = queries + layer.self_attn(q, q, queries)
            queries = layer.norm1(queries)
            keys_with_pe = None if first else keys + key_pe
            attn_out = layer.cross_attn_token_to_image.tokens_attend_image(
                queries + point_pe, keys_with_pe, keys, layer0[:2] if first else None)
            queries = layer.norm2(queries + attn_out)
            queries = layer.norm3(queries + layer.mlp(queries))
            keys = layer.cross_attn_image_to_token.image_attends_tokens(
                keys_with_pe, queries + point_pe, queries, layer0[2] if first else None, residual=keys)
            keys = layer.norm4(keys)
        if read is not None:
            queries, point_pe = queries[:, read], point_pe[:, read]
        final = transformer.final_attn_token_to_image.tokens_attend_image(queries + point_pe, keys + key_pe, keys)
        return transformer.norm_final_attn(queries + final), keys

    def heads_token_major(
        self,
        cache: ImageCache,
        iou_token: torch.Tensor,
        mask_tokens: torch.Tensor,
        keys: torch.Tensor,
        grid: tuple[int, int],
        keep: slice = slice(None),
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """:meth:`heads` on token-major image features, with the weights of ``cache.heads``.

        ``iou_token``: B x C, the IoU token's output; ``mask_tokens``: B x M x C, the outputs
        of the mask tokens ``keep`` picks out of the 4 (whose hypernetworks are used);
        ``keys``: B x P x C image tokens (row-major over ``grid``). Returns (masks
        B x M x 4h x 4w, iou B x 4).
        """
        weights = cache.heads
        b, p, _ = keys.shape
        x = self.upscale_token_major(cache, keys)
        out = x.shape[-1]
        hyper = mask_tokens.transpose(0, 1)  # M x B x C
        layers = list(zip(weights.hyper_weights, weights.hyper_biases))
        for i, (weight, bias) in enumerate(layers):
            hyper = torch.baddbmm(bias[keep], hyper, weight[keep])
            if i < len(layers) - 1:
                hyper = torch.relu(hyper)
        # M rows times P*16 columns: a GEMM with a long output row (P*16 x M, M = 3, ran ~3x slower).
        masks = gemm.bmm(hyper.transpose(0, 1), x.view(b, p * 16, out).transpose(1, 2))  # B x M x (P*16)
        h, w = grid
        # (m, i, j, di, dj, di2, dj2) -> (m, 4i+2di+di2, 4j+2dj+dj2), by one gather (an 8-D
        # permute copy of 2-float runs took ~6x as long)
        order = _pixel_order(h, w, masks.device)
        masks = torch.index_select(masks.view(-1, p * 16), 1, order).view(b, -1, 4 * h, 4 * w)
        return masks, self.iou_prediction_head(iou_token)

    def upscale_token_major(self, cache: ImageCache, keys: torch.Tensor) -> torch.Tensor:
        """``output_upscaling`` as two GEMMs on B x P x C image tokens: B x (P*16) x C/8, rows
        ordered (i, j, di, dj, di2, dj2) for the pixel (4i+2di+di2, 4j+2dj+dj2)."""
        weights = cache.heads
        norm = self.output_upscaling.norm
        b, p, c = keys.shape
        mid, out = weights.up2_weight.shape[0], weights.up2_weight.shape[1] // 4
        # A few prompts: the 4 and 8 MB intermediates (per prompt) go to buffers kept with the
        # image (fresh ones cost page faults on every click and every pass); a batch gets its own.
        buffers = cache.buffers if b <= 4 else {}
        x = gemm.linear(keys.reshape(b * p, c), weights.up1_weight.t(), weights.up1_bias,
                        out=_buffer(buffers, "up1", (b * p, 4 * mid), keys))  # fmt: skip
        if cache.high_res_s1 is not None:
            x.view(b, p, -1).add_(cache.high_res_s1)
        normed = F.layer_norm(x.view(-1, mid), (mid,), norm.weight, norm.bias, norm.eps)
        torch.ops.aten.gelu_(normed)
        buffer = _buffer(buffers, "up2", (b * p * 4, 4 * out), keys)
        if cache.high_res_s0 is None:
            x = gemm.linear(normed, weights.up2_weight.t(), weights.up2_bias, gelu=True, out=buffer)
        else:
            x = gemm.linear(normed, weights.up2_weight.t(), weights.up2_bias, out=buffer)
            torch.ops.aten.gelu_(x.view(b, p * 4, -1).add_(cache.high_res_s0))
        return x.view(b, p * 16, out)


@lru_cache(maxsize=8)
def _pixel_order(h: int, w: int, device: torch.device) -> torch.Tensor:
    """For each low-res pixel (row-major over 4h x 4w), its column in the decoder's mask
    product, whose columns run (i, j, di, dj, di2, dj2) for the pixel (4i+2di+di2,
    4j+2dj+dj2): an int32 index of 16*h*w."""
    columns = torch.arange(16 * h * w, dtype=torch.int32).view(h, w, 2, 2, 2, 2)
    return columns.permute(0, 2, 4, 1, 3, 5).reshape(-1).contiguous().to(device)


def _buffer(buffers: dict, name: str, shape: tuple[int, ...], like: torch.Tensor) -> torch.Tensor:
    """A tensor of ``shape`` kept in ``buffers`` under (name, shape, dtype, device)."""
    key = (name, shape, like.dtype, like.device)
    if key not in buffers:
        buffers[key] = like.new_empty(shape)
    return buffers[key]


class MLP(nn.Module):
    """``num_layers`` linear layers with ``activation`` between them, optionally a sigmoid after
    (SAM 2's IoU head); keys ``layers.0`` ... as in both references."""

    def __init__(
        self,
        input_dim: int,
        hidden_dim: int,
        output_dim: int,
        num_layers: int,
        activation: type[nn.Module] = nn.ReLU,
        sigmoid_output: bool = False,
    ) -> None:
        super().__init__()
        dims = [input_dim] + [hidden_dim] * (num_layers - 1) + [output_dim]
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(dims[:-1], dims[1:]))
        self.act = activation()
        self.sigmoid_output = sigmoid_output

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        in_place = not torch.is_grad_enabled() and isinstance(self.act, nn.ReLU)
        for i, layer in enumerate(self.layers):
            # gemm: SAM 2's token MLP (T x 256 x 2048) is faster on oneDNN; the small heads stay with torch
            x = gemm.linear(x, layer.weight, layer.bias) if plain_linear(layer) else layer(x)
            if i < len(self.layers) - 1:
                x = torch.relu_(x) if in_place else self.act(x)
        return torch.sigmoid(x) if self.sigmoid_output else x
