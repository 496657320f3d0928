"""The on-disk embedding cache: same masks without re-encoding, fp16, safe keys, LRU."""
from __future__ import annotations

import os
import time

import numpy as np
import pytest
import torch

from sam_core import EmbeddingCache, SamPredictor, content_hash, load_sam
from sam_core.testing import TINY_CONFIG, synthetic_photo, write_random_checkpoint

POINT = dict(point_coords=np.array([[150, 100]]), point_labels=np.array([1]))


@pytest.fixture
def encoded(tiny_sam):
    image = synthetic_photo(300, 420, seed=9)
    predictor = SamPredictor(tiny_sam)
    predictor.set_image(image)
    return predictor, content_hash(image)


def test_restore_gives_the_same_masks_without_encoding(tmp_path, tiny_sam, encoded, monkeypatch):
    predictor, key = encoded
    cache = EmbeddingCache(tmp_path)
    path = cache.store_from(predictor, key)
    assert path.stat().st_size < 256 * 64 * 64 * 2 + 1024  # fp16 on disk
    expected_masks, expected_iou, _ = predictor.predict(**POINT)

    restored = SamPredictor(tiny_sam)
    monkeypatch.setattr(tiny_sam.image_encoder, "forward", lambda *a: pytest.fail("re-encoded"))
    assert cache.restore_into(restored, key)
    masks, iou_pred, _ = restored.predict(**POINT)
    np.testing.assert_allclose(iou_pred, expected_iou, atol=5e-3)
    for a, b in zip(masks, expected_masks):
        assert np.logical_and(a, b).sum() / max(np.logical_or(a, b).sum(), 1) > 0.99
    assert restored.original_size == predictor.original_size and restored.input_size == predictor.input_size


def test_other_image_or_checkpoint_misses(tmp_path, encoded):
    predictor, key = encoded
    cache = EmbeddingCache(tmp_path)
    cache.store_from(predictor, key)
    assert cache.load(key, predictor.model.checkpoint_id) is not None
    assert cache.load(content_hash(np.zeros((3, 3, 3), np.uint8)), predictor.model.checkpoint_id) is None
    other = load_sam(write_random_checkpoint(tmp_path / "other.pth", TINY_CONFIG, seed=5), device="cpu")
    assert other.checkpoint_id != predictor.model.checkpoint_id
    assert not cache.restore_into(SamPredictor(other), key)


@pytest.mark.parametrize("damage", ["truncate", "garbage", "empty"])
def test_damaged_entries_are_dropped(tmp_path, encoded, damage):
    predictor, key = encoded
    cache = EmbeddingCache(tmp_path)
    path = cache.store_from(predictor, key)
    data = path.read_bytes()
    path.write_bytes({"truncate": data[: len(data) // 2], "garbage": b"x" * 100, "empty": b""}[damage])
    assert cache.load(key, predictor.model.checkpoint_id) is None
    assert not path.exists()


def test_lru_eviction_keeps_recently_used(tmp_path):
    cache = EmbeddingCache(tmp_path, max_bytes=3 * 2 * 256 * 64 * 64 + 3000)
    embedding = torch.randn(1, 256, 64, 64)
    for i in range(3):
        cache.save(f"img{i}", "ckpt", embedding, (10, 10), (10, 10))
        past = time.time() - 100 + i
        os.utime(cache.path_for(f"img{i}", "ckpt"), (past, past))
    assert cache.load("img0", "ckpt") is not None  # img0 becomes the most recent
    cache.save("img3", "ckpt", embedding, (10, 10), (10, 10))
    names = {p.name.split("-")[0] for p in cache.entries()}
    assert names == {"img0", "img2", "img3"}
    assert cache.size_bytes() <= cache.max_bytes
    assert not list(tmp_path.glob(".tmp-*"))


def test_content_hash_depends_on_pixels_and_shape():
    a = np.zeros((4, 6, 3), np.uint8)
    assert content_hash(a) == content_hash(a.copy())
    assert content_hash(a) != content_hash(a.reshape(6, 4, 3))
    b = a.copy()
    b[0, 0, 0] = 1
    assert content_hash(a) != content_hash(b)
    assert content_hash(b"abc") == content_hash(b"abc")


def test_eviction_survives_another_process_evicting_at_the_same_moment(tmp_path, monkeypatch):
    cache = EmbeddingCache(tmp_path, max_bytes=2 * 2 * 256 * 64 * 64 + 2000)
    embedding = torch.randn(1, 256, 64, 64)
    for i in range(3):
        cache.save(f"img{i}", "ckpt", embedding, (10, 10), (10, 10))
        past = time.time() - 100 + i
        os.utime(cache.path_for(f"img{i}", "ckpt"), (past, past))
    real_glob = type(tmp_path).glob

    def glob_then_the_other_process_evicts(self, pattern):
        found = list(real_glob(self, pattern))
        if pattern.endswith(".samemb"):
            cache.path_for("img0", "ckpt").unlink(missing_ok=True)  # between listing and stat
        return iter(found)

    monkeypatch.setattr(type(tmp_path), "glob", glob_then_the_other_process_evicts)
    cache.save("img3", "ckpt", embedding, (10, 10), (10, 10))  # evicts: must not raise
    monkeypatch.undo()
    assert {p.name.split("-")[0] for p in cache.entries()} == {"img2", "img3"}
    assert cache.size_bytes() <= cache.max_bytes


def test_eviction_sweeps_stale_temporary_files_only(tmp_path):
    cache = EmbeddingCache(tmp_path)
    stale, fresh = tmp_path / ".tmp-crashed.samemb", tmp_path / ".tmp-writing.samemb"
    stale.write_bytes(b"half")
    fresh.write_bytes(b"half")
    past = time.time() - 2 * cache.stale_tmp_s
    os.utime(stale, (past, past))
    cache.save("img0", "ckpt", torch.randn(1, 256, 64, 64), (10, 10), (10, 10))
    assert not stale.exists() and fresh.exists()
    assert [p.name.split("-")[0] for p in cache.entries()] == ["img0"]
