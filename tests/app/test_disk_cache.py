"""Embeddings on disk: a revisited image is restored, not encoded; another checkpoint never
reuses them; a restarted app does not encode an image it has seen."""
from __future__ import annotations

import statistics

import pytest

from app.services.sam.worker import SamWorker
from sam_core import EmbeddingCache, SamPredictor
from sam_core.testing import write_random_checkpoint
from tests.app.conftest import wait_ready
from tests.app.test_worker import point_request


@pytest.fixture
def worker(qtbot):
    worker = SamWorker(cache_size=2)  # a small memory cache, so revisits go to the disk
    worker.start()
    yield worker
    worker.stop()


def forbid_encoding(monkeypatch) -> None:
    """From now on any encode fails loudly (the worker reports it as an error)."""
    def never(*_args, **_kwargs):
        raise RuntimeError("encoded again")

    monkeypatch.setattr(SamPredictor, "set_image", never)


def encode(qtbot, worker, key, image) -> None:
    with qtbot.waitSignal(worker.encoded, timeout=30000, check_params_cb=lambda k, _s: k == key):
        worker.encode(key, image)


def test_revisiting_an_image_restores_its_embedding_in_under_100_ms(qtbot, worker, tmp_path, tiny_checkpoint, photo):
    cache = EmbeddingCache(tmp_path / "embeddings")
    worker.set_disk_cache(cache)
    with qtbot.waitSignal(worker.sam_loaded, timeout=20000):
        worker.load_checkpoint(str(tiny_checkpoint), "cpu")
    started, hits = [], []
    worker.encode_started.connect(lambda key, _device: started.append(key))
    worker.cache_hit.connect(lambda key, seconds: hits.append((key, seconds)))
    images = {"a": photo(1500, 2250, seed=1), "b": photo(300, 400, seed=2), "c": photo(200, 260, seed=3)}
    for key, image in images.items():
        encode(qtbot, worker, key, image)
    assert started == ["a", "b", "c"] and hits == []
    qtbot.waitUntil(lambda: len(cache.entries()) == 3, timeout=5000)  # stored by the writer thread
    for _ in range(3):  # each visit evicts another from memory: all three come back from the disk
        for key, image in images.items():
            encode(qtbot, worker, key, image)
    assert started == ["a", "b", "c"], "an image was encoded twice"
    seconds = [s for key, s in hits if key == "a"]  # 1500x2250: hashing it is most of the time
    assert len(hits) == 9 and statistics.median(seconds) < 0.1, seconds
    # The restored embedding is the encoder's, to fp16 precision: clicks work on it.
    decoded = []
    worker.decoded.connect(lambda request_id, candidates: decoded.append(candidates))
    encode(qtbot, worker, "a", images["a"])
    worker.decode(point_request(1, "a"))
    qtbot.waitUntil(lambda: len(decoded) == 1, timeout=10000)
    assert len(decoded[0]) == 3 and started == ["a", "b", "c"]
    print(f"restore of a 1500x2250 image: median {statistics.median(seconds) * 1000:.1f} ms")


def test_another_checkpoint_never_uses_the_old_embeddings(qtbot, worker, tmp_path, tiny_checkpoint, photo):
    cache = EmbeddingCache(tmp_path / "embeddings")
    worker.set_disk_cache(cache)
    with qtbot.waitSignal(worker.sam_loaded, timeout=20000):
        worker.load_checkpoint(str(tiny_checkpoint), "cpu")
    image = photo(120, 160, seed=5)
    encode(qtbot, worker, "a", image)
    qtbot.waitUntil(lambda: len(cache.entries()) == 1, timeout=5000)
    other = write_random_checkpoint(tmp_path / "other.pth", seed=7)
    with qtbot.waitSignal(worker.sam_loaded, timeout=20000):
        worker.load_checkpoint(str(other), "cpu")
    started, hits = [], []
    worker.encode_started.connect(lambda key, _device: started.append(key))
    worker.cache_hit.connect(lambda key, _seconds: hits.append(key))
    encode(qtbot, worker, "a", image)
    assert started == ["a"] and hits == []
    qtbot.waitUntil(lambda: len(cache.entries()) == 2, timeout=5000)
    assert len({p.name.split("-")[1] for p in cache.entries()}) == 2  # one per checkpoint


def test_a_restarted_app_does_not_encode_what_it_has_seen(qtbot, make_app, image_folder, tiny_checkpoint, monkeypatch):
    app = make_app(image_folder, tiny_checkpoint)
    wait_ready(qtbot, app)
    cache = app.worker.disk_cache
    assert cache is not None and image_folder not in cache.directory.parents  # beside the settings, not the photos
    qtbot.waitUntil(lambda: len(cache.entries()) == 2, timeout=20000)  # the image, and the next one pre-encoded
    app.window.actions["image.next"].trigger()
    qtbot.waitUntil(lambda: len(cache.entries()) == 3, timeout=20000)  # and the third, pre-encoded from there
    app.window.close()
    forbid_encoding(monkeypatch)
    again = make_app(image_folder, tiny_checkpoint)
    errors = []
    again.worker.failed.connect(lambda kind, text: errors.append(text))
    wait_ready(qtbot, again)
    assert again.state.image_id == again.state.project.image_ids()[1]  # where the last session was
    for step in (1, -1, -1):
        again.navigation.go(step)
        wait_ready(qtbot, again)
    assert errors == [] and "encoded again" not in again.window.message_bar.text
    assert "Embedding ready" in again.window.encode_label.text()
