"""HQ-SAM end to end against the official ``segment_anything_hq`` (ViT and TinyViT encoders), seeded weights."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from sam_core import EmbeddingCache, SamAutomaticMaskGenerator, SamPredictor, load_sam
from sam_core.bench.references_light import build_reference_hq_sam, load_hq_reference
from sam_core.modeling.hq_sam import INTERM_EMBED
from sam_core.testing import HQ_TINY_TEST_CONFIG, HQ_VIT_TEST_CONFIG, random_family_state_dict, synthetic_photo
from tests.family_parity import (
    UNFILTERED,
    blob_state,
    check_generator_matches,
    check_raw_image_masks,
    check_same_tensor_prompts,
    rel_err,
)

CONFIGS = {"vit": HQ_VIT_TEST_CONFIG, "vit_tiny": HQ_TINY_TEST_CONFIG}


@pytest.fixture(scope="module", params=sorted(CONFIGS))
def networks(request, tmp_path_factory):
    """(ours loaded from a file, the reference, the state_dict) for each encoder kind."""
    config = CONFIGS[request.param]
    state = random_family_state_dict(config, seed=2)
    path = tmp_path_factory.mktemp("hq") / f"sam_hq_{request.param}_test.pth"
    torch.save(state, path)
    return load_sam(path, device="cpu"), build_reference_hq_sam(config.encoder, state), state


def test_loader_recognises_hq_sam(networks):
    ours, _, _ = networks
    assert ours.config.family == "hq_sam" and ours.config.title.startswith("HQ-SAM")
    assert type(ours.mask_decoder).__name__ == "MaskDecoderHQ"


@pytest.mark.parametrize("hq_token_only", [False, True])
def test_same_tensor_matches_reference(networks, hq_token_only):
    ours, ref, _ = networks
    h, w = 600, 1000
    mine, theirs = SamPredictor(ours), load_hq_reference().SamPredictor(ref)
    ours.hq_token_only = hq_token_only
    try:
        image = synthetic_photo(h, w, seed=3)
        tensor = torch.as_tensor(mine.transform.apply_image(image)).permute(2, 0, 1)[None].float()
        mine.set_torch_image(tensor, (h, w))
        theirs.set_torch_image(tensor, (h, w))
        assert rel_err(mine.get_image_embedding(), theirs.get_image_embedding()) < 1e-4
        early = mine.get_embedding()[INTERM_EMBED].permute(0, 2, 3, 1)
        assert rel_err(early, theirs.interm_features[0]) < 1e-4
        check_same_tensor_prompts(mine, theirs, h, w, hq_token_only=hq_token_only)
    finally:
        ours.hq_token_only = False


def test_raw_image_masks_match_reference(networks):
    ours, ref, _ = networks
    h, w = 1200, 500
    mine, theirs = SamPredictor(ours), load_hq_reference().SamPredictor(ref)
    image = synthetic_photo(h, w, seed=4)
    mine.set_image(image)
    theirs.set_image(image)
    check_raw_image_masks(mine, theirs, h, w)


def test_the_early_feature_survives_the_disk_cache(networks, tmp_path):
    ours, _, _ = networks
    image = synthetic_photo(300, 400, seed=6)
    first = SamPredictor(ours)
    first.set_image(image)
    cache = EmbeddingCache(tmp_path)
    cache.save("img", ours.checkpoint_id, first.get_embedding(), first.original_size, first.input_size)
    restored = cache.load("img", ours.checkpoint_id)
    assert set(restored.embedding) == {"image_embed", INTERM_EMBED}
    second = SamPredictor(ours)
    second.set_image_embedding(restored.embedding, restored.original_size, restored.input_size)
    prompt = dict(point_coords=np.array([[150, 120]]), point_labels=np.array([1]))
    masks_a, iou_a, _ = first.predict(**prompt)
    masks_b, iou_b, _ = second.predict(**prompt)  # from fp16 tensors
    assert np.abs(iou_a - iou_b).max() < 2e-2
    assert (masks_a == masks_b).mean() > 0.99


def test_generator_matches_reference(networks, tmp_path):
    ours, _, state = networks
    config = HQ_TINY_TEST_CONFIG if type(ours.image_encoder).__name__ == "TinyViT" else HQ_VIT_TEST_CONFIG
    blobs = blob_state(state, extra_hypernetworks=("mask_decoder.hf_mlp.layers.2",))
    path = tmp_path / "hq_blobs.pth"
    torch.save(blobs, path)
    sam = load_sam(path, device="cpu")
    reference = build_reference_hq_sam(config.encoder, blobs)
    image = synthetic_photo(375, 501, seed=0)
    params = dict(points_per_side=4, output_mode="uncompressed_rle", **UNFILTERED)
    got = SamAutomaticMaskGenerator(sam, **params).generate(image)
    hq = load_hq_reference()
    expected = hq.SamAutomaticMaskGenerator(reference, **params).generate(image, multimask_output=True)
    check_generator_matches(got, expected, image.shape[:2])
