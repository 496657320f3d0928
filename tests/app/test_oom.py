"""When the GPU runs out of memory, SAM moves to the CPU with a notice instead of failing.

No GPU is needed: the predictor's encoder (or the loader) raises torch's
OutOfMemoryError once, as CUDA does, and the worker must recover on the CPU.
"""
from __future__ import annotations

import numpy as np
import torch

from app.services.sam import checkpoint_job
from app.services.sam.worker import DecodeRequest
from sam_core import SamPredictor
from tests.app.conftest import wait_ready

OOM = "CUDA out of memory. Tried to allocate 2.00 GiB (GPU 0; 7.79 GiB total capacity)"


def fail_once(function):
    """``function`` that raises the GPU's out-of-memory error on its first call; ``calls``
    holds the arguments of every call (for a method: the instance first)."""
    calls = []

    def wrapper(*args, **kwargs):
        calls.append(args)
        if len(calls) == 1:
            raise torch.OutOfMemoryError(OOM)
        return function(*args, **kwargs)

    wrapper.calls = calls
    return wrapper


def fail_first_encode(monkeypatch):
    """Every predictor's first ``set_image`` from now on runs out of GPU memory."""
    flaky = fail_once(SamPredictor.set_image)
    monkeypatch.setattr(SamPredictor, "set_image", flaky)
    return flaky


def test_encode_out_of_memory_falls_back_to_the_cpu(qtbot, worker, tiny_checkpoint, photo, monkeypatch):
    with qtbot.waitSignal(worker.sam_loaded, timeout=20000):
        worker.load_checkpoint(str(tiny_checkpoint), "cpu")
    set_image = fail_first_encode(monkeypatch)
    notices, failures = [], []
    worker.fell_back.connect(notices.append)
    worker.failed.connect(lambda kind, text: failures.append(text))
    with qtbot.waitSignal(worker.encoded, timeout=20000):
        worker.encode("a", photo(64, 80))
    assert len(set_image.calls) == 2 and failures == []
    assert len(notices) == 1 and "GPU ran out of memory" in notices[0] and "CPU" in notices[0]
    predictor = set_image.calls[-1][0]  # the predictor that encoded it
    assert predictor.device.type == "cpu" and worker.is_encoded("a")
    request = DecodeRequest(1, "a", np.array([[30.0, 20.0]], np.float32), np.array([1], np.int32))
    with qtbot.waitSignal(worker.decoded, timeout=10000) as decoded:
        worker.decode(request)
    assert decoded.args[1].mask(decoded.args[1].best).shape == (64, 80)


def test_loading_out_of_memory_loads_on_the_cpu(qtbot, worker, tiny_checkpoint, monkeypatch):
    real_load = checkpoint_job.load_sam
    devices = []

    def load_sam(path, device=None, **kwargs):
        devices.append(device)
        if device != "cpu":
            raise torch.OutOfMemoryError(OOM)
        return real_load(path, device=device, **kwargs)

    monkeypatch.setattr(checkpoint_job, "load_sam", load_sam)
    notices = []
    worker.fell_back.connect(notices.append)
    with qtbot.waitSignal(worker.sam_loaded, timeout=20000) as loaded:
        worker.load_checkpoint(str(tiny_checkpoint), "auto")
    assert devices == ["auto", "cpu"] and loaded.args[0] == "cpu" and len(notices) == 1


def test_the_window_shows_the_notice_and_the_device(qtbot, make_app, image_folder, tiny_checkpoint, monkeypatch):
    app = make_app(image_folder, tiny_checkpoint)
    wait_ready(qtbot, app)
    fail_first_encode(monkeypatch)
    app.navigation.go(1)  # the next image is encoded (unless prefetched: then the one after)
    app.navigation.go(1)
    qtbot.waitUntil(lambda: app.window.message_bar.isVisible() and "ran out of memory" in app.window.message_bar.text,
                    timeout=20000)
    assert app.window.message_bar.level == "warning"
    assert app.window.sam_label.text().endswith("· cpu")
    wait_ready(qtbot, app)


def test_segment_everything_out_of_memory_retries_the_image_on_the_cpu(
    qtbot, worker, tiny_checkpoint, photo, tmp_path, monkeypatch
):
    import cv2

    from app.services.sam.segment_everything import PrelabelItem, PrelabelJob, PrelabelParams

    path = tmp_path / "scene.png"
    cv2.imwrite(str(path), photo(64, 80))
    with qtbot.waitSignal(worker.sam_loaded, timeout=20000):
        worker.load_checkpoint(str(tiny_checkpoint), "cpu")
    from app.services.sam import segment_everything as prelabel_jobs

    flaky = fail_once(prelabel_jobs.run_item)
    monkeypatch.setattr(prelabel_jobs, "run_item", flaky)
    notices, failures, done = [], [], []
    worker.fell_back.connect(notices.append)
    worker.failed.connect(lambda kind, text: failures.append(text))
    worker.prelabelled.connect(lambda job_id, image_id, masks: done.append(image_id))
    params = PrelabelParams(points_per_side=4, pred_iou_thresh=0.0, stability_score_thresh=0.0)
    with qtbot.waitSignal(worker.prelabel_finished, timeout=60000) as finished:
        worker.prelabel(PrelabelJob(1, (PrelabelItem(7, path),), params))
    assert finished.args == [1, False]
    assert len(flaky.calls) == 2 and failures == [] and done == [7]
    assert len(notices) == 1 and "CPU" in notices[0]
