"""TinyViT's inference path: channels-last tokens, folded BatchNorms, bands of rows, kept buffers.

Same arithmetic as :class:`~sam_core.modeling.tiny_vit.TinyViT`'s modules (float
rounding aside), reading the same weights:

* stage 0 and the stem run a band of rows at a time (:mod:`.rows`), so the 64 MB
  hidden maps of the MBConv blocks never exist whole;
* windowed attention gathers the normalised tokens into window order once; the padding
  tokens the reference adds are zeros before the LayerNorm, so their rows are the norm's
  bias; the per-head bias table goes to SDPA as a mask;
* the MLP runs in row chunks whose hidden layer stays in cache, its residual folded
  into the second GEMM.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from .rows import band_rows, buffer, conv_rows, linear_rows

MLP_ROWS = 1024  # tokens per MLP chunk: a 4x-wide hidden chunk stays within a core's L2


def encode(encoder, x: torch.Tensor, workspace: dict) -> tuple[torch.Tensor, torch.Tensor]:
    """(embedding B x 256 x h x w, stage-1 output B x h1 x w1 x C1) for a TinyViT ``encoder``;
    ``x``: B x 3 x S x S. Images of a batch run one after the other."""
    if x.shape[0] > 1:
        results = [encode(encoder, image[None], workspace) for image in x]
        return torch.cat([r[0] for r in results]), torch.cat([r[1] for r in results])
    x = _stem(encoder.patch_embed, x.permute(0, 2, 3, 1), workspace)
    stage0 = encoder.layers[0]
    for i, block in enumerate(stage0.blocks):
        x = block(x, workspace, f"stage0_{i % 2}")  # through the module: its hooks run
    x = _merge(stage0.downsample, x, workspace)
    early = None
    for index in range(1, len(encoder.layers)):
        layer = encoder.layers[index]
        for block in layer.blocks:
            x = block(x, x.shape[1:3], workspace)
        if layer.downsample is not None:
            x = _merge(layer.downsample, x, workspace)
        if index == 1:
            early = x.clone()
    return _neck(encoder.neck, x), early


def _stem(patch_embed, x: torch.Tensor, workspace: dict) -> torch.Tensor:
    """Two 3x3 stride-2 convolutions (GELU between), output rows in bands: B x H/4 x W/4 x C."""
    first, second = patch_embed.seq[0], patch_embed.seq[2]
    w1, b1 = first.folded(x.dtype)
    w2, b2 = second.folded(x.dtype)
    b, h, w, _ = x.shape
    mid_h, mid_w = -(-h // 2), -(-w // 2)
    out_h, out_w = -(-mid_h // 2), -(-mid_w // 2)
    out = buffer(workspace, "stem", (b, out_h, out_w, w2.shape[0]), x)
    rows = band_rows(out_h, 2 * mid_w, w1.shape[0], x.element_size(), b)
    for top in range(0, out_h, rows):
        bottom = min(out_h, top + rows)
        # the rows of the first convolution's output that these read, with its GELU
        lo, hi = max(0, 2 * top - 1), min(mid_h, 2 * bottom)
        mid = conv_rows(x, lo, hi, w1, b1, stride=2)
        torch.ops.aten.gelu_(mid)
        out[:, top:bottom] = conv_rows(mid, top, bottom, w2, b2, stride=2, offset=lo, height=mid_h)
    return out


def mbconv_block(block, x: torch.Tensor, workspace: dict, name: str) -> torch.Tensor:
    """act3(conv3(act2(conv2(act1(conv1(x))))) + x) in bands of output rows; B x H x W x C."""
    w1, b1 = block.conv1.folded(x.dtype)
    w2, b2 = block.conv2.folded(x.dtype)
    w3, b3 = block.conv3.folded(x.dtype)
    b, h, w, c = x.shape
    out = buffer(workspace, name, x.shape, x)
    rows = band_rows(h, w, w1.shape[0], x.element_size(), b)
    for top in range(0, h, rows):
        bottom = min(h, top + rows)
        lo, hi = max(0, top - 1), min(h, bottom + 1)
        hidden = linear_rows(x[:, lo:hi], w1, b1)
        torch.ops.aten.gelu_(hidden)
        hidden = conv_rows(hidden, top, bottom, w2, b2, groups=w2.shape[0], offset=lo, height=h)
        torch.ops.aten.gelu_(hidden)
        target = out[:, top:bottom]
        # the residual rides in the projection GEMM (beta = 1 into a copy of x)
        target.copy_(x[:, top:bottom])
        rows_out = target.view(-1, c)
        rows_out.add_(b3).addmm_(hidden.reshape(-1, hidden.shape[-1]), w3.view(c, -1).t())
        torch.ops.aten.gelu_(rows_out)
    return out


def _merge(merge, x: torch.Tensor, workspace: dict) -> torch.Tensor:
    """Patch merging: 1x1 (GELU), 3x3 depthwise with the merge's stride (GELU), 1x1; NHWC in and out."""
    w1, b1 = merge.conv1.folded(x.dtype)
    w2, b2 = merge.conv2.folded(x.dtype)
    w3, b3 = merge.conv3.folded(x.dtype)
    stride = merge.conv2.c.stride[0]
    b, h, w, _ = x.shape
    out_h, out_w = (h - 1) // stride + 1, (w - 1) // stride + 1
    out = x.new_empty(b, out_h, out_w, w3.shape[0])
    rows = band_rows(out_h, w, w1.shape[0], x.element_size(), b * stride)
    for top in range(0, out_h, rows):
        bottom = min(out_h, top + rows)
        lo, hi = max(0, top * stride - 1), min(h, (bottom - 1) * stride + 2)
        hidden = linear_rows(x[:, lo:hi], w1, b1)
        torch.ops.aten.gelu_(hidden)
        hidden = conv_rows(hidden, top, bottom, w2, b2, stride=stride, groups=w2.shape[0], offset=lo, height=h)
        torch.ops.aten.gelu_(hidden)
        linear_rows(hidden, w3, b3, out=out[:, top:bottom])
    return out


def attention_block(block, x: torch.Tensor, workspace: dict) -> torch.Tensor:
    """One TinyViT block on B x H x W x C tokens (updated in place where the result is new)."""
    b, h, w, c = x.shape
    tokens = x.reshape(-1, c)
    attended = _window_attention(block.attn, tokens, (b, h, w), block.window_size, workspace)
    proj = block.attn.proj
    tokens.add_(proj.bias).addmm_(attended, proj.weight.t())
    weight, bias = block.local_conv.folded(x.dtype)
    x = F.conv2d(x.permute(0, 3, 1, 2), weight, bias, 1, 1, 1, c).permute(0, 2, 3, 1)
    if not x.is_contiguous():
        x = x.contiguous()
    _mlp(block.mlp, x.view(-1, c), workspace)
    return x


def _window_attention(attn, tokens: torch.Tensor, grid: tuple[int, int, int], window: int, workspace: dict):
    """Attention before the output projection for (B*H*W) x C tokens in grid order: same shape."""
    b, h, w = grid
    c = tokens.shape[1]
    heads, dim = attn.num_heads, attn.head_dim
    normed = F.layer_norm(tokens, (c,), attn.norm.weight, attn.norm.bias, attn.norm.eps)
    index, padding = _window_index(workspace, grid, window, tokens.device)
    n = window * window
    windows = (index.numel() + padding.numel()) // n
    if padding.numel():
        ordered = buffer(workspace, "window_tokens", (windows * n, c), tokens)
        ordered.index_copy_(0, index, normed)
        ordered.index_copy_(0, padding, attn.norm.bias.to(tokens.dtype).expand(padding.numel(), c))
    else:
        ordered = torch.index_select(normed, 0, index) if windows > 1 else normed
    qkv = buffer(workspace, "qkv", (windows * n, 3 * c), tokens)
    torch.addmm(attn.qkv.bias, ordered, attn.qkv.weight.t(), out=qkv)
    q, k, v = qkv.view(windows, n, heads, 3, dim).permute(3, 0, 2, 1, 4).unbind(0)
    bias = attn.bias().to(tokens.dtype).expand(windows, heads, n, n)
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=bias)  # windows x heads x n x dim
    out = out.transpose(1, 2).reshape(windows * n, c)
    if windows == 1 and not padding.numel():
        return out
    return torch.index_select(out, 0, index)


def _window_index(workspace: dict, grid: tuple[int, int, int], window: int, device: torch.device):
    """(rows of the grid's tokens in zero-padded window order, rows of the padding tokens)."""
    key = ("tiny_vit_windows", grid, window, device)
    if key not in workspace:
        b, h, w = grid
        n_h, n_w = -(-h // window), -(-w // window)
        image = torch.arange(b, device=device)[:, None, None]
        row = torch.arange(h, device=device)[None, :, None]
        col = torch.arange(w, device=device)[None, None, :]
        number = (image * n_h + row // window) * n_w + col // window
        index = ((number * window + row % window) * window + col % window).reshape(-1)
        taken = torch.zeros(b * n_h * n_w * window * window, dtype=torch.bool, device=device)
        taken[index] = True
        workspace[key] = (index, (~taken).nonzero().view(-1))
    return workspace[key]


def _mlp(mlp, tokens: torch.Tensor, workspace: dict) -> None:
    """``tokens += fc2(gelu(fc1(norm(tokens))))`` in place, MLP_ROWS tokens at a time."""
    c = tokens.shape[1]
    fc1, fc2, norm = mlp.fc1, mlp.fc2, mlp.norm
    for start in range(0, tokens.shape[0], MLP_ROWS):
        chunk = tokens[start : start + MLP_ROWS]
        hidden = buffer(workspace, "mlp_hidden", (chunk.shape[0], fc1.out_features), tokens)
        torch.addmm(fc1.bias, F.layer_norm(chunk, (c,), norm.weight, norm.bias, norm.eps), fc1.weight.t(), out=hidden)
        torch.ops.aten.gelu_(hidden)
        chunk.add_(fc2.bias).addmm_(hidden, fc2.weight.t())


def _neck(neck, x: torch.Tensor) -> torch.Tensor:
    """SAM's neck on B x h x w x C tokens: B x 256 x h x w (contiguous)."""
    conv1, norm1, conv2, norm2 = neck[0], neck[1], neck[2], neck[3]
    y = linear_rows(x, conv1.weight, None)
    y = F.layer_norm(y, (y.shape[-1],), norm1.weight, norm1.bias, norm1.eps)
    y = F.conv2d(y.permute(0, 3, 1, 2), conv2.weight, None, 1, 1).permute(0, 2, 3, 1)
    y = F.layer_norm(y, (y.shape[-1],), norm2.weight, norm2.bias, norm2.eps)
    return y.permute(0, 3, 1, 2).contiguous()
