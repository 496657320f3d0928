"""Builds the application in one place: settings, services, state, controllers, window, and wires them."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from app.workflow.labeler import Labeler
from app.ui.main_window import MainWindow
from app.services.checkpoints.device_probe import DeviceProbe
from app.services.exporter import Exporter
from app.services.image_loader import ImageLoader
from app.services.qt_compat import guard_none_refcount
from app.services.sam.worker import SamWorker
from app.services.settings import Settings
from sam_core import EmbeddingCache

DEVICES = ("auto", "cpu", "cuda", "mps")


@dataclass
class App:
    """Everything :func:`build` made, for ``main`` and for tests."""

    settings: Settings
    worker: SamWorker
    loader: ImageLoader
    exporter: Exporter
    labeler: Labeler
    window: MainWindow
    checkpoint: str | None = None  # the one build started loading (given or remembered)


def build(
    folder: str | None = None,
    checkpoint: str | None = None,
    device: str | None = None,
    settings: Settings | None = None,
) -> App:
    """Make the services and the window; a QApplication must exist. Falls back to the
    remembered folder, checkpoint and device when they are not given."""
    guard_none_refcount()  # PySide6 6.12 on Python 3.11 would otherwise abort within minutes
    settings = settings or Settings()
    worker = SamWorker()
    if settings.embedding_cache_mb:  # encoded images survive restarts: no image is encoded twice
        worker.set_disk_cache(EmbeddingCache(settings.embedding_cache_dir, settings.embedding_cache_mb * 2**20))
    loader, exporter = ImageLoader(), Exporter()
    labeler = Labeler(worker, loader, exporter, settings)
    window = MainWindow(labeler)
    worker.start(SamWorker.LowPriority)  # Windows and macOS; Linux uses nice (see SamWorker.run)
    checkpoint = checkpoint or settings.checkpoint or None
    labeler.device = device or settings.device or "auto"  # also for checkpoints opened later
    probe = DeviceProbe(window)  # which device, and why not CUDA/MPS: said in the status bar
    probe.reported.connect(window.show_device)
    probe.start(labeler.device)
    worker.fell_back.connect(lambda text: labeler.message.emit("warning", text))
    worker.fell_back.connect(lambda _text: labeler.sam_state.emit(f"SAM {labeler.sam_name} · cpu"))
    if checkpoint:
        labeler.load_checkpoint(checkpoint)
    else:
        labeler.explain_missing_checkpoint()
    folder = folder or settings.last_folder or None
    if folder and Path(folder).is_dir():
        labeler.open_folder(folder)
    return App(settings, worker, loader, exporter, labeler, window, checkpoint)


