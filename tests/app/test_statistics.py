"""The Statistics panel in the real window: accepted masks and clicks change its plots, it
redraws throttled and only while visible, it has its own key and comes back as it was."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from tests.app.conftest import in_front, wait_ready


def press_shift_f9(qtbot, window) -> None:
    qtbot.keyClick(window.canvas, Qt.Key_F9, Qt.ShiftModifier)


def bring_to_front(qtbot, window) -> None:
    """Shift+F9 twice: the panel (shown, but behind the Annotations tab) hides, then comes to the front."""
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=3000)
    dock = window.docks["Statistics"]
    assert not dock.isHidden() and not in_front(dock)  # a tab behind Annotations at first start
    press_shift_f9(qtbot, window)
    assert dock.isHidden() and not window.actions["view.panel_statistics"].isChecked()
    press_shift_f9(qtbot, window)
    qtbot.waitUntil(lambda: in_front(dock), timeout=3000)


def ys(curve) -> np.ndarray:
    """A curve's plotted y values (none before any data)."""
    y = curve.getData()[1]
    return np.zeros(0) if y is None else np.asarray(y)


def accept_one(qtbot, app, x: float, y: float) -> None:
    """A click at (x, y), and the first non-empty candidate accepted."""
    app.prompting.add_point(x, y, True)
    qtbot.waitUntil(lambda: app.state.prompts.candidates is not None, timeout=10000)
    candidates = app.state.prompts.candidates
    rank = next(r for r, i in enumerate(candidates.order) if candidates.mask(i).any())
    app.prompting.pick(rank)
    app.window.actions["label.accept"].trigger()


def test_accepting_masks_changes_the_plots(qtbot, make_app, image_folder, tiny_checkpoint):
    app = make_app(image_folder, tiny_checkpoint)
    window, panel = app.window, app.window.statistics
    wait_ready(qtbot, app)
    bring_to_front(qtbot, window)
    qtbot.waitUntil(lambda: not panel.stale, timeout=3000)
    assert np.sum(panel.iou_bars.opts["height"]) == 0 and ys(panel.latency_curve).size == 0

    accepted_ious = []
    for n, (x, y) in enumerate([(40, 40), (100, 60), (20, 90)], start=1):
        accept_one(qtbot, app, x, y)
        accepted_ious.append(app.state.dataset.annotations(app.state.image_id)[-1].provenance.predicted_iou)
        qtbot.waitUntil(lambda n=n: panel.iou_bars.opts["height"].sum() == n, timeout=5000)
    heights = np.asarray(panel.iou_bars.opts["height"])
    bins = np.minimum(19, (np.clip(accepted_ious, 0, 1) * 20).astype(int))
    assert heights.tolist() == np.bincount(bins, minlength=20).tolist()  # the accepted masks' own IoUs

    minutes, rate = panel.rate_curve.getData()
    elapsed = minutes[-1] * 60  # the session so far (a minute at least) stands for the hour
    assert rate[-1] == pytest.approx(3 * 3600 / max(60.0, elapsed))  # 180 an hour in the first minute
    ms = ys(panel.latency_curve)
    assert len(ms) == 3 and np.all(ms > 0)  # one latency per click
    assert "3 in all" in panel.rate_caption.text() and "p95" in panel.latency_caption.text()

    app.controllers.undo.undo()  # the last accept taken back
    qtbot.waitUntil(lambda: panel.iou_bars.opts["height"].sum() == 2, timeout=5000)
    assert "2 in all" in panel.rate_caption.text()


def test_it_redraws_throttled_and_only_while_visible(qtbot, make_app, image_folder):
    app = make_app(image_folder)
    window, panel, stats = app.window, app.window.statistics, app.stats
    qtbot.wait(300)
    assert panel.draws == 0 and panel.stale  # behind the Annotations tab since the start
    bring_to_front(qtbot, window)
    qtbot.waitUntil(lambda: not panel.stale, timeout=3000)
    drawn = panel.draws
    for ms in range(100, 150):  # fifty clicks at once: one redraw, not fifty
        stats.record_click(float(ms))
    assert panel.draws == drawn and panel.stale
    qtbot.waitUntil(lambda: panel.draws > drawn, timeout=3000)
    qtbot.wait(1300)
    assert panel.draws == drawn + 1 and len(ys(panel.latency_curve)) == 50

    window.docks["Annotations"].raise_()  # behind another tab: no drawing
    qtbot.waitUntil(lambda: not panel.on_screen, timeout=3000)
    stats.record_click(999.0)
    qtbot.wait(1300)
    assert panel.draws == drawn + 1 and panel.stale
    window.docks["Statistics"].raise_()  # to the front again: it catches up
    qtbot.waitUntil(lambda: panel.draws == drawn + 2, timeout=3000)
    assert ys(panel.latency_curve)[-1] == 999.0


def test_it_comes_back_as_it_was(qtbot, make_app, image_folder):
    app = make_app(image_folder)
    window = app.window
    assert window.tabifiedDockWidgets(window.docks["Statistics"])  # a tab with Annotations, Automatic, Messages
    window.docks["Statistics"].hide()
    window.close()
    again = make_app(image_folder).window
    assert again.docks["Statistics"].isHidden() and not again.actions["view.panel_statistics"].isChecked()
    again.actions["view.panel_statistics"].trigger()
    qtbot.waitUntil(lambda: in_front(again.docks["Statistics"]), timeout=3000)
    again.close()
    third = make_app(image_folder).window
    qtbot.waitUntil(lambda: in_front(third.docks["Statistics"]), timeout=3000)  # the tab in front stays in front


def test_a_layout_saved_before_the_panel_existed_keeps_it_in_its_tab(qtbot, make_app, image_folder, settings):
    app = make_app(image_folder)
    window = app.window
    window.removeDockWidget(window.docks["Statistics"])  # what a window without the panel saved
    window.close()
    assert settings.window_state
    again = make_app(image_folder).window
    dock = again.docks["Statistics"]
    assert not dock.isHidden() and not dock.isFloating()
    assert again.dockWidgetArea(dock) == Qt.RightDockWidgetArea and again.tabifiedDockWidgets(dock)
