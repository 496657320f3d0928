"""TinyViT's inference path: channels-last tokens, folded BatchNorms, bands of rows, kept buffers.

Same arithmetic as :class:`~sam_core.modeling.tiny_vit.TinyViT`'s modules (float
rounding aside), reading the same weights:

* stage 0 and the stem run a band of rows at a time (:mod:`.rows`), so the 64 MB
  hidden maps of the MBConv blocks never exist whole;
* windowed attention gathers the normalised tokens into window order once; the padding
  tokens the reference adds are zeros before the LayerNorm, so their rows are the norm's
  bias; the per-head bias table goes to SDPA as a mask;
* the MLP runs in row chunks whose hidden layer stays in cache, its residual folded
  into the second GEMM;
* rows of the zero padding that no image row reaches are copied from the blank input's
  outputs (:mod:`.padding_rows`); every stage of TinyViT is local, so this holds to the end.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from ..utils import gemm
from .padding_rows import BlankOutputs, content_rows, conv_reach, weights_key
from .rows import band_rows, conv_rows, linear_rows
from .workspace import buffer

MLP_ROWS = 1024  # tokens per MLP chunk: a 4x-wide hidden chunk stays within a core's L2


def encode(encoder, x: torch.Tensor, workspace: dict) -> tuple[torch.Tensor, torch.Tensor]:
    """(embedding B x 256 x h x w, stage-1 output B x h1 x w1 x C1) for a TinyViT ``encoder``;
    ``x``: B x 3 x S x S. Images of a batch run one after the other."""
    if x.shape[0] > 1:
        results = [encode(encoder, image[None], workspace) for image in x]
        return torch.cat([r[0] for r in results]), torch.cat([r[1] for r in results])
    rows = content_rows(x)
    if rows < x.shape[2]:
        return _encode(encoder, x, workspace, _blank_outputs(encoder, x, workspace), rows)
    return _encode(encoder, x, workspace)


def _encode(encoder, x: torch.Tensor, workspace: dict, blank: BlankOutputs | None = None, rows: int = 0,
            capture: dict | None = None):
    """The steps of :func:`encode`. With ``blank``, rows of the padding that no image row
    reaches (``rows`` of the input hold the image) are copied from the blank input's step
    outputs; with ``capture`` (the blank run), every step's output is kept there by name and
    the blocks' hooks (progress, cancellation) do not run: it is not the image's encode."""
    x = x.permute(0, 2, 3, 1)

    def run_block(block, *args):
        return block.forward(*args) if capture is not None else block(*args)  # __call__ runs the hooks

    def step(name: str, reach: int, run):
        nonlocal rows
        rows = reach
        workspace["skip"] = (rows, blank.outputs[name]) if blank is not None else None
        out = run()
        if capture is not None:
            capture[name] = out.clone()
        return out

    x = step("stem", conv_reach(conv_reach(rows, 2), 2), lambda: _stem(encoder.patch_embed, x, workspace))
    stage0 = encoder.layers[0]
    for i, block in enumerate(stage0.blocks):
        x = step(f"stage0_{i}", rows + 1, lambda: run_block(block, x, workspace, f"stage0_{i % 2}"))
    merge = stage0.downsample
    x = step("merge0", conv_reach(rows, merge.conv2.c.stride[0]), lambda: _merge(merge, x, workspace))
    early = None
    for index in range(1, len(encoder.layers)):
        layer = encoder.layers[index]
        for j, block in enumerate(layer.blocks):
            window = block.window_size
            attended = min(x.shape[1], -(-rows // window) * window)  # the windows an image row is in
            name = f"layer{index}_{j}"
            workspace["skip"] = None if blank is None else (
                attended, blank.outputs[f"{name}_attention"], blank.outputs[name])
            workspace["capture"] = None if capture is None else (capture, name)
            rows = attended + 1
            x = run_block(block, x, x.shape[1:3], workspace)
            workspace["capture"] = None
        if layer.downsample is not None:
            merge = layer.downsample
            x = step(f"merge{index}", conv_reach(rows, merge.conv2.c.stride[0]), lambda: _merge(merge, x, workspace))
        if index == 1:
            early = x.clone()
    embedding = step("neck", rows + 1, lambda: _neck(encoder.neck, x, workspace))
    workspace["skip"] = None
    return embedding.permute(0, 3, 1, 2).contiguous(), early


def _blank_outputs(encoder, x: torch.Tensor, workspace: dict) -> BlankOutputs:
    """Every step's output for an all-zero input like ``x``, kept in the workspace."""
    key = (tuple(x.shape), x.dtype, x.device, weights_key(encoder))
    blank = workspace.get("blank_outputs")
    if blank is None or not blank.fresh(key):
        blank = BlankOutputs(key)
        _encode(encoder, x.new_zeros(x.shape), workspace, capture=blank.outputs)
        workspace["blank_outputs"] = blank
    return blank


def _limit(workspace: dict, out: torch.Tensor) -> int:
    """How many rows of ``out`` to compute; the clean rows below are copied in from the blank
    input's output now (``workspace["skip"]``: dirty rows and that output, or None)."""
    skip = workspace.get("skip")
    if skip is None:
        return out.shape[1]
    rows, blank = skip
    rows = min(rows, out.shape[1])
    out[:, rows:] = blank[:, rows:]
    return rows


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
    limit = _limit(workspace, out)
    for top in range(0, limit, rows):
        bottom = min(limit, top + rows)
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
    limit = _limit(workspace, out)
    for top in range(0, limit, rows):
        bottom = min(limit, top + rows)
        lo, hi = max(0, top - 1), min(h, bottom + 1)
        hidden = linear_rows(x[:, lo:hi], w1, b1)
        torch.ops.aten.gelu_(hidden)
        hidden = conv_rows(hidden, top, bottom, w2, b2, groups=w2.shape[0], offset=lo, height=h)
        torch.ops.aten.gelu_(hidden)
        target = out[:, top:bottom]
        # the residual rides in the projection GEMM (beta = 1 into a copy of x)
        target.copy_(x[:, top:bottom])
        rows_out = target.view(-1, c)
        gemm.add_linear_(rows_out, hidden.reshape(-1, hidden.shape[-1]), w3.view(c, -1), b3)
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
    limit = _limit(workspace, out)
    for top in range(0, limit, rows):
        bottom = min(limit, top + rows)
        lo, hi = max(0, top * stride - 1), min(h, (bottom - 1) * stride + 2)
        hidden = linear_rows(x[:, lo:hi], w1, b1)
        torch.ops.aten.gelu_(hidden)
        hidden = conv_rows(hidden, top, bottom, w2, b2, stride=stride, groups=w2.shape[0], offset=lo, height=h)
        torch.ops.aten.gelu_(hidden)
        linear_rows(hidden, w3, b3, out=out[:, top:bottom])
    return out


def attention_block(block, x: torch.Tensor, workspace: dict) -> torch.Tensor:
    """One TinyViT block on 1 x H x W x C tokens (``x`` is updated in place by the attention).

    ``workspace["skip"]``: None, or (rows of whole windows to attend, the blank input's map
    after the attention, its block output): then only those windows attend, and the
    convolution and MLP run on the rows they reach."""
    _, h, w, c = x.shape
    skip = workspace.get("skip")
    attended = h if skip is None else min(h, skip[0])
    tokens = x[:, :attended].reshape(-1, c)
    out = _window_attention(block.attn, tokens, (1, attended, w), block.window_size, workspace)
    proj = block.attn.proj
    gemm.add_linear_(tokens, out, proj.weight, proj.bias)
    if skip is not None:
        x[:, attended : attended + 2] = skip[1][:, attended : attended + 2]  # the halo the conv reads
    capture = workspace.get("capture")
    if capture is not None:
        capture[0][f"{capture[1]}_attention"] = x.clone()
    weight, bias = block.local_conv.folded(x.dtype)
    reached = h if skip is None else min(h, attended + 1)
    y = conv_rows(x, 0, reached, weight, bias, groups=c)
    if skip is None:
        result = y if y.is_contiguous() else y.contiguous()
    else:
        result = x.new_empty(x.shape)
        result[:, :reached] = y
        result[:, reached:] = skip[2][:, reached:]
    _mlp(block.mlp, result[:, :reached].reshape(-1, c), workspace)
    if capture is not None:
        capture[0][capture[1]] = result.clone()
    return result


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
    gemm.linear_into(ordered, attn.qkv.weight, attn.qkv.bias, qkv)
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
        gemm.linear_into(F.layer_norm(chunk, (c,), norm.weight, norm.bias, norm.eps), fc1.weight, fc1.bias, hidden)
        torch.ops.aten.gelu_(hidden)
        gemm.add_linear_(chunk, hidden, fc2.weight, fc2.bias)


def _neck(neck, x: torch.Tensor, workspace: dict) -> torch.Tensor:
    """SAM's neck on 1 x h x w x C tokens: 1 x h x w x 256 (channels last)."""
    conv1, norm1, conv2, norm2 = neck[0], neck[1], neck[2], neck[3]
    y = linear_rows(x, conv1.weight, None)
    y = F.layer_norm(y, (y.shape[-1],), norm1.weight, norm1.bias, norm1.eps)
    out = x.new_empty(*y.shape)
    rows = _limit(workspace, out)
    z = conv_rows(y, 0, rows, conv2.weight, None)
    out[:, :rows] = F.layer_norm(z, (z.shape[-1],), norm2.weight, norm2.bias, norm2.eps)
    return out
