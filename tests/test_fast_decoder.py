"""The rearranged click-path decoder equals Meta's decoder arithmetic (float rounding aside)."""
from __future__ import annotations

import copy

import pytest
import torch

from sam_core import fast_decoder


@pytest.mark.parametrize("batch,points", [(1, 1), (1, 4), (5, 2)])
@pytest.mark.parametrize("with_box", [False, True])
@pytest.mark.parametrize("with_mask", [False, True])
@pytest.mark.parametrize("keep", [slice(None), slice(1, None), slice(0, 1)])
def test_fast_decode_equals_module_forward(tiny_sam, batch, points, with_box, with_mask, keep):
    pe, decoder = tiny_sam.prompt_encoder, tiny_sam.mask_decoder
    gen = torch.Generator().manual_seed(batch * 10 + points)
    embedding = torch.randn(1, 256, 64, 64, generator=gen)
    coords = torch.rand(batch, points, 2, generator=gen) * 1000
    labels = torch.randint(0, 2, (batch, points), generator=gen)
    boxes = torch.tensor([[100.0, 200.0, 600.0, 700.0]]).repeat(batch, 1) if with_box else None
    mask_input = torch.randn(batch, 1, 256, 256, generator=gen) * 5 if with_mask else None
    with torch.inference_mode():
        sparse, dense = pe((coords, labels), boxes, mask_input)
        expected_masks, expected_iou = decoder.predict_masks(embedding, pe.get_dense_pe(), sparse, dense)
        cache = fast_decoder.build_image_cache(pe, decoder, embedding)
        features = fast_decoder.mask_input_features(pe, mask_input) if with_mask else None
        masks, iou = fast_decoder.decode(decoder, cache, sparse, features, keep)
        again, _ = fast_decoder.decode(decoder, cache, sparse, features, keep)  # kept buffers reused
        assert torch.equal(again, masks)
    expected_masks, expected_iou = expected_masks[:, keep], expected_iou[:, keep]
    assert masks.shape == expected_masks.shape
    assert masks.shape[:2] == (batch, len(range(4)[keep])) and masks.shape[2:] == (256, 256)
    torch.testing.assert_close(masks, expected_masks, rtol=0, atol=1e-5 * float(expected_masks.abs().max()))
    torch.testing.assert_close(iou, expected_iou, rtol=0, atol=1e-5 * float(expected_iou.abs().max()))


def test_mask_input_features_equal_the_prompt_encoder_convolutions(tiny_sam):
    pe = copy.deepcopy(tiny_sam.prompt_encoder)  # the fixture is shared: change a copy
    with torch.no_grad():  # Meta's init leaves LayerNorm at identity: make every weight matter
        for p in pe.mask_downscaling.parameters():
            p.copy_(torch.randn_like(p))
    masks = torch.randn(3, 1, 256, 256) * 5
    with torch.inference_mode():
        expected = pe.mask_downscaling[:-1](masks).flatten(2).transpose(1, 2)
        features = fast_decoder.mask_input_features(pe, masks)
    torch.testing.assert_close(features, expected, rtol=1e-5, atol=1e-5)


def test_postprocess_equals_upscale_then_crop(tiny_sam):
    from torch.nn import functional as F

    low = torch.randn(2, 3, 256, 256)
    for input_size, original in [((683, 1024), (1500, 2250)), ((1024, 77), (4000, 300)), ((1024, 768), (1024, 768))]:
        full = F.interpolate(low, (1024, 1024), mode="bilinear", align_corners=False)
        full = full[..., : input_size[0], : input_size[1]]
        expected = F.interpolate(full, original, mode="bilinear", align_corners=False)
        assert torch.equal(tiny_sam.postprocess_masks(low, input_size, original), expected)
