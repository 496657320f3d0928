"""Connecting the window's own furniture: panels, messages, long jobs, recent folders, theme,
focus and the window's place on the screen.

:func:`chrome_handlers` gives the View actions' handlers (merged into
:func:`app.ui.bindings.bind`'s table); :func:`bind_chrome` connects the rest.

**Long jobs.** Every long job shows in the status bar's progress strip, which
shows :class:`app.model.progress.Jobs`. A controller with a progress signal of the
shape ``(text, done, total)`` (total > 0: running; < 0: running, amount unknown;
0: finished) joins with one line here::

    c.importing.progress.connect(jobs.feeder("import", "Import", c.importing.cancel))
"""
from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from app.model.labeling_state import LabelingState
from app.model.notices import Notices
from app.model.progress import Jobs
from app.services.precompute import Precompute
from app.ui import window_state
from app.ui.docks import PANEL_ACTIONS, Panels
from app.ui.focus_guard import FocusGuard
from app.ui.main_window import MainWindow
from app.ui.theme import Theme


@dataclass
class Chrome:
    """What :func:`make_chrome` made that lives as long as the window."""

    panels: Panels
    theme: Theme
    guard: FocusGuard
    jobs: Jobs


def make_chrome(window: MainWindow, jobs: Jobs) -> Chrome:
    panels = Panels(window, window.docks, window.actions, window.candidates, window.canvas)
    guard = FocusGuard(window.canvas, window)
    guard.watch(window, *window.docks.values())  # a floating dock is a window of its own
    theme = Theme(QApplication.instance())
    window.closing.append(theme.close)
    window.progress_strip.follow(jobs)
    return Chrome(panels, theme, guard, jobs)


def chrome_handlers(window: MainWindow, chrome: Chrome) -> dict:
    actions, panels, settings = window.actions, chrome.panels, window.settings

    def float_candidates() -> None:
        on = actions["view.candidates_on_canvas"].isChecked()
        panels.float_candidates(on)
        settings.candidates_on_canvas = on

    def theme(choice: str) -> None:
        chrome.theme.apply(choice)
        settings.theme = choice

    handlers = {
        "view.candidates_on_canvas": float_candidates,
        "view.all_panels": panels.toggle_all,
        "view.fullscreen": lambda: window.setWindowState(window.windowState() ^ Qt.WindowFullScreen),
        "view.theme_system": lambda: theme("system"),
        "view.theme_light": lambda: theme("light"),
        "view.theme_dark": lambda: theme("dark"),
        "image.filter": lambda: (panels.show_panel("Images"), window.image_filter.text.setFocus(),
                                 window.image_filter.text.selectAll()),
    }
    for title, action_id in PANEL_ACTIONS.items():
        handlers[action_id] = lambda t=title, a=action_id: panels.set_shown(t, actions[a].isChecked())
    return handlers


def bind_chrome(window: MainWindow, state: LabelingState, notices: Notices, chrome: Chrome, c,
                precompute: Precompute) -> None:
    """``c``: the :class:`app.ui.bindings.Controllers`."""
    _messages(window, notices, chrome.panels)
    _jobs(window, chrome.jobs, c, precompute, chrome.panels)
    window.recent_menu.folder_chosen.connect(c.navigation.open_folder)
    state.events.project_changed.connect(
        lambda e: window.recent_menu.remember(str(e.value.folder)) if e.value is not None else None)
    settings = window.settings
    chrome.theme.apply(settings.theme)
    window.actions[f"view.theme_{settings.theme}"].setChecked(True)
    window_state.restore(window, settings)
    if settings.candidates_on_canvas:
        chrome.panels.float_candidates(True)
    chrome.panels.sync()
    view = state.view_options
    view.restore(settings.view_options)
    view.events.changed.connect(lambda _e: setattr(settings, "view_options", view.remembered()))
    window.closing.insert(0, lambda: window_state.save(window, settings))  # before anything shuts down


def _messages(window: MainWindow, notices: Notices, panels: Panels) -> None:
    def refresh(_event=None) -> None:
        banner, pending = notices.banner(), notices.unread_count
        window.message_bar.show_notice(banner, pending - 1 if banner is not None else 0)
        window.messages.show_notices(notices.newest_first())
        window.messages_button.setText(f"✉ {pending}")
        window.messages_button.setToolTip(f"{pending} unread message{'s' * (pending != 1)}: show the Messages panel")

    notices.events.posted.connect(refresh)
    notices.events.changed.connect(refresh)
    window.message_bar.dismissed.connect(notices.mark_read)
    window.message_bar.more_requested.connect(lambda: panels.show_panel("Messages"))
    window.messages.read_requested.connect(notices.mark_read)
    window.messages.all_read_requested.connect(notices.mark_all_read)
    window.messages_button.clicked.connect(lambda: panels.show_panel("Messages"))
    refresh()


def _jobs(window: MainWindow, jobs: Jobs, c, precompute: Precompute, panels: Panels) -> None:
    """Every long job of the controllers into :class:`Jobs` (what the status bar shows)."""
    encoding = jobs.feeder("encode", "Encoding", c.navigation.cancel_encoding)

    def on_encode_state(text: str, done: int, total: int) -> None:
        encoding(text, done, total)
        if total == 0:
            window.encode_label.setText(text)  # "Encoded in 3.1 s", "Embedding ready"

    c.navigation.encode_state.connect(on_encode_state)
    c.prelabel.progress.connect(jobs.feeder("segment", "Segment everything", c.prelabel.cancel))
    c.prelabel.finished.connect(lambda cancelled: None if cancelled else panels.show_panel("Automatic"))
    c.export.progress.connect(jobs.feeder("export", "Export", c.export.cancel))
    c.boxes.progress.connect(jobs.feeder("boxes", "Boxes to masks", c.boxes.cancel))
    c.importing.progress.connect(jobs.feeder("import", "Import", c.importing.cancel))

    def on_precompute(done: int, total: int, eta: float) -> None:
        text = f"Precomputing {done}/{total}" if total else "Precomputing: listing images…"
        jobs.report("precompute", "Precompute folder", text, done, total or -1, precompute.cancel, eta=eta)

    precompute.progress.connect(on_precompute)
    precompute.finished.connect(lambda summary: jobs.end("precompute", summary))


__all__ = ["Chrome", "bind_chrome", "chrome_handlers", "make_chrome"]
