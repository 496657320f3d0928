"""``SamPredictor.decode`` runs big prompt batches a few prompts at a time: same answers."""
from __future__ import annotations

import pytest
import torch

from sam_core import SamPredictor
from sam_core.testing import synthetic_photo


@pytest.mark.parametrize("with_mask", [False, True], ids=["points", "points+mask"])
def test_passes_of_a_few_prompts_equal_one_batch(tiny_sam, with_mask):
    predictor = SamPredictor(tiny_sam, prompts_per_pass=1000)
    predictor.set_image(synthetic_photo(96, 128, seed=3))
    g = torch.Generator().manual_seed(0)
    coords = torch.rand(7, 2, 2, generator=g) * 128
    labels = torch.randint(0, 2, (7, 2), generator=g)
    masks = torch.randn(7, 1, 256, 256, generator=g) if with_mask else None
    whole, whole_iou = predictor.decode(coords, labels, None, masks, True)
    for step in (1, 2, 3):
        predictor.prompts_per_pass = step
        low_res, iou = predictor.decode(coords, labels, None, masks, True)
        assert low_res.shape == whole.shape and iou.shape == whole_iou.shape
        torch.testing.assert_close(low_res, whole, rtol=0, atol=1e-5 * float(whole.abs().max()))
        torch.testing.assert_close(iou, whole_iou, rtol=0, atol=1e-5)


def test_default_pass_size_is_small_on_the_cpu(tiny_sam):
    predictor = SamPredictor(tiny_sam)
    predictor.set_image(synthetic_photo(64, 64, seed=1))
    boxes = torch.tensor([[0.0, 0.0, 500.0, 500.0]] * 5)
    low_res, iou = predictor.decode(None, None, boxes, None, False)
    assert low_res.shape[:2] == (5, 1) and iou.shape == (5, 1)
    # The same box in the first and the last pass answers the same.
    torch.testing.assert_close(low_res[4], low_res[0], rtol=0, atol=1e-5 * float(low_res[0].abs().max()))
    torch.testing.assert_close(iou[4], iou[0], rtol=0, atol=1e-5)
