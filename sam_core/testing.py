"""Random-weight checkpoints in Meta's exact format, for tests, the self-test and the bench.

No real weights can be downloaded here, so the tests build models whose every
tensor is perturbed from a seed (Meta initialises ``rel_pos`` to zero, which
would hide relative-position bugs).
"""
from __future__ import annotations

import os
from pathlib import Path

import torch

from .config import KNOWN_VARIANTS, SamConfig, build_sam

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


def write_random_checkpoint(
    path: str | os.PathLike, config: SamConfig = TINY_CONFIG, seed: int = 0
) -> Path:
    """Save :func:`random_state_dict` to ``path`` as Meta does (a bare state_dict)."""
    path = Path(path)
    torch.save(random_state_dict(config, seed), path)
    return path
