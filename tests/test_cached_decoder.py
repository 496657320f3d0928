"""The click path (``MaskDecoder.decode_cached``) equals the decoder's reference forward (float rounding aside)."""
from __future__ import annotations

import copy

import pytest
import torch



@pytest.mark.parametrize("batch,points", [(1, 1), (1, 4), (5, 2), (1, 16), (3, 12)])  # 16, 12: unfolded
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
        cache = decoder.build_image_cache(pe, embedding)
        features = pe.mask_downscaling.features(mask_input) if with_mask else None
        masks, iou = decoder.decode_cached(cache, sparse, features, keep)
        again, _ = decoder.decode_cached(cache, sparse, features, keep)  # kept buffers reused
        assert torch.equal(again, masks)
    expected_masks, expected_iou = expected_masks[:, keep], expected_iou[:, keep]
    assert masks.shape == expected_masks.shape
    assert masks.shape[:2] == (batch, len(range(4)[keep])) and masks.shape[2:] == (256, 256)
    torch.testing.assert_close(masks, expected_masks, rtol=0, atol=1e-5 * float(expected_masks.abs().max()))
    # IoU scores are O(1) but can be tiny with seeded weights: 1e-5 of at least 1 (float rounding).
    torch.testing.assert_close(iou, expected_iou, rtol=0, atol=1e-5 * max(1.0, float(expected_iou.abs().max())))


def test_mask_input_features_equal_the_prompt_encoder_convolutions(tiny_sam):
    pe = copy.deepcopy(tiny_sam.prompt_encoder)  # the fixture is shared: change a copy
    with torch.no_grad():  # Meta's init leaves LayerNorm at identity: make every weight matter
        for p in pe.mask_downscaling.parameters():
            p.copy_(torch.randn_like(p))
    masks = torch.randn(3, 1, 256, 256) * 5
    with torch.inference_mode():
        expected = torch.nn.Sequential(*list(pe.mask_downscaling)[:-1])(masks).flatten(2).transpose(1, 2)
        features = pe.mask_downscaling.features(masks)
    torch.testing.assert_close(features, expected, rtol=1e-5, atol=1e-5)


def test_postprocess_equals_upscale_then_crop(tiny_sam):
    from torch.nn import functional as F

    low = torch.randn(2, 3, 256, 256)
    for input_size, original in [((683, 1024), (1500, 2250)), ((1024, 77), (4000, 300)), ((1024, 768), (1024, 768))]:
        full = F.interpolate(low, (1024, 1024), mode="bilinear", align_corners=False)
        full = full[..., : input_size[0], : input_size[1]]
        expected = F.interpolate(full, original, mode="bilinear", align_corners=False)
        assert torch.equal(tiny_sam.postprocess_masks(low, input_size, original), expected)


def test_the_click_path_reads_every_weight_the_reference_reads(tiny_sam):
    """Perturb one decoder or prompt-encoder tensor at a time (by its state_dict name): the
    click path must follow each change exactly as the reference forward does. A weight the
    click path took from a stale copy, from the wrong layer, or by position after a rename
    would leave its output unchanged, or change it differently."""
    pe, decoder = copy.deepcopy(tiny_sam.prompt_encoder), copy.deepcopy(tiny_sam.mask_decoder)
    gen = torch.Generator().manual_seed(7)
    embedding = torch.randn(1, 256, 64, 64, generator=gen)
    coords, labels = torch.rand(1, 2, 2, generator=gen) * 1000, torch.tensor([[1, 0]])
    boxes = torch.tensor([[100.0, 200.0, 600.0, 700.0]])
    mask_input = torch.randn(1, 1, 256, 256, generator=gen) * 5

    def both():
        with torch.inference_mode():
            sparse, dense = pe((coords, labels), boxes, mask_input)
            ref_masks, ref_iou = decoder.predict_masks(embedding, pe.get_dense_pe(), sparse, dense)
            cache = decoder.build_image_cache(pe, embedding)
            masks, iou = decoder.decode_cached(cache, sparse, pe.mask_downscaling.features(mask_input))
        return (ref_masks, ref_iou), (masks, iou)

    (base_masks, base_iou), _ = both()
    named = [(f"prompt_encoder.{n}", t) for n, t in pe.state_dict(keep_vars=True).items()]
    named += [(f"mask_decoder.{n}", t) for n, t in decoder.state_dict(keep_vars=True).items()]
    unused = []
    for name, tensor in named:
        original = tensor.detach().clone()
        with torch.no_grad():
            tensor.add_(torch.randn(tensor.shape, generator=gen) * (0.5 * float(original.std()) + 0.05)
                        if tensor.numel() > 1 else 0.3)
        (ref_masks, ref_iou), (masks, iou) = both()
        with torch.no_grad():
            tensor.copy_(original)
        if torch.equal(ref_masks, base_masks) and torch.equal(ref_iou, base_iou):
            unused.append(name)  # the reference ignores it for this prompt (e.g. no_mask_embed)
        scale = float(ref_masks.abs().max())
        torch.testing.assert_close(masks, ref_masks, rtol=0, atol=1e-4 * scale, msg=lambda m: f"{name}: {m}")
        torch.testing.assert_close(iou, ref_iou, rtol=0, atol=1e-4 * float(ref_iou.abs().max()) + 1e-6,
                                   msg=lambda m: f"{name}: {m}")
    # The check means something only if nearly every tensor matters for this prompt.
    assert sorted(unused) == ["prompt_encoder.no_mask_embed.weight", "prompt_encoder.not_a_point_embed.weight"]
