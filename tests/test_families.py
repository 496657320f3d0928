"""The family interface: recognising layouts, refusing bad weights in one line, embeddings
of any family in memory and on disk (old cache entries included)."""
from __future__ import annotations

import json
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from sam_core import CheckpointError, EmbeddingCache, ImageEmbedding, SamPredictor, load_sam
from sam_core.embedding_cache import MAGIC
from sam_core.testing import synthetic_photo

ROOT = Path(__file__).resolve().parents[1]


def _one_line(message: str, *needles: str) -> None:
    assert "\n" not in message and len(message) < 200, message
    for needle in needles:
        assert needle in message, (needle, message)


@pytest.mark.parametrize(
    "keys,family",
    [
        (["detector.backbone.vision_backbone.trunk.pos_embed", "tracker.maskmem_tpos_enc"], "SAM 3"),
        (["image_encoder.features.0.0.c.weight", "image_encoder.fuse_stage2.weight", "mask_decoder.iou_token.weight"],
         "EdgeSAM"),
        (["memory_attention.layers.0.self_attn.q_proj.weight", "memory_encoder.out_proj.weight", "maskmem_tpos_enc"],
         "video-module"),
    ],
    ids=["sam3", "edgesam", "video_only"],
)
def test_unsupported_families_are_named_in_one_line(tmp_path, keys, family):
    path = tmp_path / "other.pt"
    torch.save({"model": {key: torch.zeros(2) for key in keys}}, path)
    with pytest.raises(CheckpointError) as info:
        load_sam(path, device="cpu")
    _one_line(str(info.value), "other.pt", family, "SAM v1")


def test_non_finite_weights_are_refused(tmp_path, tiny_state_dict):
    for value in (float("nan"), float("inf")):
        state = dict(tiny_state_dict)
        key = "mask_decoder.iou_prediction_head.layers.0.weight"
        state[key] = state[key].clone()
        state[key][0, 3] = value
        path = tmp_path / "damaged.pth"
        torch.save(state, path)
        with pytest.raises(CheckpointError) as info:
            load_sam(path, device="cpu")
        _one_line(str(info.value), "damaged.pth", key, "NaN or infinite")


def test_a_wrongly_shaped_tensor_is_one_line(tmp_path, tiny_state_dict):
    state = dict(tiny_state_dict)
    state["mask_decoder.iou_token.weight"] = torch.zeros(1, 128)
    path = tmp_path / "reshaped.pth"
    torch.save(state, path)
    with pytest.raises(CheckpointError) as info:
        load_sam(path, device="cpu")
    _one_line(str(info.value), "reshaped.pth", "mask_decoder.iou_token.weight", "1x128", "1x256")


class Payload:
    """Pickled as code."""


@pytest.mark.parametrize("kind", ["shape", "code"])
def test_check_command_prints_what_load_sam_says(tmp_path, tiny_state_dict, kind):
    path = tmp_path / f"{kind}.pth"
    if kind == "shape":
        torch.save(dict(tiny_state_dict, **{"mask_decoder.iou_token.weight": torch.zeros(1, 128)}), path)
    else:
        torch.save({"model": Payload()}, path)
    with pytest.raises(CheckpointError) as info:
        load_sam(path, device="cpu")
    run = subprocess.run([sys.executable, "-m", "sam_core.check", str(path)], capture_output=True, text=True,
                         cwd=ROOT, timeout=120)
    assert run.returncode == 1 and run.stdout == ""
    assert run.stderr == f"error: {info.value}\n"
    assert ("pickled code" in run.stderr) == (kind == "code")


def test_config_names_family_and_variant(tiny_sam):
    assert tiny_sam.config.family == "sam"
    assert tiny_sam.config.variant.startswith("custom")
    assert tiny_sam.config.title == f"SAM {tiny_sam.config.variant}"


def test_embedding_object_round_trips_through_the_predictor(tiny_sam):
    image = synthetic_photo(200, 300, seed=2)
    first = SamPredictor(tiny_sam)
    first.set_image(image)
    embedding = first.get_embedding()
    assert isinstance(embedding, ImageEmbedding) and list(embedding) == ["image_embed"]
    assert embedding.image_embed is first.get_image_embedding()
    restored = SamPredictor(tiny_sam)
    restored.set_image_embedding(embedding.to(torch.float16), first.original_size, first.input_size)
    point = dict(point_coords=np.array([[100, 80]]), point_labels=np.array([1]))
    np.testing.assert_allclose(restored.predict(**point)[1], first.predict(**point)[1], atol=5e-3)
    with pytest.raises(ValueError, match="needs .image_embed."):
        ImageEmbedding({"high_res_feat_s0": torch.zeros(1)})


def _write_version_1_entry(cache: EmbeddingCache, image_hash: str, checkpoint_id: str, embedding: torch.Tensor,
                           original_size, input_size) -> Path:
    """An entry exactly as Maskwright wrote them before embeddings had several tensors."""
    array = embedding.to(torch.float16).numpy()
    header = json.dumps({"version": 1, "image_hash": image_hash, "checkpoint_id": checkpoint_id,
                         "shape": list(array.shape), "dtype": "float16", "original_size": list(original_size),
                         "input_size": list(input_size)}).encode()
    cache.directory.mkdir(parents=True, exist_ok=True)
    path = cache.path_for(image_hash, checkpoint_id)
    path.write_bytes(MAGIC + struct.pack("<I", len(header)) + header + array.astype("<f2").tobytes())
    return path


def test_version_1_cache_entries_still_restore(tmp_path, tiny_sam):
    image = synthetic_photo(200, 300, seed=4)
    predictor = SamPredictor(tiny_sam)
    predictor.set_image(image)
    cache = EmbeddingCache(tmp_path)
    _write_version_1_entry(cache, "img", tiny_sam.checkpoint_id, predictor.get_image_embedding(),
                           predictor.original_size, predictor.input_size)
    restored = SamPredictor(tiny_sam)
    assert cache.restore_into(restored, "img")
    assert restored.input_size == predictor.input_size and restored.original_size == predictor.original_size
    torch.testing.assert_close(restored.get_image_embedding(), predictor.get_image_embedding(), atol=2e-2, rtol=1e-2)


def test_multi_tensor_embeddings_round_trip_on_disk(tmp_path):
    cache = EmbeddingCache(tmp_path)
    tensors = {"image_embed": torch.randn(1, 256, 64, 64), "high_res_feat_s0": torch.randn(1, 32, 256, 256),
               "high_res_feat_s1": torch.randn(1, 64, 128, 128)}
    cache.save("img", "ckpt", ImageEmbedding(tensors), (480, 640), (1024, 1024))
    entry = cache.load("img", "ckpt")
    assert list(entry.embedding) == list(tensors)
    for name, tensor in tensors.items():
        torch.testing.assert_close(entry.embedding[name], tensor.half().float())
    assert entry.original_size == (480, 640) and entry.input_size == (1024, 1024)
