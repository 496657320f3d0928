"""app.model is the Qt-free document model: it must not pull in Qt, pyqtgraph or torch."""

import subprocess
import sys
from pathlib import Path

FORBIDDEN = ("PySide6", "shiboken6", "PyQt5", "PyQt6", "qtpy", "pyqtgraph", "torch")

PROBE = f"""
import importlib, pkgutil, sys
import app.model
for info in pkgutil.walk_packages(app.model.__path__, "app.model."):
    importlib.import_module(info.name)
bad = sorted(m for m in sys.modules if m.split(".")[0] in {FORBIDDEN!r})
print(",".join(bad))
"""


def test_model_imports_no_qt_or_torch():
    # A fresh interpreter: other tests in this session may have imported Qt already.
    result = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, cwd=Path(__file__).parents[2]
    )
    assert result.stdout.strip() == ""
