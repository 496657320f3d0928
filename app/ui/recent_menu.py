"""File > Recent folders: the folders opened lately, most recent first.

The list itself lives in the settings (:meth:`app.services.settings.Settings.remember_folder`);
this menu shows it, greys out folders that are gone, and asks for a folder
through ``folder_chosen``.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QMenu

from app.services.settings import Settings


class RecentFoldersMenu(QMenu):
    folder_chosen = Signal(str)

    def __init__(self, settings: Settings, parent=None) -> None:
        super().__init__("Recent folders", parent)
        self.settings = settings
        self.setObjectName("file.recent")
        self.aboutToShow.connect(self.refresh)
        self.refresh()

    def remember(self, folder: str) -> None:
        self.settings.remember_folder(folder)
        self.refresh()

    def refresh(self) -> None:
        self.clear()
        folders = self.settings.recent_folders
        for n, folder in enumerate(folders, start=1):
            present = Path(folder).is_dir()
            label = f"&{n % 10} {folder}" if n <= 10 else folder
            action = self.addAction(label if present else f"{label} (not found)")
            action.setData(folder)
            action.setEnabled(present)
            action.triggered.connect(lambda _checked=False, f=folder: self.folder_chosen.emit(f))
        if folders:
            self.addSeparator()
        clear = self.addAction("Clear recent folders")
        clear.setEnabled(bool(folders))
        clear.triggered.connect(self._clear)
        self.setEnabled(True)

    def _clear(self) -> None:
        self.settings.recent_folders = []
        self.refresh()

    def folders(self) -> list[str]:
        return [a.data() for a in self.actions() if a.data()]


__all__ = ["RecentFoldersMenu"]
