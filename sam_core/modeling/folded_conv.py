"""Convolutions with their BatchNorm folded in, for inference.

TinyViT and EfficientViT put a BatchNorm after most convolutions. At inference a
BatchNorm is an affine map per output channel, so ``bn(conv(x))`` equals one
convolution with scaled weights and a bias. The folded tensors are made once and kept on
the convolution, keyed by the version counters of every tensor they come from, so a
``load_state_dict``, ``.to()`` or in-place edit of any of them makes a fresh fold.
"""
from __future__ import annotations

import torch
from torch import nn


def folded_conv(conv: nn.Conv2d, bn: nn.BatchNorm2d | None, dtype: torch.dtype | None = None):
    """(weight, bias) of ``bn(conv(.))`` as one convolution, in ``dtype`` (the conv's own
    when None). ``bn`` None: the conv's own weight and bias."""
    sources = [conv.weight] + ([conv.bias] if conv.bias is not None else [])
    if bn is not None:
        sources += [bn.weight, bn.bias, bn.running_mean, bn.running_var]
    dtype = dtype or conv.weight.dtype
    key = (dtype, tuple((t.data_ptr(), t._version) for t in sources))
    cached = conv.__dict__.get("_folded")
    if cached is not None and cached[0] == key:
        return cached[1]
    with torch.no_grad():
        weight = conv.weight.float()
        bias = conv.bias.float() if conv.bias is not None else None
        if bn is not None:
            scale = bn.weight.float() / torch.sqrt(bn.running_var.float() + bn.eps)
            weight = weight * scale.view(-1, *([1] * (weight.ndim - 1)))
            shift = bn.bias.float() - bn.running_mean.float() * scale
            bias = shift if bias is None else bias * scale + shift
        weight = weight.to(dtype).contiguous()
        bias = bias.to(dtype).contiguous() if bias is not None else None
    conv.__dict__["_folded"] = (key, (weight, bias))
    return weight, bias
