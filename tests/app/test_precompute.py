""""Precompute folder": every image encoded to disk in the background, with progress, ETA and
cancel, while clicks on the current image are still answered first."""
from __future__ import annotations

import time

import pytest
from PySide6.QtCore import Qt

from app.services.sam.worker import SamWorker
from sam_core import SamConfig
from sam_core.testing import write_random_checkpoint
from tests.app.conftest import wait_ready, write_image
from tests.app.test_disk_cache import forbid_encoding


@pytest.fixture
def folder(tmp_path, photo):
    folder = tmp_path / "many"
    folder.mkdir()
    for i in range(5):
        write_image(folder / f"p{i}.png", photo(80 + 4 * i, 100, seed=20 + i))
    return folder


def test_precompute_encodes_the_folder_in_the_background_and_nothing_is_encoded_twice(
    qtbot, make_app, folder, tiny_checkpoint, monkeypatch
):
    app = make_app(folder, tiny_checkpoint)
    wait_ready(qtbot, app)
    window = app.window
    progress, visible = [], []
    strip = app.window.progress_strip
    app.services.precompute.progress.connect(lambda done, total, eta: (progress.append((done, total, eta)),
                                                             visible.append(strip.row("precompute") is not None)))
    with qtbot.waitSignal(app.services.precompute.finished, timeout=60000) as finished:
        window.actions["image.precompute"].trigger()
    summary = finished.args[0]
    assert summary.startswith("Precomputed 5 images") and "skipped" not in summary
    assert progress[-1][:2] == (5, 5) and [d for d, _t, _e in progress] == sorted(d for d, _t, _e in progress)
    assert any(total == 5 and eta >= 0 for _d, total, eta in progress[:-1])  # an ETA once one was done
    assert all(visible) and strip.row("precompute") is None
    assert len(app.worker.disk_cache.entries()) == 5
    window.close()
    forbid_encoding(monkeypatch)
    again = make_app(folder, tiny_checkpoint)
    errors = []
    again.worker.failed.connect(lambda kind, text: errors.append(text))
    wait_ready(qtbot, again)
    for _ in range(4):
        again.navigation.go(1)
        wait_ready(qtbot, again)
    assert errors == []
    with qtbot.waitSignal(again.services.precompute.finished, timeout=20000) as finished:
        again.window.actions["image.precompute"].trigger()  # all on disk already: nothing to encode
    assert "0 encoded, 5 already on disk" in finished.args[0]


# Eight blocks: a click answered between two of them waits about an eighth of an encode, which
# leaves room for a loaded 2-core machine before the bound (a whole encode) is reached.
DEEP_CONFIG = SamConfig(embed_dim=192, depth=8, num_heads=3, global_attn_indexes=(3, 7))


def test_clicks_are_answered_first_and_cancel_stops_it(qtbot, make_app, folder, tmp_path):
    slow = write_random_checkpoint(tmp_path / "slow.pth", DEEP_CONFIG, seed=1)
    app = make_app(folder, slow)
    wait_ready(qtbot, app, timeout=60000)
    lab, worker = app, app.worker
    background = []
    worker.encode_progress.connect(
        lambda key, done, total: background.append(key) if key != lab.state.project.key(lab.state.image_id) else None
    )
    encoded = []
    worker.precomputed.connect(lambda key, seconds, on_disk: None if on_disk else encoded.append(seconds))
    assert app.controllers.precompute.start()
    qtbot.waitUntil(lambda: len(background) > 0, timeout=30000)  # an image of the folder is being encoded
    clicked = time.perf_counter()
    lab.prompting.add_point(30, 40, True)
    qtbot.waitUntil(lambda: lab.state.prompts.candidates is not None, timeout=30000)
    latency = time.perf_counter() - clicked
    assert app.services.precompute.running
    qtbot.waitUntil(lambda: len(encoded) >= 1, timeout=60000)
    assert latency < max(encoded), f"a click waited {latency:.2f} s, as long as encoding an image"
    row = app.window.progress_strip.row("precompute")  # the status bar's row, with its Cancel
    assert row is not None and row.cancel_button.isVisible()
    with qtbot.waitSignal(app.services.precompute.finished, timeout=5000) as finished:
        qtbot.mouseClick(row.cancel_button, Qt.LeftButton)
    assert finished.args[0].startswith("Precompute stopped") and app.window.progress_strip.row("precompute") is None
    qtbot.wait(200)
    assert app.services.precompute.done < 5
    assert worker._queue.queued_precompute() == 0  # nothing left queued
    print(f"click during precompute: {latency * 1000:.0f} ms; encoding one image: {max(encoded):.2f} s")


def test_precompute_needs_a_checkpoint(qtbot, make_app, folder):
    app = make_app(folder, None)
    qtbot.waitUntil(lambda: app.state.image_id is not None, timeout=10000)
    app.window.actions["image.precompute"].trigger()
    assert "needs a SAM checkpoint" in app.window.message_bar.text and not app.services.precompute.running


def test_a_worker_without_a_disk_cache_refuses_precompute(qtbot):
    from app.services.precompute import Precompute

    worker = SamWorker()
    precompute = Precompute(worker)
    messages = []
    precompute.message.connect(lambda level, text: messages.append(text))
    assert not precompute.start([], sam_ready=True) and "cache is off" in messages[0]


def test_precompute_out_of_memory_falls_back_to_the_cpu(qtbot, tiny_checkpoint, photo, tmp_path, monkeypatch):
    import torch

    from sam_core import EmbeddingCache, SamPredictor
    from tests.app.test_oom import OOM

    worker = SamWorker()
    worker.start()
    try:
        with qtbot.waitSignal(worker.sam_loaded, timeout=20000):
            worker.load_checkpoint(str(tiny_checkpoint), "cpu")
        worker.set_disk_cache(EmbeddingCache(tmp_path / "cache"))
        real, calls = SamPredictor.set_image, []

        def set_image(predictor, *args, **kwargs):  # only precompute encodes here
            calls.append(predictor)
            if len(calls) == 1:
                raise torch.OutOfMemoryError(OOM)
            return real(predictor, *args, **kwargs)

        monkeypatch.setattr(SamPredictor, "set_image", set_image)
        notices, failures = [], []
        worker.fell_back.connect(notices.append)
        worker.failed.connect(lambda kind, text: failures.append(text))
        worker.precompute_failed.connect(lambda key, text: failures.append(text))
        with qtbot.waitSignal(worker.precomputed, timeout=20000) as precomputed:
            worker.precompute("a", photo(64, 80), "hash-a")
        assert precomputed.args[0] == "a" and precomputed.args[2] is False  # encoded, on the CPU
        assert len(calls) == 2 and failures == [] and len(notices) == 1 and "CPU" in notices[0]
        predictor = calls[-1]  # the one precompute encoded on
        assert worker.has_on_disk("hash-a") and predictor.device.type == "cpu"
    finally:
        worker.stop()


def test_precompute_takes_the_projects_images_not_a_new_listing_of_the_folder(
    qtbot, make_app, image_folder, tiny_checkpoint
):
    (image_folder / "z_broken.png").write_bytes((image_folder / "img_0.png").read_bytes()[:100])
    app = make_app(image_folder, tiny_checkpoint)
    wait_ready(qtbot, app)
    lab = app
    qtbot.waitUntil(lambda: len(lab.state.project.skipped) == 1 and len(lab.state.project.dataset.images) == 3, timeout=10000)
    keys = []
    app.worker.precomputed.connect(lambda key, _seconds, _on_disk: keys.append(key))
    with qtbot.waitSignal(app.services.precompute.finished, timeout=60000) as finished:
        app.window.actions["image.precompute"].trigger()
    summary = finished.args[0]
    assert summary.startswith("Precomputed 3 images") and "skipped" not in summary  # told once, by the scan
    assert set(keys) <= {lab.state.project.key(i) for i in lab.state.project.image_ids()} and keys


def test_opening_an_image_that_is_not_encoded_pauses_the_precompute_until_it_is_ready(
    qtbot, tmp_path, photo
):
    from sam_core import EmbeddingCache

    slow = write_random_checkpoint(tmp_path / "slow.pth", DEEP_CONFIG, seed=1)
    worker = SamWorker()
    worker.start()
    try:
        with qtbot.waitSignal(worker.sam_loaded, timeout=60000):
            worker.load_checkpoint(str(slow), "cpu")
        worker.set_disk_cache(EmbeddingCache(tmp_path / "cache"))
        events, started = [], []
        worker.encode_progress.connect(lambda key, done, total: started.append(key))
        worker.encoded.connect(lambda key, seconds: events.append(("encoded", key)))
        worker.precomputed.connect(lambda key, seconds, on_disk: events.append(("precomputed", key)))
        worker.precompute_failed.connect(lambda key, text: events.append(("failed", key)))
        worker.precompute("background", photo(64, 80, seed=1), "hash-b")
        qtbot.waitUntil(lambda: "background" in started, timeout=30000)  # its encoding is under way
        worker.encode("opened", photo(60, 90, seed=2))
        qtbot.waitUntil(lambda: ("precomputed", "background") in events or ("failed", "background") in events,
                        timeout=60000)
        assert events == [("encoded", "opened"), ("precomputed", "background")]  # gave way, then resumed
        assert worker.has_on_disk("hash-b")
    finally:
        worker.stop()
