"""The user's keys on the window's actions: the saved key map, the shortcut editor, the cheat sheet.

Applies the key map from the settings to the actions (and to the category
picker's hints), opens the non-modal shortcut editor (Ctrl+,) and the cheat
sheet (? or F1), and saves the bindings the editor applies.
"""
from __future__ import annotations

from collections.abc import Mapping
from html import escape

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QWidget

from app.model.notices import Notices
from app.services.settings import Settings
from app.ui import actions as action_specs
from app.ui.keymap import KeyMap
from app.ui.widgets.category_picker import CategoryPicker
from app.ui.widgets.cheat_sheet import CheatSheet
from app.ui.widgets.shortcut_editor import ShortcutEditor


class KeyBindings:
    def __init__(self, actions: Mapping[str, QAction], parent: QWidget, settings: Settings, notices: Notices,
                 categories: CategoryPicker) -> None:
        self.actions, self.parent, self.settings, self.notices = actions, parent, settings, notices
        self.category_picker = categories
        self.cheat_sheet: CheatSheet | None = None
        self.editor: ShortcutEditor | None = None
        self.keymap = KeyMap(overrides=settings.shortcuts)
        self._bind(self.keymap)
        if self.keymap.dropped:
            notices.warning("Some saved shortcuts were not applied: " + escape("; ".join(self.keymap.dropped)))

    def show_cheat_sheet(self) -> CheatSheet:
        if self.cheat_sheet is None:
            self.cheat_sheet = CheatSheet(self.actions, self.parent)
        self.cheat_sheet.show()
        self.cheat_sheet.raise_()
        return self.cheat_sheet

    def show_shortcut_editor(self) -> ShortcutEditor:
        """Non-modal, so nothing waits on it; OK applies and saves the bindings."""
        self.editor = ShortcutEditor(self.keymap, self.parent)
        self.editor.applied.connect(self.apply_keymap)
        self.editor.setAttribute(Qt.WA_DeleteOnClose)
        self.editor.show()
        return self.editor

    def _bind(self, keymap: KeyMap) -> None:
        self.keymap = keymap
        action_specs.set_shortcuts(self.actions, keymap.as_dict())
        self.category_picker.set_keys([", ".join(keymap.keys(f"category.{n}")) for n in range(1, 10)])

    def apply_keymap(self, keymap: KeyMap) -> None:
        self._bind(keymap)
        self.settings.shortcuts = keymap.overrides()
        if self.cheat_sheet is not None:
            self.cheat_sheet.refresh()
        self.notices.status("Keyboard shortcuts saved")


__all__ = ["KeyBindings"]
