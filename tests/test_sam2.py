"""SAM 2 / 2.1 through sam_core's API: recognising the published files, embeddings of three
tensors in memory and on disk, the interactive candidates, reduced precision."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from sam_core import CheckpointError, EmbeddingCache, SamPredictor, load_sam
from sam_core.families.sam2 import HIERA_VARIANTS, Sam2Config, build_sam2, infer_config
from sam_core.testing import (
    SAM2_TEST_CONFIG,
    random_sam2_state_dict,
    sam2_video_tensor_shapes,
    synthetic_photo,
    write_random_sam2_checkpoint,
)

ROOT = Path(__file__).resolve().parents[1]
POINT = dict(point_coords=np.array([[150, 100]]), point_labels=np.array([1]))


@pytest.fixture(scope="module")
def sam2_checkpoint(tmp_path_factory) -> Path:
    return write_random_sam2_checkpoint(tmp_path_factory.mktemp("sam2") / "sam2.1_hiera_test.pt", seed=1)


@pytest.fixture(scope="module")
def sam2(sam2_checkpoint):
    return load_sam(sam2_checkpoint, device="cpu")


@pytest.fixture(scope="module")
def encoded(sam2):
    predictor = SamPredictor(sam2)
    predictor.set_image(synthetic_photo(300, 420, seed=9))
    return predictor


@pytest.mark.parametrize("family", ["sam2", "sam2.1"])
@pytest.mark.parametrize("variant", sorted(HIERA_VARIANTS))
def test_published_files_are_recognised(family, variant):
    config = Sam2Config(family, variant, HIERA_VARIANTS[variant])
    with torch.device("meta"):
        state = build_sam2(config).state_dict()
    state.update({name: torch.empty(shape, device="meta") for name, shape in sam2_video_tensor_shapes(family).items()})
    assert infer_config(state) == config
    assert config.title == f"SAM {family[3:]} {variant}"


def test_loads_the_official_layout_and_ignores_video_modules(sam2, sam2_checkpoint):
    assert (sam2.config.family, sam2.config.variant) == ("sam2.1", "hiera_test")
    state = torch.load(sam2_checkpoint, weights_only=True)["model"]
    loaded = sam2.state_dict()
    assert all(torch.equal(loaded[k], state[k]) for k in loaded)
    assert any(k.startswith("memory_attention.") for k in state) and not any(k.startswith("memory_") for k in loaded)
    assert sam2.checkpoint_id == load_sam(sam2_checkpoint, device="cpu").checkpoint_id


def test_sam2_without_the_2_1_tensors_is_sam2(tmp_path):
    state = random_sam2_state_dict(Sam2Config("sam2", "hiera_test", SAM2_TEST_CONFIG.hiera), seed=2)
    assert "no_obj_embed_spatial" not in state
    path = tmp_path / "sam2_hiera_test.pt"
    torch.save({"model": state}, path)
    assert load_sam(path, device="cpu").config.family == "sam2"


def test_an_unknown_trunk_is_one_line(tmp_path):
    state = random_sam2_state_dict(seed=3)
    state = {k: v for k, v in state.items() if not k.startswith("image_encoder.trunk.blocks.6.")}  # 6 blocks
    path = tmp_path / "odd.pt"
    torch.save({"model": state}, path)
    with pytest.raises(CheckpointError) as info:
        load_sam(path, device="cpu")
    message = str(info.value)
    assert "odd.pt" in message and "unknown Hiera trunk" in message and "hiera_t" in message
    assert "\n" not in message


def test_check_command_names_family_and_variant(sam2_checkpoint):
    run = subprocess.run([sys.executable, "-m", "sam_core.check", str(sam2_checkpoint), "--device", "cpu"],
                         capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert run.returncode == 0, run.stderr
    assert "SAM 2.1 hiera_test" in run.stdout and "family sam2.1" in run.stdout and run.stdout.count("\n") == 1


def test_embedding_round_trip_needs_all_three_tensors(sam2, encoded):
    embedding = encoded.get_embedding()
    assert embedding.shapes() == sam2.embedding_shapes()
    assert list(embedding) == ["image_embed", "high_res_feat_s0", "high_res_feat_s1"]
    restored = SamPredictor(sam2)
    restored.set_image_embedding(embedding, encoded.original_size, encoded.input_size)
    for a, b in zip(encoded.predict(**POINT), restored.predict(**POINT)):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="lacks high_res_feat_s0"):
        restored.set_image_embedding(encoded.get_image_embedding(), encoded.original_size, encoded.input_size)


def test_disk_cache_keeps_every_tensor(tmp_path, sam2, encoded, monkeypatch):
    cache = EmbeddingCache(tmp_path)
    path = cache.store_from(encoded, "img")
    assert path.stat().st_size < 2 * sum(np.prod(s) for s in sam2.embedding_shapes().values()) + 2048
    restored = SamPredictor(sam2)
    monkeypatch.setattr(sam2.image_encoder, "forward", lambda *a: pytest.fail("re-encoded"))
    monkeypatch.setattr(sam2.image_encoder.trunk, "stage_tokens", lambda *a: pytest.fail("re-encoded"))
    assert cache.restore_into(restored, "img")
    expected_masks, expected_iou, _ = encoded.predict(**POINT)
    masks, iou_pred, _ = restored.predict(**POINT)
    np.testing.assert_allclose(iou_pred, expected_iou, atol=5e-3)
    for a, b in zip(masks, expected_masks):
        assert np.logical_and(a, b).sum() / max(np.logical_or(a, b).sum(), 1) > 0.99


def test_candidates_agree_with_predict(encoded):
    masks, iou, low_res = encoded.predict(**POINT)
    candidates = encoded.predict_candidates(**POINT)
    np.testing.assert_allclose(candidates.iou_predictions, iou, rtol=1e-6)
    np.testing.assert_allclose(candidates.low_res_logits, low_res, rtol=1e-6)
    assert np.abs(candidates.low_res_logits).max() <= 32.0  # clamped as SAM2ImagePredictor returns them
    for i in range(3):
        np.testing.assert_array_equal(candidates.mask(i), masks[i])
    thumb = candidates.thumbnail(0, max_side=64)
    assert thumb.dtype == np.bool_ and max(thumb.shape) == 64 and thumb.shape[0] < thumb.shape[1]


def test_bf16_encoder_masks_match_fp32(sam2_checkpoint):
    exact = SamPredictor(load_sam(sam2_checkpoint, device="cpu"))
    reduced = SamPredictor(load_sam(sam2_checkpoint, device="cpu", dtype="bf16"))
    image = synthetic_photo(400, 600, seed=2)
    exact.set_image(image)
    reduced.set_image(image)
    assert all(t.dtype == torch.float32 for t in reduced.get_embedding().values())
    rng = np.random.default_rng(0)
    for _ in range(4):
        prompt = dict(point_coords=rng.uniform([0, 0], [600, 400], size=(2, 2)), point_labels=np.array([1, 0]))
        for a, b in zip(exact.predict(**prompt)[0], reduced.predict(**prompt)[0]):
            assert np.logical_and(a, b).sum() / max(np.logical_or(a, b).sum(), 1) >= 0.97


def test_cpu_gemm_backends_agree(sam2, monkeypatch):
    """Hiera's products and the decoder's (with the high-res features added between the
    upscaling products) on oneDNN, every product routed, against torch's own."""
    from sam_core.utils import gemm

    monkeypatch.setattr(gemm, "MIN_ROUTED_MACS", 0)
    image = synthetic_photo(300, 420, seed=9)
    results = {}
    for backend in gemm.BACKENDS:
        with gemm.use_cpu_backend(backend):
            predictor = SamPredictor(sam2)
            predictor.set_image(image)
            _, iou, low_res = predictor.predict(**POINT)
            results[backend] = (predictor.get_embedding(), iou, low_res)
    ours, theirs = results["onednn"], results["default"]
    for name, tensor in theirs[0].items():
        scale = max(1.0, float(tensor.abs().max()))
        torch.testing.assert_close(ours[0][name], tensor, rtol=0, atol=1e-5 * scale)
    np.testing.assert_allclose(ours[1], theirs[1], rtol=0, atol=1e-5)
    np.testing.assert_allclose(ours[2], theirs[2], rtol=0, atol=1e-5 * max(1.0, float(np.abs(theirs[2]).max())))
