"""Which device SAM's encoder will use, and why not CUDA or MPS when they are absent (no Qt).

:func:`check_device` takes the device :func:`sam_core.choose_device` picks and explains,
in words a user can act on, every faster one it passed over.
"""
from __future__ import annotations

import os
import platform
import sys
import warnings
from dataclasses import dataclass

import torch

from app.services.messages import one_line
from sam_core import choose_device, reduced_precision
from sam_core.runtime import available_cores

FASTEST_FIRST = ("cuda", "mps", "cpu")  # choose_device's order for "auto"


@dataclass(frozen=True)
class DeviceReport:
    """``device`` is what the encoder will run on ("cuda", "mps", "cpu"), or None when the
    asked-for device does not exist here; ``detail`` names the hardware; ``skipped`` says
    why each faster device is not used."""

    requested: str
    device: str | None
    detail: str
    skipped: tuple[str, ...] = ()

    @property
    def summary(self) -> str:
        """One line, e.g. ``"Encoder on CPU (8 cores, bf16). Not CUDA: …. Not MPS: …."``."""
        if self.device is None:
            head = f"{self.requested.upper()} was asked for but is not available here"
            head += " (use --device auto or cpu)" if self.requested != "auto" else ""
        else:
            head = f"Encoder on {_NAMES.get(self.device, self.device)} ({self.detail})"
        return ". ".join([head, *self.skipped]) + "."


_NAMES = {"cuda": "GPU (CUDA)", "mps": "Apple GPU (MPS)", "cpu": "CPU"}


def cuda_problem() -> str | None:
    """None when CUDA can be used, else why not."""
    if torch.version.cuda is None and getattr(torch.version, "hip", None) is None:
        return "this PyTorch build has no CUDA support (a CPU-only build)"
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    with warnings.catch_warnings(record=True) as caught:  # torch warns about old drivers here
        warnings.simplefilter("always")
        available = torch.cuda.is_available()
    if available:
        return None
    if visible is not None and visible.strip() in ("", "-1"):
        return "CUDA_VISIBLE_DEVICES hides every GPU"
    for warning in caught:
        if str(warning.message).strip():
            return one_line(warning.message, 200)
    return "no NVIDIA GPU or driver found"


def mps_problem() -> str | None:
    """None when Apple's MPS backend can be used, else why not."""
    if sys.platform != "darwin":
        return "not a Mac"
    mps = getattr(torch.backends, "mps", None)
    if mps is None or not mps.is_built():
        return "this PyTorch build has no MPS support"
    if not mps.is_available():
        return f"needs macOS 12.3+ with Apple silicon or an AMD GPU (this is macOS {platform.mac_ver()[0]})"
    return None


def _detail(device: str) -> str:
    if device == "cuda":
        index = torch.cuda.current_device()
        props = torch.cuda.get_device_properties(index)
        return f"{props.name}, {props.total_memory / 2**30:.0f} GB"
    if device == "mps":
        return platform.machine()
    bf16 = ", bf16" if reduced_precision("cpu") is not None else ""
    return f"{available_cores()} cores{bf16}, {torch.get_num_threads()} threads"


def check_device(requested: str = "auto") -> DeviceReport:
    """Where the encoder runs for ``requested`` ("auto", "cpu", "cuda", "mps"): the device
    :func:`sam_core.choose_device` picks, or None when the asked-for one does not exist here."""
    requested = (requested or "auto").lower()
    device = choose_device(requested).type
    if requested == "auto":
        passed_over = FASTEST_FIRST[: FASTEST_FIRST.index(device)] if device in FASTEST_FIRST else ()
        skipped = tuple(f"Not {name.upper()}: {_problem(name) or 'not available'}" for name in passed_over)
        return DeviceReport(requested, device, _detail(device), skipped)
    problem = _problem(device)
    if problem is not None:
        return DeviceReport(requested, None, "", (f"{device.upper()}: {problem}",))
    why = ("CPU as asked (--device cpu or the remembered choice)",) if device == "cpu" else ()
    return DeviceReport(requested, device, _detail(device), why)


def _problem(device: str) -> str | None:
    finder = {"cuda": cuda_problem, "mps": mps_problem}.get(device)
    return None if finder is None else finder()
