"""Keys typed into an editor stay in the editor.

The window's single-key shortcuts (Return accepts a mask, Space, letters,
digits, Backspace, Delete, Esc, Tab, the arrows…) would otherwise fire while the
user types a category's new name, a brush radius or a filter: Qt gives a key to
a shortcut first unless the focused widget claims it in a ``ShortcutOverride``
event, and a line edit does not claim Return, Esc, Tab or the arrows, nor a spin
box PageUp/PageDown. :class:`FocusGuard` claims every key without Ctrl, Alt or
Meta for the focused editor (line edits, spin boxes, text edits, key-sequence
recorders, editable combo boxes and item views' editors); function keys and
Ctrl/Alt shortcuts still work (Ctrl+Z in an editor is the editor's own undo).

After Return, Enter or Esc in a panel's spin box or line edit (not an item view's
editor, which closes by itself) the focus goes back to ``home`` (the canvas), so
the next single key labels again.
"""
from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtWidgets import (
    QAbstractItemView,
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QKeySequenceEdit,
    QLineEdit,
    QPlainTextEdit,
    QTextEdit,
    QWidget,
)

COMMAND_MODIFIERS = Qt.ControlModifier | Qt.AltModifier | Qt.MetaModifier
LEAVE_KEYS = (Qt.Key_Return, Qt.Key_Enter, Qt.Key_Escape)


TEXT_EDITORS = (QLineEdit, QTextEdit, QPlainTextEdit)


def editor_of(widget: QWidget | None) -> QWidget | None:
    """The editor ``widget`` is (or whose inner line edit it is: a spin box, a key
    recorder, an editable combo box), or None when it is no editor."""
    if widget is None:
        return None
    for candidate in (widget.parentWidget(), widget):
        if isinstance(candidate, (QAbstractSpinBox, QKeySequenceEdit)):
            return candidate
        if isinstance(candidate, QComboBox):
            return candidate if candidate.isEditable() else None
    return widget if isinstance(widget, TEXT_EDITORS) else None


def is_typing_key(event) -> bool:
    """A key without Ctrl, Alt or Meta that is not a function key."""
    key = event.key()
    return not (event.modifiers() & COMMAND_MODIFIERS) and not Qt.Key_F1 <= key <= Qt.Key_F35


def in_item_view(widget: QWidget) -> bool:
    parent = widget.parentWidget()
    while parent is not None:
        if isinstance(parent, QAbstractItemView):
            return True
        parent = parent.parentWidget()
    return False


class FocusGuard(QObject):
    """Installed on the window and on each dock (a floating dock is its own window)."""

    def __init__(self, home: QWidget, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.home = home

    def watch(self, *widgets: QWidget) -> None:
        for widget in widgets:
            widget.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.ShortcutOverride and is_typing_key(event):
            editor = editor_of(QApplication.focusWidget())
            if editor is not None:
                event.accept()  # the key goes to the editor as a key press, not to a shortcut
                if event.key() in LEAVE_KEYS and not in_item_view(editor):
                    QTimer.singleShot(0, self._go_home)
                return True
        return False

    def _go_home(self) -> None:
        if editor_of(QApplication.focusWidget()) is not None and self.home.isVisible():
            self.home.setFocus(Qt.ShortcutFocusReason)


__all__ = ["FocusGuard", "editor_of"]
