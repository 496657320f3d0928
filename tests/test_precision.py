"""Reduced precision keeps every full-resolution mask at IoU >= 0.97 against fp32."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from sam_core import SamConfig, SamPredictor, build_sam
from sam_core.testing import random_state_dict, synthetic_photo

# Wide enough (4 blocks, 2 global, 256-d) for bf16 rounding to accumulate as it does in vit_b.
MEDIUM = SamConfig(embed_dim=256, depth=4, num_heads=4, global_attn_indexes=(1, 3))


def iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.logical_or(a, b).sum()
    return 1.0 if union == 0 else float(np.logical_and(a, b).sum() / union)


@pytest.fixture(scope="module")
def models():
    state = random_state_dict(MEDIUM, seed=3)
    fp32, bf16 = build_sam(MEDIUM), build_sam(MEDIUM)
    fp32.load_state_dict(state)
    bf16.load_state_dict(state)
    bf16.image_encoder.to(torch.bfloat16)
    return fp32, bf16


@pytest.mark.parametrize("seed,size", [(0, (600, 900)), (1, (1024, 683)), (2, (480, 480))])
def test_bf16_encoder_masks_match_fp32(models, seed, size):
    h, w = size
    image = synthetic_photo(h, w, seed=seed)
    exact, reduced = SamPredictor(models[0]), SamPredictor(models[1])
    exact.set_image(image)
    reduced.set_image(image)
    assert reduced.get_image_embedding().dtype == torch.float32
    rng = np.random.default_rng(seed)
    for _ in range(6):
        points = rng.uniform([0, 0], [w, h], size=(rng.integers(1, 4), 2))
        labels = rng.integers(0, 2, len(points))
        labels[0] = 1
        box = np.sort(rng.uniform(0, [w, h, w, h]).reshape(2, 2), axis=0).reshape(-1)
        for prompt in (dict(point_coords=points, point_labels=labels), dict(box=box)):
            masks_exact, _, _ = exact.predict(**prompt)
            masks_reduced, _, _ = reduced.predict(**prompt)
            for a, b in zip(masks_exact, masks_reduced):
                assert iou(a, b) >= 0.97
