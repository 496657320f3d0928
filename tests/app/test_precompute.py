""""Precompute folder": every image encoded to disk in the background, with progress, ETA and
cancel, while clicks on the current image are still answered first."""
from __future__ import annotations

import time

import pytest
from PySide6.QtCore import Qt

from app.services.sam_worker import SamWorker
from sam_core.config import SamConfig
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
    window, ui = app.window, app.window.projects
    progress, visible = [], []
    ui.precompute.progress.connect(lambda done, total, eta: (progress.append((done, total, eta)),
                                                             visible.append(ui.panel.isVisible())))
    with qtbot.waitSignal(ui.precompute.finished, timeout=60000) as finished:
        window.actions["image.precompute"].trigger()
    summary = finished.args[0]
    assert summary.startswith("Precomputed 5 images") and "skipped" not in summary
    assert progress[-1][:2] == (5, 5) and [d for d, _t, _e in progress] == sorted(d for d, _t, _e in progress)
    assert any(total == 5 and eta >= 0 for _d, total, eta in progress[:-1])  # an ETA once one was done
    assert all(visible) and not ui.panel.isVisible()
    assert len(app.worker.disk_cache.entries()) == 5
    window.close()
    forbid_encoding(monkeypatch)
    again = make_app(folder, tiny_checkpoint)
    errors = []
    again.worker.failed.connect(lambda kind, text: errors.append(text))
    wait_ready(qtbot, again)
    for _ in range(4):
        again.labeler.go(1)
        wait_ready(qtbot, again)
    assert errors == []
    with qtbot.waitSignal(again.window.projects.precompute.finished, timeout=20000) as finished:
        again.window.actions["image.precompute"].trigger()  # all on disk already: nothing to encode
    assert "0 encoded, 5 already on disk" in finished.args[0]


# Eight blocks: a click answered between two of them waits about an eighth of an encode, which
# leaves room for a loaded 2-core machine before the bound (a whole encode) is reached.
DEEP_CONFIG = SamConfig(embed_dim=192, depth=8, num_heads=3, global_attn_indexes=(3, 7))


def test_clicks_are_answered_first_and_cancel_stops_it(qtbot, make_app, folder, tmp_path):
    slow = write_random_checkpoint(tmp_path / "slow.pth", DEEP_CONFIG, seed=1)
    app = make_app(folder, slow)
    wait_ready(qtbot, app, timeout=60000)
    lab, ui, worker = app.labeler, app.window.projects, app.worker
    background = []
    worker.encode_progress.connect(
        lambda key, done, total: background.append(key) if key != lab.project.key(lab.image_id) else None
    )
    encoded = []
    worker.precomputed.connect(lambda key, seconds, on_disk: None if on_disk else encoded.append(seconds))
    assert ui.start_precompute()
    qtbot.waitUntil(lambda: len(background) > 0, timeout=30000)  # an image of the folder is being encoded
    clicked = time.perf_counter()
    lab.add_point(30, 40, True)
    qtbot.waitUntil(lambda: lab.session.candidates is not None, timeout=30000)
    latency = time.perf_counter() - clicked
    assert ui.precompute.running
    qtbot.waitUntil(lambda: len(encoded) >= 1, timeout=60000)
    assert latency < max(encoded), f"a click waited {latency:.2f} s, as long as encoding an image"
    with qtbot.waitSignal(ui.precompute.finished, timeout=5000) as finished:
        qtbot.mouseClick(ui.panel.cancel_button, Qt.LeftButton)
    assert finished.args[0].startswith("Precompute stopped") and not ui.panel.isVisible()
    qtbot.wait(200)
    assert ui.precompute.done < 5
    with worker._cond:
        assert not worker._precompute  # nothing left queued
    print(f"click during precompute: {latency * 1000:.0f} ms; encoding one image: {max(encoded):.2f} s")


def test_precompute_needs_a_checkpoint(qtbot, make_app, folder):
    app = make_app(folder, None)
    qtbot.waitUntil(lambda: app.labeler.image_id is not None, timeout=10000)
    app.window.actions["image.precompute"].trigger()
    assert "needs a SAM checkpoint" in app.window.message_bar.text and not app.window.projects.precompute.running


def test_a_worker_without_a_disk_cache_refuses_precompute(qtbot):
    from app.services.precompute import Precompute

    worker = SamWorker()
    precompute = Precompute(worker)
    messages = []
    precompute.message.connect(lambda level, text: messages.append(text))
    assert not precompute.start(".", model_ready=True) and "cache is off" in messages[0]
