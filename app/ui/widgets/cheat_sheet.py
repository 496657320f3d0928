"""The keyboard cheat sheet (? or F1): every action with the keys bound to it now.

Built from :data:`app.ui.actions.ACTIONS` and the live ``QAction`` s, so rebound
keys show as soon as they are bound. Non-modal: it can stay open while labelling.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QDialog, QTextBrowser, QVBoxLayout

from app.ui.actions import ACTIONS, MENUS, ActionSpec

MOUSE = (
    ("Left click / right click or Alt+click", "positive / negative point (SAM prompts tool)"),
    ("Left drag", "box prompt; with the brush or eraser: a stroke (Shift: a straight line)"),
    ("Middle or right drag, Ctrl+left drag", "pan"),
    ("Wheel", "zoom around the cursor"),
)


def bound_keys(action: QAction) -> list[str]:
    """The action's keys as the user reads them (native text, e.g. "Ctrl+Z")."""
    return [k.toString(QKeySequence.NativeText) for k in action.shortcuts() if not k.isEmpty()]


def cheat_sheet_html(actions: Mapping[str, QAction], specs: Sequence[ActionSpec] = ACTIONS) -> str:
    rows = []
    for menu in MENUS:
        entries = [s for s in specs if s.menu == menu and s.id in actions]
        if not entries:
            continue
        rows.append(f"<tr><th colspan='2' align='left'><br>{escape(menu)}</th></tr>")
        for spec in entries:
            keys = ", ".join(bound_keys(actions[spec.id])) or "—"
            rows.append(f"<tr><td><b>{escape(keys)}</b>&nbsp;&nbsp;</td><td>{escape(spec.text)}</td></tr>")
    rows.append("<tr><th colspan='2' align='left'><br>Mouse</th></tr>")
    rows += [f"<tr><td><b>{escape(g)}</b>&nbsp;&nbsp;</td><td>{escape(t)}</td></tr>" for g, t in MOUSE]
    return "<table cellspacing='2'>" + "".join(rows) + "</table>"


class CheatSheet(QDialog):
    def __init__(self, actions: Mapping[str, QAction], parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Keyboard cheat sheet")
        self.setWindowFlag(Qt.Tool)
        self.resize(520, 720)
        self.actions = actions
        self.text = QTextBrowser()
        layout = QVBoxLayout(self)
        layout.addWidget(self.text)
        self.refresh()

    def refresh(self) -> None:
        self.text.setHtml(cheat_sheet_html(self.actions))

    def showEvent(self, event) -> None:
        self.refresh()
        super().showEvent(event)
