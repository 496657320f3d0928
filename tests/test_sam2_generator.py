"""SamAutomaticMaskGenerator on SAM 2 against the official SAM2AutomaticMaskGenerator.

Both run the same seeded weights (the hypernetworks' last layers scaled up for SAM-like
logit magnitudes) on the same photo. Random weights give masks that nearly fill the
image, whose boxes box NMS would collapse to one, so NMS is set to keep everything:
what is compared is every candidate the decoder, the filters, the mask-to-mask
refinement and the upscaling let through (NMS and the RLEs are shared with SAM v1's
generator and tested there).
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

from sam_core import SamAutomaticMaskGenerator, build_sam
from sam_core.bench import reference_sam2
from sam_core.families.sam2 import build_sam2, network_weights
from sam_core.testing import SAM2_TEST_CONFIG, TINY_CONFIG, random_sam2_state_dict, synthetic_photo
from sam_core.utils.rle import rle_to_mask

LOW_THRESHOLDS = dict(pred_iou_thresh=0.45, stability_score_thresh=0.3, box_nms_thresh=1.0)


@pytest.fixture(scope="module")
def state() -> dict[str, torch.Tensor]:
    state = random_sam2_state_dict(SAM2_TEST_CONFIG, seed=0)
    for i in range(4):
        state[f"sam_mask_decoder.output_hypernetworks_mlps.{i}.layers.2.weight"] *= 50.0
    return state


@pytest.fixture(scope="module")
def networks(state):
    ours = build_sam2(SAM2_TEST_CONFIG)
    ours.load_state_dict(network_weights(state))
    return ours, reference_sam2.build_reference_sam2(SAM2_TEST_CONFIG, state)


def reference_generate(model, image: np.ndarray, **kwargs) -> list[dict]:
    reference_sam2.load_reference_sam2()
    from sam2.automatic_mask_generator import SAM2AutomaticMaskGenerator

    with warnings.catch_warnings():  # its transforms are TorchScript, deprecated in torch 2.13
        warnings.filterwarnings("ignore", message=".*torch.jit.script.*", category=DeprecationWarning)
        generator = SAM2AutomaticMaskGenerator(model, output_mode="uncompressed_rle", **kwargs)
    return generator.generate(image)


def test_family_defaults():
    sam2 = build_sam2(SAM2_TEST_CONFIG)
    generator = SamAutomaticMaskGenerator(sam2)
    assert generator.pred_iou_thresh == 0.8 and generator.use_m2m is False and generator.mask_threshold == 0.0
    assert SamAutomaticMaskGenerator(build_sam(TINY_CONFIG)).pred_iou_thresh == 0.88
    assert SamAutomaticMaskGenerator(sam2, pred_iou_thresh=0.5, use_m2m=True).use_m2m is True


@pytest.mark.parametrize("use_m2m,side", [(False, 8), (True, 4)], ids=["plain", "m2m"])
def test_matches_reference_generator(networks, use_m2m, side):
    ours_net, ref_net = networks
    image = synthetic_photo(300, 420, seed=0)
    kwargs = dict(points_per_side=side, use_m2m=use_m2m, **LOW_THRESHOLDS)
    ours = SamAutomaticMaskGenerator(ours_net, output_mode="uncompressed_rle", **kwargs).generate(image)
    theirs = reference_generate(ref_net, image, **kwargs)
    assert len(ours) == len(theirs) > side * side  # several candidates per point pass
    a = np.stack([rle_to_mask(r["segmentation"]) for r in ours]).reshape(len(ours), -1).astype(np.float64)
    b = np.stack([rle_to_mask(r["segmentation"]) for r in theirs]).reshape(len(theirs), -1).astype(np.float64)
    inter = a @ b.T
    iou = inter / np.maximum(a.sum(1)[:, None] + b.sum(1)[None] - inter, 1)
    assert iou.max(axis=0).min() >= 0.99
    ours_scores = sorted(round(r["predicted_iou"], 4) for r in ours)
    np.testing.assert_allclose(ours_scores, sorted(round(r["predicted_iou"], 4) for r in theirs), atol=2e-4)
    stabilities = sorted(r["stability_score"] for r in ours)
    np.testing.assert_allclose(stabilities, sorted(r["stability_score"] for r in theirs), atol=1e-3)
    assert {tuple(r["crop_box"]) for r in ours} == {(0, 0, 420, 300)}
