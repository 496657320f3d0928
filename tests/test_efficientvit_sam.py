"""EfficientViT-SAM end to end against the official ``efficientsam`` (L and XL layouts), seeded weights."""
from __future__ import annotations

import pytest
import torch

from sam_core import SamAutomaticMaskGenerator, SamPredictor, load_sam
from sam_core.bench.references_light import build_reference_efficientvit_sam, load_efficientvit_reference
from sam_core.testing import (
    EFFICIENTVIT_L_TEST_CONFIG,
    EFFICIENTVIT_XL_TEST_CONFIG,
    random_family_state_dict,
    synthetic_photo,
)
from sam_core.utils.transforms import get_preprocess_shape
from tests.family_parity import (
    UNFILTERED,
    blob_state,
    check_generator_matches,
    check_raw_image_masks,
    check_same_tensor_prompts,
    rel_err,
)

CONFIGS = {"l": EFFICIENTVIT_L_TEST_CONFIG, "xl": EFFICIENTVIT_XL_TEST_CONFIG}


def reference_predictor(model):
    load_efficientvit_reference()
    from efficientsam.models.efficientvit.sam import EfficientViTSamPredictor

    return EfficientViTSamPredictor(model)


@pytest.fixture(scope="module", params=sorted(CONFIGS))
def networks(request, tmp_path_factory):
    config = CONFIGS[request.param]
    state = random_family_state_dict(config, seed=3)
    path = tmp_path_factory.mktemp("evit") / f"efficientvit_sam_{request.param}_test.pt"
    torch.save({"state_dict": state}, path)  # the wrapper EfficientViT's own loader accepts
    return load_sam(path, device="cpu"), build_reference_efficientvit_sam(config, state), state


def test_loader_recognises_efficientvit_sam(networks):
    ours, _, _ = networks
    assert ours.config.family == "efficientvit_sam" and ours.config.title.startswith("EfficientViT-SAM")
    assert ours.image_encoder.img_size == ours.config.image_size


@pytest.mark.parametrize("size", [(700, 1100), (1300, 500)], ids=lambda s: f"{s[0]}x{s[1]}")
def test_same_tensor_matches_reference(networks, size):
    """Both encode the same resized image; prompts and masks go through each side's frames."""
    ours, ref, _ = networks
    h, w = size
    mine, theirs = SamPredictor(ours), reference_predictor(ref)
    image = synthetic_photo(h, w, seed=w)
    resized = mine.transform.apply_image(image)
    assert max(resized.shape[:2]) == ours.config.image_size
    mine.set_torch_image(torch.as_tensor(resized).permute(2, 0, 1)[None].float(), (h, w))
    theirs.set_image(resized)  # already at the encoder's size: the reference leaves it as it is
    theirs.original_size, theirs.input_size = (h, w), get_preprocess_shape(h, w, 1024)
    assert rel_err(mine.get_image_embedding(), theirs.features) < 1e-4
    check_same_tensor_prompts(mine, theirs, h, w)


def test_raw_image_masks_match_reference(networks):
    ours, ref, _ = networks
    h, w = 900, 1400
    mine, theirs = SamPredictor(ours), reference_predictor(ref)
    image = synthetic_photo(h, w, seed=7)
    mine.set_image(image)
    theirs.set_image(image)
    check_raw_image_masks(mine, theirs, h, w)


def test_generator_matches_reference(networks, tmp_path):
    ours, _, state = networks
    config = ours.config
    blobs = blob_state(state)
    path = tmp_path / "evit_blobs.pt"
    torch.save(blobs, path)
    sam = load_sam(path, device="cpu")
    reference = build_reference_efficientvit_sam(config, blobs)
    image = synthetic_photo(375, 501, seed=0)
    params = dict(points_per_side=4, output_mode="uncompressed_rle", **UNFILTERED)
    got = SamAutomaticMaskGenerator(sam, **params).generate(image)
    load_efficientvit_reference()
    from efficientsam.models.efficientvit.sam import EfficientViTSamAutomaticMaskGenerator

    expected = EfficientViTSamAutomaticMaskGenerator(reference, **params).generate(image)
    check_generator_matches(got, expected, image.shape[:2])


def test_bf16_encoder_keeps_the_masks(networks):
    """The reduced-precision encoder (bf16 where the CPU has it natively) against fp32."""
    import numpy as np

    from sam_core.testing import build_network

    ours, _, state = networks
    reduced = build_network(ours.config)
    reduced.load_state_dict(state)
    reduced.image_encoder.to(torch.bfloat16)
    image = synthetic_photo(500, 800, seed=11)
    exact, fast = SamPredictor(ours), SamPredictor(reduced)
    exact.set_image(image)
    fast.set_image(image)
    for point in ([200, 150], [600, 400], [400, 250]):
        prompt = dict(point_coords=np.array([point]), point_labels=np.array([1]))
        a, b = exact.predict_candidates(**prompt), fast.predict_candidates(**prompt)
        best = a.best
        union = np.logical_or(a.mask(best), b.mask(best)).sum()
        assert union == 0 or np.logical_and(a.mask(best), b.mask(best)).sum() / union >= 0.97


def test_block_hooks_fire_once_per_encode(networks):
    """As for TinyViT: each of ``image_encoder.blocks`` runs its hooks once per image."""
    ours, _, _ = networks
    calls = []
    handles = [block.register_forward_pre_hook(lambda *_, i=i: calls.append(i))
               for i, block in enumerate(ours.image_encoder.blocks)]
    try:
        SamPredictor(ours).set_image(synthetic_photo(300, 500, seed=2))
        assert calls == list(range(len(ours.image_encoder.blocks)))
    finally:
        for handle in handles:
            handle.remove()
