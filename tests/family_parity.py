"""Checks shared by the parity tests of the SAM families: our ``SamPredictor`` against a family's
official predictor, prompts in the original frame, and the generator against the official one."""
from __future__ import annotations

import numpy as np
import torch

from sam_core.utils.rle import rle_to_mask


def prompt_cases(h: int, w: int) -> dict[str, dict]:
    """Prompts in the original (x, y) pixel frame."""
    box = np.array([0.2 * w, 0.25 * h, 0.7 * w, 0.8 * h])
    return {
        "one_point": dict(point_coords=np.array([[0.4 * w, 0.5 * h]]), point_labels=np.array([1])),
        "pos_neg": dict(point_coords=np.array([[0.3 * w, 0.3 * h], [0.6 * w, 0.7 * h], [0.8 * w, 0.2 * h]]),
                        point_labels=np.array([1, 0, 1])),
        "box_points": dict(box=box, point_coords=np.array([[0.45 * w, 0.5 * h]]), point_labels=np.array([0])),
    }


def rel_err(ours, ref) -> float:
    ours, ref = np.asarray(ours, dtype=np.float64), np.asarray(ref, dtype=np.float64)
    return float(np.abs(ours - ref).max() / max(np.abs(ref).max(), 1e-12))


def iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.logical_or(a, b).sum()
    return 1.0 if union == 0 else float(np.logical_and(a, b).sum() / union)


def check_same_tensor_prompts(ours, ref, h: int, w: int, **ref_kwargs) -> None:
    """Low-res logits, IoU and full-resolution logits to 1e-4, with and without a mask prompt."""
    for name, prompt in prompt_cases(h, w).items():
        for multimask in (True, False):
            o = ours.predict(**prompt, multimask_output=multimask, return_logits=True)
            r = ref.predict(**prompt, multimask_output=multimask, return_logits=True, **ref_kwargs)
            assert o[0].shape == r[0].shape and o[0].shape[1:] == (h, w), name
            assert rel_err(o[2], r[2]) < 1e-4, f"{name} low-res logits"
            assert rel_err(o[1], r[1]) < 1e-4, f"{name} iou"
            assert rel_err(o[0], r[0]) < 1e-4, f"{name} full-res logits"
            best = int(np.argmax(r[1]))
            follow = dict(prompt, mask_input=r[2][best : best + 1])
            o2 = ours.predict(**follow, multimask_output=multimask)
            r2 = ref.predict(**follow, multimask_output=multimask, **ref_kwargs)
            assert o2[0].dtype == np.bool_
            assert rel_err(o2[2], r2[2]) < 1e-4, f"{name} with mask_input"
            assert rel_err(o2[1], r2[1]) < 1e-4, f"{name} with mask_input iou"
            for mo, mr in zip(o2[0], r2[0]):
                assert iou(mo, mr) > 0.999, name


def check_raw_image_masks(ours, ref, h: int, w: int, **ref_kwargs) -> None:
    """From uint8 images each side resizes its own way: every mask at IoU >= 0.99."""
    for name, prompt in prompt_cases(h, w).items():
        for multimask in (True, False):
            mo, io, _ = ours.predict(**prompt, multimask_output=multimask)
            mr, ir, _ = ref.predict(**prompt, multimask_output=multimask, **ref_kwargs)
            assert mo.dtype == np.bool_ and mo.shape == mr.shape
            np.testing.assert_allclose(io, ir, atol=2e-2)
            for a, b in zip(mo, mr):
                assert iou(a, b) >= 0.99, f"{name} multimask={multimask}"


def blob_state(state: dict[str, torch.Tensor], extra_hypernetworks: tuple[str, ...] = ()) -> dict[str, torch.Tensor]:
    """Seeded weights whose masks are blobs with varied boxes (as the v1 generator test makes
    them): the decoder's 2x2 upscaling kernels averaged, hypernetwork outputs scaled up."""
    state = dict(state)
    for key in ("mask_decoder.output_upscaling.0.weight", "mask_decoder.output_upscaling.3.weight"):
        state[key] = state[key].mean(dim=(2, 3), keepdim=True).expand_as(state[key]).contiguous()
    names = [f"mask_decoder.output_hypernetworks_mlps.{i}.layers.2" for i in range(4)] + list(extra_hypernetworks)
    for name in names:
        for part in ("weight", "bias"):
            state[f"{name}.{part}"] = state[f"{name}.{part}"] * 50.0
    return state


#: Generator settings that keep every candidate: random weights predict low IoUs and speckled
#: masks whose boxes span the image, which would leave one mask after box NMS. Unfiltered,
#: every candidate of the grid is compared (NMS itself is the v1 tests' subject).
UNFILTERED = dict(pred_iou_thresh=0.0, stability_score_thresh=0.0, box_nms_thresh=1.0)


def mask_stack(records: list[dict], size: tuple[int, int]) -> np.ndarray:
    if not records:
        return np.zeros((0, *size), bool)
    return np.stack([rle_to_mask(r["segmentation"]) for r in records])


def check_generator_matches(ours: list[dict], theirs: list[dict], size: tuple[int, int]) -> None:
    """Same count (within 1%), and every reference mask found at IoU >= 0.99."""
    assert len(theirs) >= 3, "the weights should leave several masks to compare"
    assert abs(len(ours) - len(theirs)) <= 0.01 * len(theirs), (len(ours), len(theirs))
    a = torch.from_numpy(mask_stack(ours, size).reshape(len(ours), -1)).double()
    b = torch.from_numpy(mask_stack(theirs, size).reshape(len(theirs), -1)).double()
    inter = b @ a.T
    union = b.sum(1)[:, None] + a.sum(1)[None, :] - inter
    best = torch.where(union > 0, inter / union.clamp(min=1), torch.ones_like(inter)).max(dim=1).values
    assert bool((best >= 0.99).all()), np.sort(best.numpy())[:5]
