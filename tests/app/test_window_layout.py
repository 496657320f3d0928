"""The window puts the image first: the canvas's share of the width, panels that stay put and
hide with one key, the candidate strip on the canvas, and the window's place on the screen."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QApplication

from app.ui.actions import PANEL_KEYS
from tests.app.conftest import in_front, wait_ready

ROOT = Path(__file__).resolve().parents[2]


def settle(qtbot, ms: int = 150) -> None:
    qtbot.wait(ms)


def active(qtbot, window) -> None:
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=3000)


@pytest.mark.parametrize("size", [(1366, 768), (1600, 1000)])
def test_the_canvas_gets_at_least_70_percent_of_the_width(qtbot, make_app, image_folder, size):
    app = make_app(image_folder)
    window = app.window
    window.setWindowState(Qt.WindowNoState)
    window.resize(*size)
    settle(qtbot)
    assert window.width() == size[0]
    assert window.canvas.width() / window.width() >= 0.70, (window.canvas.width(), window.width())
    assert window.statusBar().isVisible() and window.statusBar().geometry().bottom() < window.height()


def probe(tmp_path: Path, folder: Path, width: int, height: int, *move: int) -> dict:
    screen = tmp_path / f"screen_{width}x{height}.json"
    screen.write_text(json.dumps({"screens": [{"name": "screen", "x": 0, "y": 0, "width": width, "height": height,
                                              "logicalDpi": 96, "logicalBaseDpi": 96, "dpr": 1}]}))
    env = dict(os.environ, QT_QPA_PLATFORM=f"offscreen:configfile={screen}", PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, "-m", "tests.app.window_probe", str(tmp_path / "settings.ini"), str(folder),
                           *map(str, move)], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("size", [(1366, 768), (1600, 1000)])
def test_the_first_start_fills_the_screen_and_later_starts_restore_it(tmp_path, image_folder, size):
    width, height = size
    first = probe(tmp_path, image_folder, width, height, 900, 650, 40, 30)  # then the user makes it smaller
    left, top, w, h = first["frame"]
    assert first["maximized"] and first["screen"] == [0, 0, width, height]
    assert left >= 0 and top >= 0 and left + w <= width and top + h <= height  # never bigger than the screen
    assert w >= width - 10 and h >= height - 10  # and it uses all of it
    assert first["canvas_width"] / first["geometry"][2] >= 0.70
    assert first["status_bar_bottom"] < first["window_height"]  # the status bar is on screen (it was cut off)
    again = probe(tmp_path, image_folder, width, height)
    assert not again["maximized"] and again["geometry"][2:] == [900, 650] and again["geometry"][:2] == [40, 30]


def test_a_window_saved_on_a_bigger_screen_opens_inside_a_smaller_one(tmp_path, image_folder):
    probe(tmp_path, image_folder, 1920, 1200, 1800, 1100, 60, 50)
    small = probe(tmp_path, image_folder, 1366, 768)
    left, top, w, h = small["frame"]
    assert left >= 0 and top >= 0 and left + w <= 1366 and top + h <= 768


def test_panels_keep_their_place_when_candidates_appear(qtbot, make_app, image_folder, tiny_checkpoint):
    app = make_app(image_folder, tiny_checkpoint)
    window = app.window
    window.setWindowState(Qt.WindowNoState)
    window.resize(1366, 768)
    wait_ready(qtbot, app)
    settle(qtbot)
    before = {title: dock.geometry() for title, dock in window.docks.items() if dock.isVisible()}
    app.prompting.add_point(40, 40, True)
    qtbot.waitUntil(lambda: app.state.prompts.candidates is not None, timeout=10000)
    settle(qtbot)
    assert sum(b.isEnabled() for b in window.candidates.buttons) == 3
    after = {title: dock.geometry() for title, dock in window.docks.items() if dock.isVisible()}
    assert after == before  # Categories used to drop from y=157 to y=446
    app.prompting.add_point(100, 80, False)  # one candidate now
    qtbot.waitUntil(lambda: len(app.state.prompts.candidates) == 1, timeout=10000)
    settle(qtbot)
    assert {t: d.geometry() for t, d in window.docks.items() if d.isVisible()} == before


def test_each_panel_hides_and_comes_back_with_one_key(qtbot, make_app, image_folder):
    app = make_app(image_folder)
    window = app.window
    active(qtbot, window)
    for title, action_id, key in PANEL_KEYS:
        dock, action = window.docks[title], window.actions[action_id]
        shown = not dock.isHidden()
        combo = QKeySequence(key)[0]  # "F3", or "Shift+F9"
        qtbot.keyClick(window.canvas, combo.key(), combo.keyboardModifiers())
        assert dock.isHidden() == shown and action.isChecked() == (not shown), title
        qtbot.keyClick(window.canvas, combo.key(), combo.keyboardModifiers())
        assert dock.isHidden() != shown, title
    # A tabbed panel asked for comes to the front.
    window.actions["view.panel_messages"].setChecked(True)
    window.actions["view.panel_messages"].trigger()  # unchecks: hidden
    window.actions["view.panel_messages"].trigger()  # checks: shown and raised
    qtbot.waitUntil(lambda: in_front(window.docks["Messages"]), timeout=3000)
    canvas_width = window.canvas.width()
    qtbot.keyClick(window.canvas, Qt.Key_F12)  # every panel away: the canvas alone
    settle(qtbot)
    assert all(d.isHidden() for d in window.docks.values()) and window.canvas.width() > canvas_width
    qtbot.keyClick(window.canvas, Qt.Key_F12)
    settle(qtbot)
    assert window.docks["Images"].isVisible() and window.docks["Categories"].isVisible()


def test_the_candidate_strip_floats_on_the_canvas_and_the_right_column_collapses(qtbot, make_app, image_folder,
                                                                                 tiny_checkpoint, settings):
    app = make_app(image_folder, tiny_checkpoint)
    window = app.window
    window.setWindowState(Qt.WindowNoState)
    window.resize(1366, 768)
    wait_ready(qtbot, app)
    active(qtbot, window)
    qtbot.keyClick(window.canvas, Qt.Key_F10)
    assert window.candidates.parentWidget() is window.canvas and window.candidates.isVisible()
    assert window.docks["Candidates"].isHidden() and settings.candidates_on_canvas
    for dock in window.docks.values():  # Categories and the tabs below it
        if window.dockWidgetArea(dock) == Qt.RightDockWidgetArea:
            dock.hide()
    settle(qtbot)
    assert window.canvas.width() / window.width() >= 0.84  # only the left column is left
    app.prompting.add_point(40, 40, True)
    qtbot.waitUntil(lambda: app.state.prompts.candidates is not None, timeout=10000)
    qtbot.mouseClick(window.candidates.buttons[2], Qt.LeftButton)  # the strip still picks
    assert app.state.prompts.selected == app.state.prompts.candidates.order[2]
    qtbot.keyClick(window.canvas, Qt.Key_F10)  # back into its panel
    assert window.docks["Candidates"].widget() is window.candidates and window.docks["Candidates"].isVisible()
    assert not settings.candidates_on_canvas


def test_the_panels_come_back_where_they_were(qtbot, make_app, image_folder, settings):
    app = make_app(image_folder)
    window = app.window
    window.docks["Tools"].hide()
    window.removeDockWidget(window.docks["Categories"])  # the user moved Categories to the left
    window.addDockWidget(Qt.LeftDockWidgetArea, window.docks["Categories"])
    window.docks["Categories"].show()
    window.setWindowState(Qt.WindowNoState)
    window.setGeometry(30, 40, 760, 640)
    settle(qtbot)
    window.close()
    again = make_app(image_folder).window
    settle(qtbot)
    assert again.docks["Tools"].isHidden() and not again.actions["view.panel_tools"].isChecked()
    assert again.dockWidgetArea(again.docks["Categories"]) == Qt.LeftDockWidgetArea
    assert again.geometry().getRect() == (30, 40, 760, 640) and not again.isMaximized()
