"""EfficientViT-SAM's image encoder against the official code (``efficientsam``), seeded weights."""
from __future__ import annotations

import pytest
import torch

from sam_core.bench.references_light import reference_efficientvit_encoder
from sam_core.modeling.efficientvit import (
    EFFICIENTVIT_SAM_VARIANTS,
    EfficientViTSamConfig,
    EfficientViTSamEncoder,
    infer_efficientvit_config,
)
from sam_core.testing import perturbed_state_dict, synthetic_photo
from sam_core.utils.transforms import ResizeLongestSide

# Test sizes of the two layouts: L (5 stages, "mb" and 5x5 attention, 512 px) and
# XL (6 stages, "fmb" and 3x3 attention, 1024 px).
SMALL_L = EfficientViTSamConfig((8, 16, 24, 32, 64), (1, 1, 1, 2, 2), ("res", "fmb", "fmb", "mb", "att"),
                                (1, 4, 4, 4, 6), (False, False, False, True, True), ("stage4", "stage3", "stage2"),
                                head_width=32, head_depth=2, qkv_dim=16)
SMALL_XL = EfficientViTSamConfig((8, 12, 16, 24, 32, 64), (0, 1, 1, 1, 1, 1),
                                 ("res", "fmb", "fmb", "fmb", "att@3", "att@3"), (1, 2, 2, 2, 2, 3),
                                 (False, False, False, False, True, True), ("stage5", "stage4", "stage3"),
                                 head_width=32, head_depth=1, head_expand_ratio=2, qkv_dim=16)


def rel_err(ours: torch.Tensor, ref: torch.Tensor) -> float:
    return float((ours.double() - ref.double()).abs().max() / ref.double().abs().max())


def padded_input(h: int, w: int, size: int, seed: int) -> torch.Tensor:
    """A photo with its longest side resized to ``size``, normalised and zero-padded."""
    image = ResizeLongestSide(size).apply_image(synthetic_photo(h, w, seed=seed))
    x = torch.as_tensor(image).permute(2, 0, 1)[None].float() / 255
    mean = torch.tensor([123.675, 116.28, 103.53]).view(-1, 1, 1) / 255
    std = torch.tensor([58.395, 57.12, 57.375]).view(-1, 1, 1) / 255
    return torch.nn.functional.pad((x - mean) / std, (0, size - x.shape[-1], 0, size - x.shape[-2]))


def both(config: EfficientViTSamConfig, seed: int):
    ours = EfficientViTSamEncoder(config).eval()
    state = perturbed_state_dict(ours, seed)
    ours.load_state_dict(state, strict=True)
    ref = reference_efficientvit_encoder(config)
    ref.load_state_dict(state, strict=True)
    return ours, ref.eval()


@pytest.mark.parametrize(
    "config,size",
    [(SMALL_L, (480, 900)), (SMALL_XL, (1200, 700)), (EFFICIENTVIT_SAM_VARIANTS["l0"], (1500, 2250))],
    ids=["small_l", "small_xl", "l0_full"],
)
def test_embedding_matches_reference(config, size):
    ours, ref = both(config, seed=4)
    x = padded_input(*size, config.image_size, seed=size[1])
    with torch.inference_mode():
        expected = ref(x)
        embedding = ours(x)
    assert embedding.shape == expected.shape == (1, 256, 64, 64)
    assert rel_err(embedding, expected) < 1e-4


def test_inference_path_equals_the_autograd_path():
    ours, _ = both(SMALL_L, seed=1)
    x = padded_input(300, 512, 512, seed=3)
    with torch.inference_mode():
        fast = ours(x)
    with torch.enable_grad():
        plain = ours(x).detach()
    assert rel_err(fast, plain) < 1e-5


@pytest.mark.parametrize("name", sorted(EFFICIENTVIT_SAM_VARIANTS) + ["small_l", "small_xl"])
def test_config_is_read_off_the_state_dict(name):
    config = {"small_l": SMALL_L, "small_xl": SMALL_XL}.get(name) or EFFICIENTVIT_SAM_VARIANTS[name]
    with torch.device("meta"):
        encoder = EfficientViTSamEncoder(config)
    state = {f"image_encoder.{k}": v for k, v in encoder.state_dict().items()}
    inferred = infer_efficientvit_config(state)
    assert inferred == config
    assert inferred.image_size == (1024 if name.startswith(("xl", "small_xl")) else 512)
    assert inferred.name == (name if name in EFFICIENTVIT_SAM_VARIANTS else inferred.name)


def test_padding_rows_follow_new_weights():
    """The rows copied from the blank input's outputs are made again when the weights change."""
    ours, ref = both(SMALL_L, seed=5)
    x = padded_input(300, 512, 512, seed=8)  # 300 of 512 rows hold the image
    with torch.inference_mode():
        assert rel_err(ours(x), ref(x)) < 1e-4
    state = perturbed_state_dict(ours, seed=6)
    ours.load_state_dict(state)
    ref.load_state_dict(state)
    with torch.inference_mode():
        assert rel_err(ours(x), ref(x)) < 1e-4
