"""Builds the application in one place: settings, services, labeler, window."""
from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtWidgets import QApplication

from app.actions import icon as action_icon
from app.labeler import Labeler
from app.main_window import MainWindow
from app.services.device_probe import DeviceProbe
from app.services.exporter import Exporter
from app.services.image_loader import ImageLoader
from app.services.qt_compat import guard_none_refcount
from app.services.sam_worker import SamWorker
from app.services.settings import Settings
from sam_core import EmbeddingCache
from sam_core.runtime import configure_threads

DEVICES = ("auto", "cpu", "cuda", "mps")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="maskwright", description="Label images with Segment Anything.")
    parser.add_argument("folder", nargs="?", help="folder of images to open (or a *.maskwright file in it)")
    parser.add_argument("--checkpoint", help="SAM v1 checkpoint, e.g. sam_vit_b_01ec64.pth")
    parser.add_argument("--device", choices=DEVICES, help="where SAM runs (default: remembered, else auto)")
    parser.add_argument("--settings", type=Path, help=argparse.SUPPRESS)  # an ini file instead of the user's
    parser.add_argument("--self-test", action="store_true",
                        help="check this install headless (random-weight model, no network) and exit")
    return parser.parse_args(argv)


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
    worker.fell_back.connect(lambda _text: labeler.model_state.emit(f"SAM {labeler.model_name} · cpu"))
    if checkpoint:
        labeler.load_checkpoint(checkpoint)
    else:
        labeler.explain_missing_checkpoint()
    folder = folder or settings.last_folder or None
    if folder and Path(folder).is_dir():
        labeler.open_folder(folder)
    return App(settings, worker, loader, exporter, labeler, window, checkpoint)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    configure_threads()  # one torch thread per core this process may use (or OMP_NUM_THREADS)
    if args.self_test:  # before any window exists: it must work headless
        from app.self_test import run

        return run(args.device or "auto")
    qapp = QApplication.instance() or QApplication(sys.argv[:1])
    qapp.setApplicationName("Maskwright")
    qapp.setOrganizationName("Maskwright")
    qapp.setDesktopFileName("maskwright")  # ties the window to installers/linux/maskwright.desktop
    qapp.setWindowIcon(action_icon("maskwright"))
    start(args)
    return qapp.exec()


def start(args: argparse.Namespace) -> App:
    """Build and show the window, and offer the model manager until a checkpoint works."""
    folder = project_folder(args.folder) if args.folder else None
    app = build(folder, args.checkpoint, args.device, Settings(args.settings) if args.settings else None)
    app.window.show()
    offer_models_until_one_loads(app)
    return app


def offer_models_until_one_loads(app: App) -> None:
    """Show the model manager (non-modal, so one click gets a model) now when build had no
    checkpoint, and whenever loading one fails (a remembered file since deleted or
    damaged) until one has loaded."""
    labeler, window = app.labeler, app.window

    def on_failed() -> None:
        if not labeler.model_name:  # set by the first checkpoint that loads, never cleared
            window.show_model_manager()

    # The labeler's signal, not the worker's: a load that fails at once would have emitted
    # the worker's before this connection existed, and a queued signal is not delivered late.
    labeler.checkpoint_failed.connect(on_failed)
    if app.checkpoint is None:
        window.show_model_manager()


def project_folder(path: str) -> str:
    """The image folder for what a file manager hands over: a folder, a ``*.maskwright``
    project file (installers associate the extension) or anything inside the ``.maskwright``
    sidecar folder all open the image folder they belong to."""
    target = Path(path)
    for part in (target, *target.parents):
        if part.name == ".maskwright" or (part.suffix == ".maskwright" and not part.is_dir()):
            return str(part.parent)
    return path
