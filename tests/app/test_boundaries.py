"""The Qt-free parts of the app stay Qt-free (checked in a fresh interpreter)."""
import subprocess
import sys
from pathlib import Path

QT_FREE = ("app.model.prompts", "app.model.project", "app.model.edits", "app.services.images", "app.ui.canvas.overlay")
PROBE = f"""
import importlib, sys
for name in {QT_FREE!r}:
    importlib.import_module(name)
print(",".join(sorted(m for m in sys.modules if m.split(".")[0] in ("PySide6", "shiboken6", "pyqtgraph"))))
"""


def test_session_project_and_image_loading_import_no_qt():
    result = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, cwd=Path(__file__).parents[2]
    )
    assert result.stdout.strip() == ""


def test_every_action_has_a_handler_and_unique_shortcuts(qtbot):
    from app.ui.actions import ACTIONS

    ids = [a.id for a in ACTIONS]
    assert len(ids) == len(set(ids))
    keys = [k for a in ACTIONS for k in a.shortcuts]
    assert len(keys) == len(set(keys)), "two actions share a shortcut"


def test_the_none_refcount_guard_makes_void_calls_safe():
    import sys

    from PySide6.QtCore import QPointF

    from app.services.qt_compat import guard_none_refcount, none_leaks_per_call

    guard_none_refcount()
    if sys.version_info < (3, 12) and none_leaks_per_call() > 0:
        assert sys.getrefcount(None) > 1 << 39  # far more than any session can leak
    point = QPointF()
    for _ in range(100_000):  # without the guard this aborts the interpreter on 6.12 + 3.11
        point.setX(1.0)
