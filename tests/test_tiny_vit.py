"""MobileSAM's TinyViT against the official code (``segment_anything_hq``'s ``tiny_vit_sam``), seeded weights."""
from __future__ import annotations

import pytest
import torch

from sam_core.bench.references_light import reference_tiny_vit
from sam_core.modeling.tiny_vit import TinyViT
from sam_core.modeling.tiny_vit_config import MOBILE_SAM_TINY_VIT, TinyViTConfig, infer_tiny_vit_config
from sam_core.testing import perturbed_state_dict, synthetic_photo
from sam_core.utils.transforms import ResizeLongestSide

# A test-size TinyViT the reference also builds: its last stage must be 320 wide (stride-1 merge).
# Stage 0 is convolutional; its heads and window (2, 7) are placeholders, as in MobileSAM.
SMALL_TINY_VIT = TinyViTConfig(embed_dims=(16, 32, 48, 320), depths=(1, 1, 2, 1), num_heads=(2, 2, 3, 10),
                               mlp_ratio=2.0, num_classes=10)


def rel_err(ours: torch.Tensor, ref: torch.Tensor) -> float:
    return float((ours.double() - ref.double()).abs().max() / ref.double().abs().max())


def padded_input(h: int, w: int, seed: int) -> torch.Tensor:
    """A photo resized, normalised and zero-padded as SAM preprocesses it: 1 x 3 x 1024 x 1024."""
    image = ResizeLongestSide(1024).apply_image(synthetic_photo(h, w, seed=seed))
    x = torch.as_tensor(image).permute(2, 0, 1)[None].float()
    x = (x - torch.tensor([123.675, 116.28, 103.53]).view(-1, 1, 1)) / torch.tensor([58.395, 57.12, 57.375]).view(-1, 1, 1)
    return torch.nn.functional.pad(x, (0, 1024 - x.shape[-1], 0, 1024 - x.shape[-2]))


def both(config: TinyViTConfig, seed: int):
    ours = TinyViT(config).eval()
    state = perturbed_state_dict(ours, seed)
    ours.load_state_dict(state, strict=True)
    ref = reference_tiny_vit(config)
    ref.load_state_dict(state, strict=True)
    return ours, ref.eval()  # eval() after loading: the reference gathers its attention biases there


@pytest.mark.parametrize("config,size", [(SMALL_TINY_VIT, (700, 1100)), (MOBILE_SAM_TINY_VIT, (1365, 2048))],
                         ids=["small", "mobile_sam_full"])
def test_embedding_and_early_feature_match_reference(config, size):
    ours, ref = both(config, seed=5)
    x = padded_input(*size, seed=size[0])
    with torch.inference_mode():
        expected, interm = ref(x)
        embedding, early = ours.forward_with_early(x)
        again = ours(x)
    assert embedding.shape == expected.shape == (1, 256, 64, 64)
    assert early.shape == interm[0].shape == (1, 64, 64, config.embed_dims[2])
    assert rel_err(embedding, expected) < 1e-4
    assert rel_err(early, interm[0]) < 1e-4
    assert torch.equal(again, embedding)


def test_inference_path_equals_the_autograd_path():
    ours, _ = both(SMALL_TINY_VIT, seed=2)
    x = padded_input(300, 900, seed=1)
    with torch.inference_mode():
        fast = ours(x)
    with torch.enable_grad():
        plain = ours(x).detach()
    assert rel_err(fast, plain) < 1e-5


def test_weights_changed_after_the_first_image_are_used():
    """The folded BatchNorms are made again when any tensor they come from changes."""
    ours, ref = both(SMALL_TINY_VIT, seed=3)
    x = padded_input(500, 500, seed=2)
    with torch.inference_mode():
        ours(x)
    state = perturbed_state_dict(ours, seed=9)
    ours.load_state_dict(state)
    ref.load_state_dict(state)
    ref.eval()
    with torch.inference_mode():
        assert rel_err(ours(x), ref(x)[0]) < 1e-4


@pytest.mark.parametrize("config", [MOBILE_SAM_TINY_VIT, SMALL_TINY_VIT], ids=["mobile_sam", "small"])
def test_config_is_read_off_the_state_dict(config):
    with torch.device("meta"):
        encoder = TinyViT(config)
    state = {f"image_encoder.{k}": v for k, v in encoder.state_dict().items()}
    assert infer_tiny_vit_config(state) == config
