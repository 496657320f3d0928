"""The command line: ``maskwright [FOLDER] [--checkpoint PATH] [--device ...] [--self-test]``.

Parses the arguments, dispatches ``--self-test`` (which builds the window itself, headless),
or makes the QApplication, builds the app (:func:`app.bootstrap.assemble.build`) and shows it.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from PySide6.QtWidgets import QApplication

from app.bootstrap.assemble import DEVICES, App, build
from app.services.settings import Settings
from app.ui.actions import icon as action_icon
from sam_core.runtime import configure_threads


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="maskwright", description="Label images with Segment Anything.")
    parser.add_argument("folder", nargs="?", help="folder of images to open (or a *.maskwright file in it)")
    parser.add_argument("--checkpoint", help="a checkpoint of any SAM family Maskwright loads, "
                                              "e.g. sam_vit_b_01ec64.pth or sam2.1_hiera_tiny.pt")
    parser.add_argument("--device", choices=DEVICES, help="where SAM runs (default: remembered, else auto)")
    parser.add_argument("--settings", type=Path, help=argparse.SUPPRESS)  # an ini file instead of the user's
    parser.add_argument("--self-test", action="store_true",
                        help="check this install headless (random-weight model, no network) and exit")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    configure_threads()  # one torch thread per core this process may use (or OMP_NUM_THREADS)
    if args.self_test:  # before any window exists: it must work headless
        from app.bootstrap.self_test import run

        return run(args.device or "auto")
    if no_display():
        print(NO_DISPLAY, file=sys.stderr)
        return 2
    qapp = QApplication.instance() or QApplication(sys.argv[:1])
    qapp.setApplicationName("Maskwright")
    qapp.setOrganizationName("Maskwright")
    qapp.setDesktopFileName("maskwright")  # ties the window to installers/linux/maskwright.desktop
    qapp.setWindowIcon(action_icon("maskwright"))
    start(args)
    return qapp.exec()


NO_DISPLAY = "no display found: set DISPLAY, or run --self-test"


def no_display(environ: dict[str, str] | None = None, platform: str = sys.platform) -> bool:
    """True on a Linux or BSD system with no X11 or Wayland display to open and no Qt platform
    chosen: Qt would abort (SIGABRT, with a misleading hint about xcb libraries) instead."""
    environ = os.environ if environ is None else environ
    if platform.startswith(("win", "darwin", "cygwin")) or environ.get("QT_QPA_PLATFORM"):
        return False
    return not (environ.get("DISPLAY") or environ.get("WAYLAND_DISPLAY"))


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
    loader, window = app.controllers.checkpoints, app.window

    def on_failed() -> None:
        if not loader.loaded_any:
            window.show_model_manager()

    # The loader's signal, not the worker's: a load that fails at once would have emitted
    # the worker's before this connection existed, and a queued signal is not delivered late.
    loader.checkpoint_failed.connect(on_failed)
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
