"""Runs :func:`check_device` off the UI thread: asking CUDA about its GPUs can take a
second while the driver starts, and the window must not wait for it."""
from __future__ import annotations

import traceback

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from app.services.checkpoints.device_check import DeviceReport, check_device
from app.services.messages import one_line


class _Probe(QRunnable):
    def __init__(self, owner: "DeviceProbe", requested: str) -> None:
        super().__init__()
        self._owner, self._requested = owner, requested

    def run(self) -> None:
        try:
            report = check_device(self._requested)
        except Exception as exc:  # a broken driver must not take the app down, nor go unreported
            traceback.print_exc()
            report = DeviceReport(self._requested, None, "", (f"device check failed: {type(exc).__name__}: {one_line(exc)}",))
        self._owner.reported.emit(report)


class DeviceProbe(QObject):
    reported = Signal(object)  # DeviceReport

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)

    def start(self, requested: str = "auto") -> None:
        self._pool.start(_Probe(self, requested))
