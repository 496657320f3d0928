"""MaskUpscaler against ``Sam.postprocess_masks`` (Meta's two-step resize) and brute-force figures."""
from __future__ import annotations

import pytest
import torch

from sam_core.upscale import MaskUpscaler
from sam_core.utils.generation import MaskRuns
from sam_core.utils.transforms import get_preprocess_shape

SIZES = [(1500, 2250), (768, 1024), (600, 800), (4000, 300), (1, 5000), (5000, 1), (37, 23)]


def low_res_maps(seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    smooth = torch.nn.functional.interpolate(torch.randn(5, 1, 12, 12, generator=g) * 6, (256, 256), mode="bilinear")
    speckle = torch.randn(3, 256, 256, generator=g) * 2
    flat = torch.stack([torch.full((256, 256), -5.0), torch.full((256, 256), 5.0)])
    return torch.cat([smooth[:, 0], speckle, flat])


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_matches_postprocess_masks(tiny_sam, size):
    input_size = get_preprocess_shape(*size, 1024)
    low = low_res_maps(size[0])
    upscaler = MaskUpscaler.for_sam(256, 1024, input_size, size)
    expected = tiny_sam.postprocess_masks(low[None], input_size, size)[0]
    logits = upscaler.logits(low)
    assert logits.shape == expected.shape
    assert float((logits - expected).abs().max()) <= 1e-5 * float(expected.abs().max())
    masks = upscaler.masks(low, 0.0)
    assert masks.dtype == torch.bool and masks.shape == expected.shape
    # Only pixels whose logit is within rounding of the cut may differ.
    differ = masks != (expected > 0)
    assert bool((expected[differ].abs() < 1e-4).all())


@pytest.mark.parametrize("size", [(768, 1024), (600, 800), (1, 50)], ids=lambda s: f"{s[0]}x{s[1]}")
def test_statistics_equal_brute_force(size):
    input_size = get_preprocess_shape(*size, 1024)
    low = low_res_maps(7)
    upscaler = MaskUpscaler.for_sam(256, 1024, input_size, size)
    covered = torch.rand(size, generator=torch.Generator().manual_seed(1)) > 0.6
    stats = upscaler.statistics(low, (1.0, -1.0, 0.0), 0.0, covered)
    full = upscaler.logits(low)
    for k, cut in enumerate((1.0, -1.0, 0.0)):
        assert stats.counts[k].tolist() == (full > cut).flatten(1).sum(1).tolist()
    assert stats.covered.tolist() == ((full > 0) & covered).flatten(1).sum(1).tolist()
    assert stats.boxes.tolist() == MaskRuns.from_masks(full > 0).boxes().tolist()


def tie_maps(seed: int) -> torch.Tensor:
    """Low-res maps full of values exactly at the cuts (0, +-1) and of ties: quantised noise,
    blocks of one value, a map at exactly each cut, and smooth maps with plateaus."""
    g = torch.Generator().manual_seed(seed)
    quantised = torch.round(torch.randn(4, 256, 256, generator=g) * 2) / 2
    blocky = torch.randint(-2, 3, (4, 16, 16), generator=g).float().repeat_interleave(16, 1).repeat_interleave(16, 2)
    exact = torch.stack([torch.full((256, 256), v) for v in (0.0, 1.0, -1.0, 1e-7, -1e-7)])
    smooth = torch.nn.functional.interpolate(torch.randn(4, 1, 8, 8, generator=g) * 4, (256, 256), mode="bilinear")
    plateaus = smooth[:, 0].clamp(-1.0, 1.0)
    return torch.cat([quantised, blocky, exact, plateaus, plateaus * 3e4])


@pytest.mark.parametrize("size", [(768, 1024), (1500, 2250), (333, 517), (40, 7)], ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("dense", [False, True], ids=["settled", "dense"])
def test_settled_statistics_equal_brute_force_at_ties(size, dense):
    """Settling tiles from their low-res range changes no figure, even for logits at a cut."""
    input_size = get_preprocess_shape(*size, 1024)
    low = tie_maps(size[1])
    upscaler = MaskUpscaler.for_sam(256, 1024, input_size, size)
    if dense:
        upscaler.tile_grid().settles = False  # every tile evaluated: the dense figures
    covered = torch.rand(size, generator=torch.Generator().manual_seed(2)) > 0.5
    cuts = (1.0, -1.0, 0.0, 0.5)
    stats = upscaler.statistics(low, cuts, 0.0, covered)
    full = upscaler.logits(low)
    for k, cut in enumerate(cuts):
        assert stats.counts[k].tolist() == (full > cut).flatten(1).sum(1).tolist(), cut
    assert stats.covered.tolist() == ((full > 0) & covered).flatten(1).sum(1).tolist()
    assert stats.boxes.tolist() == MaskRuns.from_masks(full > 0).boxes().tolist()
    high = upscaler.statistics(low, (1.0,), 1.0)
    assert high.covered is None
    assert high.boxes.tolist() == MaskRuns.from_masks(full > 1.0).boxes().tolist()
