"""Random-weight checkpoints in Meta's exact format, for tests, the self-test and the bench.

No real weights can be downloaded here, so the tests build models whose every
tensor is perturbed from a seed (Meta initialises ``rel_pos`` to zero, which
would hide relative-position bugs).
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from .build import build_sam
from .config import KNOWN_VARIANTS, SamConfig

#: A quick encoder (one windowed and one global block) with SAM's full 256-d decoder.
TINY_CONFIG = SamConfig(embed_dim=64, depth=2, num_heads=2, global_attn_indexes=(1,))
VIT_B_CONFIG = KNOWN_VARIANTS["vit_b"]


def random_state_dict(config: SamConfig = TINY_CONFIG, seed: int = 0) -> dict[str, torch.Tensor]:
    """A state_dict with Meta's key names for ``config``; every tensor depends on ``seed``."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        sam = build_sam(config)
        generator = torch.Generator().manual_seed(seed + 1)
        state = {}
        for name, tensor in sam.state_dict().items():
            tensor = tensor.detach().float()
            spread = float(tensor.std()) if tensor.numel() > 1 else 0.0
            noise = torch.randn(tensor.shape, generator=generator)
            state[name] = (tensor + noise * max(0.5 * spread, 0.02)).contiguous()
    return state


def perturbed_state_dict(module: torch.nn.Module, seed: int = 0) -> dict[str, torch.Tensor]:
    """``module``'s state_dict with every tensor perturbed from ``seed``, as
    :func:`random_state_dict` does, for networks with BatchNorms and learnt attention biases.

    BatchNorm statistics get spreads of their own (a zero mean and unit variance would
    hide a fold that skips them), variances stay positive, and the step counters
    (``num_batches_tracked``) are kept as they are.
    """
    generator = torch.Generator().manual_seed(seed + 1)
    state = {}
    for name, tensor in module.state_dict().items():
        if name.endswith("num_batches_tracked"):
            state[name] = tensor.clone()
            continue
        tensor = tensor.detach().float()
        noise = torch.randn(tensor.shape, generator=generator)
        if name.endswith("running_var"):
            state[name] = 0.5 + torch.rand(tensor.shape, generator=generator)
        elif name.endswith("running_mean"):
            state[name] = 0.2 * noise
        elif name.endswith("attention_biases"):
            state[name] = tensor + 0.5 * noise
        else:
            spread = float(tensor.std()) if tensor.numel() > 1 else 0.0
            state[name] = (tensor + noise * max(0.5 * spread, 0.02)).contiguous()
    return state


def write_random_checkpoint(
    path: str | os.PathLike, config: SamConfig = TINY_CONFIG, seed: int = 0
) -> Path:
    """Save :func:`random_state_dict` to ``path`` as Meta does (a bare state_dict)."""
    path = Path(path)
    torch.save(random_state_dict(config, seed), path)
    return path


def synthetic_photo(h: int, w: int, seed: int = 0) -> np.ndarray:
    """A real-looking HxWx3 uint8 RGB scene: smooth background, shaded shapes, texture, noise."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    img = np.empty((h, w, 3), np.float32)
    for c in range(3):
        img[..., c] = 60 + 80 * (xx / w) * rng.uniform(0.3, 1) + 60 * (yy / h) * rng.uniform(0.3, 1)
    for _ in range(7):
        cy, cx = rng.uniform(0, h), rng.uniform(0, w)
        ry, rx = rng.uniform(0.05, 0.25) * h, rng.uniform(0.05, 0.25) * w
        inside = ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 < 1
        colour = rng.uniform(0, 255, 3)
        shade = 1 - 0.4 * ((yy - cy) / (2 * ry) + 0.5).clip(0, 1)[inside]
        img[inside] = colour * shade[:, None]
    for _ in range(4):
        y0, x0 = int(rng.uniform(0, h * 0.8)), int(rng.uniform(0, w * 0.8))
        y1, x1 = y0 + int(rng.uniform(0.05, 0.2) * h) + 1, x0 + int(rng.uniform(0.05, 0.2) * w) + 1
        img[y0:y1, x0:x1] = rng.uniform(0, 255, 3)
    img += 12 * np.sin(xx / 7.0)[..., None] * np.cos(yy / 11.0)[..., None]
    img += rng.normal(0, 4, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)
