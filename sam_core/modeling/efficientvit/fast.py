"""EfficientViT-SAM's inference path: channels-last maps, folded BatchNorms, bands of rows.

Same arithmetic as the modules of :mod:`.encoder` (float rounding aside), reading
the same weights. Every local block (res, fmb, mb) computes its output a band of
rows at a time (:mod:`..rows`), so its expanded hidden map (up to 32 MB at the
high-resolution stages) never exists whole; bands write into output maps kept
between images. LiteMLA runs on token rows with batched products per head.
Maps are 1 x H x W x C (NHWC); a batch runs image by image.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from ..padding_rows import BlankOutputs, content_rows, conv_reach, weights_key
from ..rows import band_rows, conv_rows, linear_rows
from ..workspace import buffer


def encode(encoder, x: torch.Tensor, workspace: dict) -> torch.Tensor:
    """Embedding B x 256 x 64 x 64 for an :class:`EfficientViTSamEncoder`; ``x``: B x 3 x S x S."""
    if x.shape[0] > 1:
        return torch.cat([encode(encoder, image[None], workspace) for image in x])
    features = _backbone(encoder.backbone, x, workspace)
    y = features[f"stage{len(encoder.backbone.stages) - 1}"]
    neck = encoder.neck
    merged = None
    for key, op in zip(neck.input_keys, neck.input_ops):
        projection, upsample = op.op_list
        weight, bias = projection.folded(y.dtype)
        z = linear_rows(features[key], weight, bias)
        if tuple(z.shape[1:3]) != upsample.size:
            z = _upsample_bicubic(z, upsample.size)
        merged = z.contiguous() if merged is None else merged.add_(z)
    for i, op in enumerate(neck.middle.op_list):
        merged = op(merged, workspace, f"neck_{i % 2}")
    out = neck.output_ops[0].op_list[0]
    weight, bias = out.folded(merged.dtype)
    merged = linear_rows(merged, weight, bias)
    norm = encoder.norm
    merged = F.layer_norm(merged, (merged.shape[-1],), norm.weight, norm.bias, norm.eps)
    return merged.permute(0, 3, 1, 2).contiguous()


def _backbone(backbone, x: torch.Tensor, workspace: dict) -> dict[str, torch.Tensor]:
    """Every stage's output (1 x h x w x C, by name) for a 1 x 3 x S x S input.

    Up to the first attention block every step is local, so rows of the zero padding that no
    image row reaches are copied from the blank input's outputs (:mod:`..padding_rows`)."""
    rows = content_rows(x)
    blank = _blank_outputs(backbone, x, workspace) if rows < x.shape[2] else None
    features = {}
    y = x.permute(0, 2, 3, 1)
    for s, stage in enumerate(backbone.stages):
        for i, op in enumerate(stage.op_list):
            name = f"s{s}_{i % 2}"
            if blank is not None and type(op).__name__ != "EfficientViTBlock":
                rows = _reach(op, rows)
                workspace["skip"] = (rows, blank.outputs[f"s{s}_{i}"])
            else:
                blank = None
                workspace["skip"] = None
            y = op(y, workspace, name)  # through the module: its hooks run
        features[f"stage{s}"] = y
    workspace["skip"] = None
    return features


def _blank_outputs(backbone, x: torch.Tensor, workspace: dict) -> BlankOutputs:
    """The local steps' outputs for an all-zero input like ``x``, kept in the workspace."""
    key = (tuple(x.shape), x.dtype, x.device, weights_key(backbone))
    blank = workspace.get("blank_outputs")
    if blank is not None and blank.fresh(key):
        return blank
    blank = BlankOutputs(key)
    workspace["skip"] = None
    y = x.new_zeros(x.shape).permute(0, 2, 3, 1)
    for s, stage in enumerate(backbone.stages):
        for i, op in enumerate(stage.op_list):
            if type(op).__name__ == "EfficientViTBlock":
                workspace["blank_outputs"] = blank
                return blank
            # Run the module's own inference path without its hooks (it is not the image's encode).
            y = op.forward(y, workspace, f"blank_{i % 2}")
            blank.outputs[f"s{s}_{i}"] = y.clone()
    workspace["blank_outputs"] = blank
    return blank


def _reach(op, rows: int) -> int:
    """Dirty output rows of a local step (stem, res, fmb or mb block) for ``rows`` dirty input rows."""
    main = getattr(op, "main", op)
    convs = [m for m in main.modules() if isinstance(m, torch.nn.Conv2d)]
    for conv in convs:
        rows = conv_reach(rows, conv.stride[0], conv.padding[0])
    return rows


def stem(op, x: torch.Tensor, workspace: dict, name: str) -> torch.Tensor:
    """The stem (a 3x3 stride-2 ConvLayer with its GELU) in bands of output rows."""
    weight, bias = op.folded(x.dtype)
    stride = op.conv.stride[0]
    out_h, out_w = (x.shape[1] - 1) // stride + 1, (x.shape[2] - 1) // stride + 1
    out = buffer(workspace, name, (1, out_h, out_w, weight.shape[0]), x)
    rows = band_rows(out_h, out_w, weight.shape[0], x.element_size())
    limit = _computed_rows(workspace, out)
    for top in range(0, limit, rows):
        bottom = min(limit, top + rows)
        band = out[:, top:bottom]
        band.copy_(conv_rows(x, top, bottom, weight, bias, stride))
        _gelu_(band)
    return out


def _computed_rows(workspace: dict, out: torch.Tensor) -> int:
    """How many rows of ``out`` to compute; the clean rows below are copied in from the blank
    input's output now (``workspace["skip"]``: dirty rows and that output, or None)."""
    skip = workspace.get("skip")
    if skip is None:
        return out.shape[1]
    rows, blank = skip
    rows = min(rows, out.shape[1])
    out[:, rows:] = blank[:, rows:]
    return rows


SQRT_2_OVER_PI = 0.7978845608028654


def _gelu_(x: torch.Tensor) -> torch.Tensor:
    """GELU's tanh approximation in place, as ``x * sigmoid(2z)`` with
    ``z = sqrt(2/pi) (x + 0.044715 x^3)`` (the same function: 0.5 (1 + tanh z) = sigmoid(2z)),
    which runs about twice as fast on a CPU as aten's tanh form."""
    z = torch.mul(x, x)
    z.mul_(2 * SQRT_2_OVER_PI * 0.044715).add_(2 * SQRT_2_OVER_PI).mul_(x)
    return x.mul_(torch.sigmoid_(z))


def _upsample_bicubic(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """``F.interpolate(mode="bicubic", align_corners=False)`` of a 1 x h x w x C map to ``size``,
    as two small products with the interpolation matrices (the resize is separable and
    linear): 1 x H x W x C."""
    _, h, w, c = x.shape
    rows, cols = _bicubic_matrix(h, size[0], x), _bicubic_matrix(w, size[1], x)  # H x h, W x w
    y = torch.matmul(cols, x[0])  # h x W x C
    return torch.matmul(rows, y.reshape(h, -1)).view(1, size[0], size[1], c)


def _bicubic_matrix(length: int, out: int, like: torch.Tensor) -> torch.Tensor:
    """out x length weights of PyTorch's bicubic resize along one axis (read off the resize of
    the identity, so borders and the cubic coefficient are exactly PyTorch's)."""
    eye = torch.eye(length, dtype=torch.float32, device=like.device)[:, None, None, :]
    weights = F.interpolate(eye, size=(1, out), mode="bicubic", align_corners=False)
    return weights.view(length, out).t().to(like.dtype)


def local_block(block, x: torch.Tensor, residual: bool, workspace: dict, name: str) -> torch.Tensor:
    """A res, fmb or mb block (plus ``x`` when ``residual``), a band of output rows at a time."""
    kind = type(block).__name__
    if kind == "FusedMBConv":
        layers = (block.spatial_conv, block.point_conv)
    elif kind == "MBConv":
        layers = (block.inverted_conv, block.depth_conv, block.point_conv)
    elif kind == "ResBlock":
        layers = (block.conv1, block.conv2)
    else:
        raise TypeError(f"no inference path for {kind}")
    folded = [layer.folded(x.dtype) for layer in layers]
    stride = max(layer.conv.stride[0] for layer in layers)
    _, h, w, _ = x.shape
    out_h, out_w = (h - 1) // stride + 1, (w - 1) // stride + 1
    out_chans = folded[-1][0].shape[0]
    # A residual block writes over a map it also reads (other rows' halos): two maps alternate.
    out = buffer(workspace, name, (1, out_h, out_w, out_chans), x)
    widest = max(weight.shape[0] for weight, _ in folded)
    rows = band_rows(out_h, w, widest, x.element_size(), stride)
    limit = _computed_rows(workspace, out)
    for top in range(0, limit, rows):
        bottom = min(limit, top + rows)
        target = out[:, top:bottom]
        if kind == "FusedMBConv":
            hidden = conv_rows(x, top, bottom, *folded[0], stride=stride)
            _gelu_(hidden)
            _project(hidden, folded[1], target, x[:, top:bottom] if residual else None)
        elif kind == "MBConv":
            lo, hi = max(0, top * stride - 1), min(h, (bottom - 1) * stride + 2)
            hidden = linear_rows(x[:, lo:hi], *folded[0])
            _gelu_(hidden)
            hidden = conv_rows(hidden, top, bottom, *folded[1], stride=stride, groups=hidden.shape[-1],
                               offset=lo, height=h)
            _gelu_(hidden)
            _project(hidden, folded[2], target, x[:, top:bottom] if residual else None)
        else:
            lo, hi = max(0, top - 1), min(out_h, bottom + 1)
            hidden = conv_rows(x, lo, hi, *folded[0], stride=stride)
            _gelu_(hidden)
            second = conv_rows(hidden, top, bottom, *folded[1], offset=lo, height=out_h)
            target.copy_(second)
            if residual:
                target.add_(x[:, top:bottom])
    return out


def _project(hidden: torch.Tensor, folded, target: torch.Tensor, residual: torch.Tensor | None) -> None:
    """``target = hidden @ W^T + b (+ residual)``: a 1x1 convolution into rows of the output map."""
    weight, bias = folded
    rows = target.view(-1, target.shape[-1])
    w = weight.view(weight.shape[0], -1).t()
    flat = hidden.reshape(-1, hidden.shape[-1])
    if residual is None:
        torch.addmm(bias, flat, w, out=rows) if bias is not None else torch.mm(flat, w, out=rows)
        return
    rows.copy_(residual.reshape(rows.shape))
    if bias is not None:
        rows.add_(bias)
    rows.addmm_(flat, w)


def lite_mla(mla, x: torch.Tensor) -> torch.Tensor:
    """``x + mla(x)`` for a :class:`~.layers.LiteMLA` on a 1 x H x W x C map (a new map)."""
    _, h, w, c = x.shape
    n, dim = h * w, mla.dim
    weight, bias = mla.qkv.folded(x.dtype)
    qkv = linear_rows(x, weight, bias)  # 1 x H x W x 3T
    scales = [qkv]
    for aggregate in mla.aggreg:
        depthwise, grouped = aggregate[0], aggregate[1]
        y = F.conv2d(qkv.permute(0, 3, 1, 2), depthwise.weight, None, 1, depthwise.padding, 1, depthwise.groups)
        y = F.conv2d(y, grouped.weight, None, 1, 0, 1, grouped.groups)
        scales.append(y.permute(0, 2, 3, 1))
    tokens = torch.cat([s.reshape(n, -1) for s in scales], dim=1).float()  # N x (S * 3T)
    heads = tokens.shape[1] // (3 * dim)
    per_head = tokens.view(n, heads, 3, dim).permute(2, 1, 0, 3)  # 3 x heads x N x dim
    q, k, v = torch.relu(per_head[0]), torch.relu(per_head[1]), per_head[2]
    if n > dim:
        v = F.pad(v, (0, 1), value=1.0)  # heads x N x (dim+1): the last column gives the normaliser
        out = torch.bmm(q, torch.bmm(k.transpose(1, 2), v))  # heads x N x (dim+1)
        out = out[..., :dim] / (out[..., dim:] + mla.eps)
    else:
        scores = torch.bmm(q, k.transpose(1, 2))  # heads x N(query) x N(key)
        scores = scores / (scores.sum(dim=2, keepdim=True) + mla.eps)
        out = torch.bmm(scores, v)
    out = out.transpose(0, 1).reshape(n, heads * dim).to(x.dtype)
    weight, bias = mla.proj.folded(x.dtype)
    result = x.reshape(n, c).clone()
    result.add_(bias).addmm_(out, weight.view(weight.shape[0], -1).t())
    return result.view(1, h, w, c)
