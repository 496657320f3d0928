"""MobileSAM end to end against the official code (TinyViT + Meta's decoder and predictor), seeded weights."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from sam_core import SamAutomaticMaskGenerator, SamPredictor, load_sam
from sam_core.bench.reference import load_reference
from sam_core.bench.references_light import build_reference_mobile_sam
from sam_core.testing import MOBILE_SAM_TEST_CONFIG, random_family_state_dict, synthetic_photo
from tests.family_parity import (
    UNFILTERED,
    blob_state,
    check_generator_matches,
    check_raw_image_masks,
    check_same_tensor_prompts,
    rel_err,
)

SIZES = [(700, 1100), (1500, 400)]


@pytest.fixture(scope="module")
def state():
    return random_family_state_dict(MOBILE_SAM_TEST_CONFIG, seed=1)


@pytest.fixture(scope="module")
def ours(state, tmp_path_factory):
    path = tmp_path_factory.mktemp("mobile") / "mobile_sam_test.pt"
    torch.save(state, path)
    return load_sam(path, device="cpu")


@pytest.fixture(scope="module")
def reference(state):
    return build_reference_mobile_sam(MOBILE_SAM_TEST_CONFIG.tiny_vit, state)


def test_loader_recognises_mobile_sam(ours):
    assert type(ours.image_encoder).__name__ == "TinyViT"
    assert ours.config.family == "mobile_sam" and ours.config == MOBILE_SAM_TEST_CONFIG
    assert ours.config.title.startswith("MobileSAM")


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_same_tensor_matches_reference(ours, reference, size):
    h, w = size
    mine, theirs = SamPredictor(ours), load_reference().SamPredictor(reference)
    image = synthetic_photo(h, w, seed=h)
    tensor = torch.as_tensor(mine.transform.apply_image(image)).permute(2, 0, 1)[None].float()
    mine.set_torch_image(tensor, (h, w))
    theirs.set_torch_image(tensor, (h, w))
    assert mine.input_size == theirs.input_size
    assert rel_err(mine.get_image_embedding(), theirs.get_image_embedding()) < 1e-4
    check_same_tensor_prompts(mine, theirs, h, w)


def test_raw_image_masks_match_reference(ours, reference):
    h, w = 900, 1300
    mine, theirs = SamPredictor(ours), load_reference().SamPredictor(reference)
    image = synthetic_photo(h, w, seed=5)
    mine.set_image(image)
    theirs.set_image(image)
    check_raw_image_masks(mine, theirs, h, w)


def test_generator_matches_reference(state, tmp_path):
    blobs = blob_state(state)
    path = tmp_path / "mobile_blobs.pt"
    torch.save(blobs, path)
    sam = load_sam(path, device="cpu")
    reference = build_reference_mobile_sam(MOBILE_SAM_TEST_CONFIG.tiny_vit, blobs)
    image = synthetic_photo(375, 501, seed=0)
    params = dict(points_per_side=4, output_mode="uncompressed_rle", **UNFILTERED)
    got = SamAutomaticMaskGenerator(sam, **params).generate(image)
    load_reference()
    from segment_anything import SamAutomaticMaskGenerator as Reference

    expected = Reference(reference, **params).generate(image)
    check_generator_matches(got, expected, image.shape[:2])


@pytest.mark.slow
def test_full_mobile_sam_matches_reference():
    """The published TinyViT-5M shape, from one seeded checkpoint."""
    from sam_core.testing import MOBILE_SAM_CONFIG, build_network

    state = random_family_state_dict(MOBILE_SAM_CONFIG, seed=2)
    sam = build_network(MOBILE_SAM_CONFIG)
    sam.load_state_dict(state, strict=True)
    mine = SamPredictor(sam)
    theirs = load_reference().SamPredictor(build_reference_mobile_sam(MOBILE_SAM_CONFIG.tiny_vit, state))
    h, w = 1365, 2048
    image = synthetic_photo(h, w, seed=9)
    tensor = torch.as_tensor(mine.transform.apply_image(image)).permute(2, 0, 1)[None].float()
    mine.set_torch_image(tensor, (h, w))
    theirs.set_torch_image(tensor, (h, w))
    assert rel_err(mine.get_image_embedding(), theirs.get_image_embedding()) < 1e-4
    prompt = dict(point_coords=np.array([[0.4 * w, 0.5 * h]]), point_labels=np.array([1]))
    o, r = mine.predict(**prompt, return_logits=True), theirs.predict(**prompt, return_logits=True)
    assert rel_err(o[2], r[2]) < 1e-4 and rel_err(o[1], r[1]) < 1e-4


def test_bf16_encoder_keeps_the_masks(ours, state):
    """The reduced-precision encoder (bf16 where the CPU has it natively) against fp32."""
    from sam_core.testing import build_network

    reduced = build_network(MOBILE_SAM_TEST_CONFIG)
    reduced.load_state_dict(state)
    reduced.image_encoder.to(torch.bfloat16)
    image = synthetic_photo(500, 800, seed=11)
    exact, fast = SamPredictor(ours), SamPredictor(reduced)
    exact.set_image(image)
    fast.set_image(image)
    assert fast.get_image_embedding().dtype == torch.float32
    for point in ([200, 150], [600, 400], [400, 250]):
        prompt = dict(point_coords=np.array([point]), point_labels=np.array([1]))
        a, b = exact.predict_candidates(**prompt), fast.predict_candidates(**prompt)
        best = a.best
        union = np.logical_or(a.mask(best), b.mask(best)).sum()
        assert union == 0 or np.logical_and(a.mask(best), b.mask(best)).sum() / union >= 0.97


def test_block_hooks_fire_once_per_encode(ours):
    """The worker's progress and cancellation hooks sit on ``image_encoder.blocks``: each must run
    once per image, on the fast path too (and not for the padding rows' blank run)."""
    calls = []
    handles = [block.register_forward_pre_hook(lambda *_, i=i: calls.append(i))
               for i, block in enumerate(ours.image_encoder.blocks)]
    try:
        predictor = SamPredictor(ours)
        predictor.set_image(synthetic_photo(300, 500, seed=2))  # padded rows: a blank run first
        assert calls == list(range(len(ours.image_encoder.blocks)))
    finally:
        for handle in handles:
            handle.remove()
