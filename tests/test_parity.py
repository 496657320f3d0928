"""sam_core against Meta's reference implementation, with identical seeded weights.

Given the same preprocessed tensor, embeddings, low-res logits, IoU predictions
and full-resolution logits agree to 1e-4 relative. From raw uint8 images (where
the two resizers may differ by one grey level) every mask reaches IoU >= 0.99.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch
from sam_core.testing import synthetic_photo
from sam_core.bench.reference import build_reference_sam, load_reference

from sam_core import SamPredictor, build_sam
from sam_core.testing import VIT_B_CONFIG, random_state_dict

SIZES = [(770, 769), (1365, 2048), (4000, 300)]


def prompt_cases(h: int, w: int) -> dict[str, dict]:
    """Prompts in the original (x, y) pixel frame."""
    box = np.array([0.2 * w, 0.25 * h, 0.7 * w, 0.8 * h])
    return {
        "one_point": dict(point_coords=np.array([[0.4 * w, 0.5 * h]]), point_labels=np.array([1])),
        "pos_neg": dict(
            point_coords=np.array([[0.3 * w, 0.3 * h], [0.6 * w, 0.7 * h], [0.8 * w, 0.2 * h]]),
            point_labels=np.array([1, 0, 1]),
        ),
        "box": dict(box=box),
        "box_points": dict(
            box=box, point_coords=np.array([[0.45 * w, 0.5 * h], [0.3 * w, 0.7 * h]]), point_labels=np.array([1, 0])
        ),
    }


def rel_err(ours: np.ndarray | torch.Tensor, ref: np.ndarray | torch.Tensor) -> float:
    ours, ref = np.asarray(ours, dtype=np.float64), np.asarray(ref, dtype=np.float64)
    return float(np.abs(ours - ref).max() / max(np.abs(ref).max(), 1e-12))


def iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.logical_or(a, b).sum()
    return 1.0 if union == 0 else float(np.logical_and(a, b).sum() / union)


def both_predictors(ours_model, ref_model):
    return SamPredictor(ours_model), load_reference().SamPredictor(ref_model)


def check_prompts_same_tensor(ours: SamPredictor, ref, h: int, w: int) -> None:
    for name, prompt in prompt_cases(h, w).items():
        for multimask in (True, False):
            o = ours.predict(**prompt, multimask_output=multimask, return_logits=True)
            r = ref.predict(**prompt, multimask_output=multimask, return_logits=True)
            assert o[0].shape == r[0].shape == ((3 if multimask else 1), h, w), name
            assert rel_err(o[2], r[2]) < 1e-4, f"{name} low-res logits"
            assert rel_err(o[1], r[1]) < 1e-4, f"{name} iou"
            assert rel_err(o[0], r[0]) < 1e-4, f"{name} full-res logits"
            for mo, mr in zip(o[0] > 0, r[0] > 0):
                assert iou(mo, mr) > 0.999, name
            # Feed the best low-res logits back as mask_input, as an interactive session does.
            best = int(np.argmax(r[1]))
            follow = dict(prompt, mask_input=r[2][best : best + 1])
            o2 = ours.predict(**follow, multimask_output=multimask)
            r2 = ref.predict(**follow, multimask_output=multimask)
            assert o2[0].dtype == np.bool_
            assert rel_err(o2[2], r2[2]) < 1e-4, f"{name} with mask_input"
            assert rel_err(o2[1], r2[1]) < 1e-4, f"{name} with mask_input iou"
            for mo, mr in zip(o2[0], r2[0]):
                assert iou(mo, mr) > 0.999, name


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_same_tensor_matches_reference(tiny_sam, tiny_reference, size):
    h, w = size
    ours, ref = both_predictors(tiny_sam, tiny_reference)
    image = synthetic_photo(h, w, seed=h)
    tensor = torch.as_tensor(ours.transform.apply_image(image)).permute(2, 0, 1)[None].float()
    ours.set_torch_image(tensor, (h, w))
    ref.set_torch_image(tensor, (h, w))
    assert ours.input_size == ref.input_size and ours.original_size == ref.original_size
    assert rel_err(ours.get_image_embedding(), ref.get_image_embedding()) < 1e-4
    check_prompts_same_tensor(ours, ref, h, w)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_raw_image_masks_match_reference(tiny_sam, tiny_reference, size):
    h, w = size
    ours, ref = both_predictors(tiny_sam, tiny_reference)
    image = synthetic_photo(h, w, seed=h + 1)
    ours.set_image(image)
    ref.set_image(image)
    assert ours.input_size == ref.input_size
    for name, prompt in prompt_cases(h, w).items():
        for multimask in (True, False):
            mo, io, lo = ours.predict(**prompt, multimask_output=multimask)
            mr, ir, lr = ref.predict(**prompt, multimask_output=multimask)
            assert mo.dtype == np.bool_ and mo.shape == mr.shape
            np.testing.assert_allclose(io, ir, atol=2e-2)
            for a, b in zip(mo, mr):
                assert iou(a, b) >= 0.99, f"{name} multimask={multimask}"


def test_bgr_input_is_swapped_like_reference(tiny_sam, tiny_reference):
    ours, ref = both_predictors(tiny_sam, tiny_reference)
    image = synthetic_photo(300, 400, seed=3)
    ours.set_image(image[:, :, ::-1], image_format="BGR")
    ref.set_image(image[:, :, ::-1].copy(), image_format="BGR")
    assert rel_err(ours.get_image_embedding(), ref.get_image_embedding()) < 1e-2


@pytest.mark.slow
def test_full_vit_b_matches_reference():
    """The real vit_b shapes: 12 blocks, 4 global, 12 heads, 768-d."""
    state = random_state_dict(VIT_B_CONFIG, seed=7)
    ours_model = build_sam(VIT_B_CONFIG)
    ours_model.load_state_dict(state, strict=True)
    ref_model = build_reference_sam(VIT_B_CONFIG, state)
    ours, ref = both_predictors(ours_model, ref_model)
    h, w = 1365, 2048
    image = synthetic_photo(h, w, seed=11)
    tensor = torch.as_tensor(ours.transform.apply_image(image)).permute(2, 0, 1)[None].float()
    ours.set_torch_image(tensor, (h, w))
    ref.set_torch_image(tensor, (h, w))
    assert rel_err(ours.get_image_embedding(), ref.get_image_embedding()) < 1e-4
    for name, prompt in prompt_cases(h, w).items():
        o = ours.predict(**prompt, return_logits=True)
        r = ref.predict(**prompt, return_logits=True)
        assert rel_err(o[2], r[2]) < 1e-4, name
        assert rel_err(o[1], r[1]) < 1e-4, name
        for mo, mr in zip(o[0] > 0, r[0] > 0):
            assert iou(mo, mr) > 0.999, name
