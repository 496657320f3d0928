"""The device check says where the encoder runs and why not on CUDA or MPS."""
from __future__ import annotations

import warnings

import pytest
import torch

from app.services.checkpoints import device_check
from app.services.checkpoints.device_check import DeviceReport, check_device, cuda_problem, mps_problem


@pytest.fixture
def no_gpu(monkeypatch):
    """This machine as a CPU-only torch on Linux, whatever it really is."""
    monkeypatch.setattr(torch.version, "cuda", None)
    monkeypatch.setattr(torch.version, "hip", None, raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    monkeypatch.setattr(device_check.sys, "platform", "linux")


def test_a_cpu_only_build_names_both_reasons(no_gpu):
    report = check_device("auto")
    assert report.device == "cpu"
    assert report.skipped == ("Not CUDA: this PyTorch build has no CUDA support (a CPU-only build)",
                              "Not MPS: not a Mac")
    assert report.summary.startswith("Encoder on CPU (") and "cores" in report.summary
    assert report.summary.endswith("Not MPS: not a Mac.")


def test_cuda_build_without_a_usable_gpu(monkeypatch):
    monkeypatch.setattr(torch.version, "cuda", "12.4")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    assert cuda_problem() == "no NVIDIA GPU or driver found"
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    assert cuda_problem() == "CUDA_VISIBLE_DEVICES hides every GPU"
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES")

    def old_driver() -> bool:
        warnings.warn("CUDA initialization: The NVIDIA driver on your system is too old (found version 11040).")
        return False

    monkeypatch.setattr(torch.cuda, "is_available", old_driver)
    assert "driver on your system is too old" in cuda_problem()


def test_cuda_is_chosen_first_when_it_works(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)  # what sam_core.choose_device asks
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    monkeypatch.setattr(device_check, "_detail", lambda device: "NVIDIA Test GPU, 24 GB")
    report = check_device("auto")
    assert report == DeviceReport("auto", "cuda", "NVIDIA Test GPU, 24 GB", ())
    assert report.summary == "Encoder on GPU (CUDA) (NVIDIA Test GPU, 24 GB)."


def test_mps_comes_after_cuda_with_the_reason_cuda_was_passed_over(no_gpu, monkeypatch):
    monkeypatch.setattr(device_check.sys, "platform", "darwin")
    monkeypatch.setattr(torch.backends.mps, "is_built", lambda: True)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    monkeypatch.setattr(device_check, "_detail", lambda device: "arm64")
    report = check_device("auto")
    assert report == DeviceReport(
        "auto", "mps", "arm64", ("Not CUDA: this PyTorch build has no CUDA support (a CPU-only build)",))


def test_mps_reasons(monkeypatch):
    monkeypatch.setattr(device_check.sys, "platform", "darwin")
    monkeypatch.setattr(torch.backends.mps, "is_built", lambda: False)
    assert mps_problem() == "this PyTorch build has no MPS support"
    monkeypatch.setattr(torch.backends.mps, "is_built", lambda: True)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    assert mps_problem().startswith("needs macOS 12.3+")


def test_an_unavailable_requested_device_is_named(no_gpu):
    report = check_device("cuda")
    assert report.device is None
    assert report.summary == ("CUDA was asked for but is not available here (use --device auto or cpu). "
                              "CUDA: this PyTorch build has no CUDA support (a CPU-only build).")
    assert check_device("mps").device is None and "MPS: not a Mac" in check_device("mps").summary
    assert check_device("cpu").device == "cpu"


def test_the_worker_refuses_an_unavailable_device_in_the_same_words(qtbot, no_gpu, worker, tiny_checkpoint):
    with qtbot.waitSignal(worker.failed, timeout=20000) as failed:
        worker.load_checkpoint(str(tiny_checkpoint), "cuda")
    assert failed.args == ["checkpoint", check_device("cuda").summary]


def test_the_window_says_which_device_at_start(qtbot, make_app):
    app = make_app()
    expected = check_device("cpu").summary
    qtbot.waitUntil(lambda: app.window.sam_label.toolTip() == expected, timeout=10000)
    assert app.window.statusBar().currentMessage() == expected


def test_a_crashing_device_check_is_reported_on_one_line(qtbot, monkeypatch):
    from app.services.checkpoints import device_probe

    def broken(_requested):
        raise RuntimeError("the driver\n  fell over")

    monkeypatch.setattr(device_probe, "check_device", broken)
    probe = device_probe.DeviceProbe()
    with qtbot.waitSignal(probe.reported, timeout=10000) as reported:
        probe.start("auto")
    assert reported.args[0].summary == ("AUTO was asked for but is not available here. "
                                        "device check failed: RuntimeError: the driver fell over.")
