"""Without a display, ``python main.py`` says so in one line and exits 2 (Qt used to abort)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.bootstrap.cli import NO_DISPLAY, no_display

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="DISPLAY and WAYLAND_DISPLAY are Linux's")
def test_main_without_a_display_prints_one_line_and_exits_2(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    env["PYTHONPATH"] = str(ROOT)
    done = subprocess.run([sys.executable, str(ROOT / "main.py"), str(tmp_path)], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, (done.returncode, done.stderr[-2000:])
    assert (done.stdout + done.stderr).splitlines() == [NO_DISPLAY]
    assert NO_DISPLAY == "no display found: set DISPLAY, or run --self-test"


def test_which_environments_have_a_display():
    assert no_display({}, "linux") and no_display({"DISPLAY": ""}, "linux")
    assert not no_display({"DISPLAY": ":0"}, "linux") and not no_display({"WAYLAND_DISPLAY": "wayland-0"}, "linux")
    assert not no_display({"QT_QPA_PLATFORM": "offscreen"}, "linux")  # the user chose a platform: Qt's business
    assert not no_display({}, "win32") and not no_display({}, "darwin")
