"""The panels around the canvas: their default places and widths, one key each to hide or
show them, and the candidate strip's two homes (its dock, or floating on the canvas).

Default arrangement (the first start, or after the layout changed; later starts
restore the user's own with :mod:`app.ui.window_state`): Images above Tools on
the left, the candidate strip above Categories on the right, and Annotations,
Automatic, Messages and Statistics as tabs below them. The columns are narrow so
that the canvas keeps at least 70% of a 1366-pixel-wide window. Every panel's height is
fixed by its place, not by its content, so nothing moves when candidates appear.
"""
from __future__ import annotations

from collections.abc import Mapping

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QDockWidget, QMainWindow, QWidget

from app.ui.actions import PANEL_KEYS
from app.ui.widgets.candidates_panel import CandidatesPanel

LEFT_WIDTH, RIGHT_WIDTH = 180, 210  # pixels: the canvas gets the rest (>= 70% of 1366)
PANEL_ACTIONS = {title: action_id for title, action_id, _key in PANEL_KEYS}  # dock title -> View action


def arrange(window: QMainWindow, docks: Mapping[str, QDockWidget]) -> None:
    """The default places and widths (before any saved state is restored)."""
    window.tabifyDockWidget(docks["Annotations"], docks["Automatic"])
    window.tabifyDockWidget(docks["Automatic"], docks["Messages"])
    window.tabifyDockWidget(docks["Messages"], docks["Statistics"])
    docks["Annotations"].raise_()
    window.resizeDocks([docks["Images"], docks["Categories"]], [LEFT_WIDTH, RIGHT_WIDTH], Qt.Horizontal)
    window.resizeDocks([docks["Categories"], docks["Annotations"]], [170, 400], Qt.Vertical)
    window.resizeDocks([docks["Images"], docks["Tools"]], [400, 220], Qt.Vertical)


class Panels:
    """Shows, hides and raises the window's docks, keeping the View actions' checks true."""

    def __init__(self, window: QMainWindow, docks: Mapping[str, QDockWidget], actions: Mapping[str, QAction],
                 candidates: CandidatesPanel, canvas: QWidget) -> None:
        self.window, self.docks, self.actions = window, docks, actions
        self.candidates, self.canvas = candidates, canvas
        self._hidden_all: list[str] = []  # what "all panels" hid, to show again
        for title, action_id in PANEL_ACTIONS.items():
            if title in docks and action_id in actions:
                docks[title].toggleViewAction().toggled.connect(actions[action_id].setChecked)
        self.sync()

    def sync(self) -> None:
        """The View actions' checks from the docks (after a restored state hid some before the
        window was shown, which the docks' own toggle actions do not notice)."""
        for title, action_id in PANEL_ACTIONS.items():
            if title in self.docks and action_id in self.actions:
                self.actions[action_id].setChecked(not self.docks[title].isHidden())

    def set_shown(self, title: str, shown: bool) -> None:
        dock = self.docks[title]
        if title == "Candidates" and self.on_canvas:
            self.float_candidates(False)  # asking for the panel brings the strip home
        dock.setVisible(shown)
        if shown:
            dock.raise_()

    def show_panel(self, title: str) -> None:
        """Show ``title`` and bring its tab to the front."""
        self.set_shown(title, True)

    def toggle_all(self) -> None:
        """Hide every panel (the canvas alone), or show again those this hid."""
        if self._hidden_all:
            for title in self._hidden_all:
                self.docks[title].setVisible(True)
            self._hidden_all = []
            return
        self._hidden_all = [t for t, d in self.docks.items() if not d.isHidden()]
        for title in self._hidden_all:
            self.docks[title].setVisible(False)

    # -- the candidate strip ---------------------------------------------------------------------
    @property
    def on_canvas(self) -> bool:
        return self.candidates.parentWidget() is self.canvas

    def float_candidates(self, on: bool) -> None:
        """The strip floats over the canvas's corner (its dock hides, so the right column can
        collapse), or goes back into its dock."""
        dock = self.docks["Candidates"]
        if on and not self.on_canvas:
            self.candidates.float_over(self.canvas)
            dock.setWidget(QWidget())  # a placeholder while the strip is away
            dock.hide()
        elif not on and self.on_canvas:
            placeholder = dock.widget()
            dock.setWidget(self.candidates)
            placeholder.deleteLater()
            dock.show()
        if "view.candidates_on_canvas" in self.actions:
            self.actions["view.candidates_on_canvas"].setChecked(self.on_canvas)


__all__ = ["LEFT_WIDTH", "PANEL_ACTIONS", "RIGHT_WIDTH", "Panels", "arrange"]
