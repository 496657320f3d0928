"""Load a SAM checkpoint, and make it the SAM every lane uses only once it has loaded."""
from __future__ import annotations

from pathlib import Path

import torch

from app.services.checkpoints.device_check import check_device
from app.services.sam.context import JobContext
from app.services.sam.events import Event, Failed, SamKept, SamLoaded, out_of_memory_notice
from app.services.sam.job import Job
from sam_core import CheckpointError, Sam, load_sam


class LoadCheckpoint(Job):
    """``device``: "auto", "cpu", "cuda", "cuda:1", "mps". A file that fails to load leaves
    the SAM that was working in place, answering clicks."""

    kind = "checkpoint"
    uses_sam = False  # until the swap it only reads the file

    def __init__(self, path: str, device: str = "auto") -> None:
        self.path, self.device = path, device

    def run(self, ctx: JobContext) -> Event:
        _check_device(self.device)
        try:
            sam = self._load()
        except torch.OutOfMemoryError:
            if not ctx.release_sam():  # nothing to free: the worker tries the CPU
                raise
            sam = self._load()  # the file is good; the old SAM took the room it needs
        ctx.install_sam(sam)
        return SamLoaded(str(sam.device), sam.config.title)

    def _load(self) -> Sam:
        try:
            return load_sam(self.path, device=self.device)
        except (CheckpointError, torch.OutOfMemoryError):
            raise
        except Exception as exc:  # sam_core should say CheckpointError; name the file anyway
            raise CheckpointError(f"{Path(self.path).name}: cannot be loaded ({type(exc).__name__}: {exc})") from exc

    def failure(self, ctx: JobContext, text: str) -> tuple[Event, ...]:
        kept = ctx.sam
        if kept is None:
            return (Failed(self.kind, text),)
        return Failed(self.kind, text), SamKept(str(kept.device), kept.config.title)

    def retry_on_cpu(self, ctx: JobContext, error: BaseException) -> bool:
        self.device = "cpu"
        ctx.report(out_of_memory_notice(error))
        return True


def _check_device(device: str) -> None:
    """Say plainly when the asked-for device does not exist here (torch's own error is cryptic)."""
    report = check_device(device)
    if report.device is None:
        raise CheckpointError(report.summary)
