"""Shared fixtures: seeded random-weight SAM checkpoints and their reference twins."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).parent))

from sam_core.testing import TINY_CONFIG, random_state_dict, write_random_checkpoint  # noqa: E402

torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))


@pytest.fixture(scope="session")
def tiny_state_dict() -> dict[str, torch.Tensor]:
    return random_state_dict(TINY_CONFIG, seed=0)


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory) -> Path:
    return write_random_checkpoint(tmp_path_factory.mktemp("ckpt") / "sam_tiny_random.pth", TINY_CONFIG, seed=0)


@pytest.fixture(scope="session")
def tiny_sam(tiny_checkpoint):
    from sam_core import load_sam

    return load_sam(tiny_checkpoint, device="cpu")


@pytest.fixture(scope="session")
def tiny_reference(tiny_state_dict):
    from reference_sam import build_reference_sam

    return build_reference_sam(TINY_CONFIG, tiny_state_dict)


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


@pytest.fixture
def photo():
    return synthetic_photo
