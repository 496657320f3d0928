"""Builds the application in one place: settings, services, labeler, window."""
from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtWidgets import QApplication

from app.labeler import Labeler
from app.main_window import MainWindow
from app.services.exporter import Exporter
from app.services.image_loader import ImageLoader
from app.services.qt_compat import guard_none_refcount
from app.services.sam_worker import SamWorker
from app.services.settings import Settings

DEVICES = ("auto", "cpu", "cuda", "mps")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="maskwright", description="Label images with Segment Anything.")
    parser.add_argument("folder", nargs="?", help="folder of images to open")
    parser.add_argument("--checkpoint", help="SAM v1 checkpoint, e.g. sam_vit_b_01ec64.pth")
    parser.add_argument("--device", choices=DEVICES, help="where SAM runs (default: remembered, else auto)")
    parser.add_argument("--settings", type=Path, help=argparse.SUPPRESS)  # an ini file instead of the user's
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
    loader, exporter = ImageLoader(), Exporter()
    labeler = Labeler(worker, loader, exporter, settings)
    window = MainWindow(labeler)
    worker.start(SamWorker.LowPriority)  # Windows and macOS; Linux uses nice (see SamWorker.run)
    checkpoint = checkpoint or settings.checkpoint or None
    device = device or settings.device or "auto"
    if checkpoint:
        labeler.load_checkpoint(checkpoint, device)
    else:
        labeler.explain_missing_checkpoint()
    folder = folder or settings.last_folder or None
    if folder and Path(folder).is_dir():
        labeler.open_folder(folder)
    return App(settings, worker, loader, exporter, labeler, window)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    guard_none_refcount()
    qapp = QApplication.instance() or QApplication(sys.argv[:1])
    qapp.setApplicationName("Maskwright")
    qapp.setOrganizationName("Maskwright")
    app = build(args.folder, args.checkpoint, args.device, Settings(args.settings) if args.settings else None)
    app.window.show()
    return qapp.exec()
