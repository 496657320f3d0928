"""Fixtures for the app tests: real image folders, isolated settings, the real window."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from app.services.qt_compat import guard_none_refcount
from app.services.settings import Settings

# PySide6 6.12 leaks references to None on Python 3.11 (see app/services/qt_compat.py);
# guard before any test drives Qt, as the application does at start.
guard_none_refcount()


def write_image(path: Path, rgb: np.ndarray) -> Path:
    ok, data = cv2.imencode(path.suffix, cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    assert ok
    data.tofile(path)
    return path


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(tmp_path / "settings.ini")


@pytest.fixture
def no_proxy(monkeypatch):
    """A proxy set in the environment must not capture the loopback requests."""
    for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def worker(qtbot):
    """A started SAM worker, stopped afterwards."""
    from app.services.sam.worker import SamWorker

    worker = SamWorker()
    worker.start()
    yield worker
    worker.stop()


@pytest.fixture
def image_folder(tmp_path, photo) -> Path:
    folder = tmp_path / "images"
    folder.mkdir()
    for i, (h, w) in enumerate([(120, 160), (100, 140), (90, 120)]):
        write_image(folder / f"img_{i}.png", photo(h, w, seed=i))
    return folder


@pytest.fixture
def make_app(qtbot, settings):
    """Build the real application (window, worker, loader) and close it afterwards."""
    from app.bootstrap.assemble import build

    built = []

    def make(folder=None, checkpoint=None, device="cpu"):
        app = build(str(folder) if folder else None, str(checkpoint) if checkpoint else None, device, settings)
        qtbot.addWidget(app.window)
        app.window.show()
        built.append(app)
        return app

    yield make
    for app in built:
        app.window.close()
        app.shutdown()


def listed_ids(annotation_list) -> list[int]:
    """The annotation ids an AnnotationList shows, top to bottom (read off its tree)."""
    from PySide6.QtCore import Qt

    tree = annotation_list.tree
    return [tree.topLevelItem(i).data(0, Qt.UserRole) for i in range(tree.topLevelItemCount())]


def wait_ready(qtbot, app, timeout=20000) -> None:
    """Until the current image is shown and its embedding is ready."""
    lab = app
    qtbot.waitUntil(lambda: lab.state.sam.ready and lab.state.image_id is not None, timeout=timeout)
    qtbot.waitUntil(lambda: app.worker.is_encoded(lab.state.project.key(lab.state.image_id)), timeout=timeout)
    qtbot.waitUntil(lambda: app.window.canvas.image_shape is not None, timeout=timeout)


def in_front(dock) -> bool:
    """A dock that is shown and not behind another tab."""
    return dock.isVisible() and not dock.visibleRegion().isEmpty()
