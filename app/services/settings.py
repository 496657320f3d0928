"""Remembered settings (last folder, checkpoint, device) over QSettings.

The file is injectable so tests never touch the user's settings.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings

ORGANISATION = "Maskwright"
APPLICATION = "Maskwright"


class Settings:
    """Typed access to the few things Maskwright remembers between runs."""

    def __init__(self, path: Path | None = None) -> None:
        if path is None:
            self._qsettings = QSettings(QSettings.IniFormat, QSettings.UserScope, ORGANISATION, APPLICATION)
        else:
            self._qsettings = QSettings(str(path), QSettings.IniFormat)

    @property
    def file_name(self) -> str:
        return self._qsettings.fileName()

    def _get(self, key: str, default: str = "") -> str:
        value = self._qsettings.value(key, default)
        return default if value is None else str(value)

    def _set(self, key: str, value: str) -> None:
        self._qsettings.setValue(key, value)
        self._qsettings.sync()

    @property
    def last_folder(self) -> str:
        return self._get("last_folder")

    @last_folder.setter
    def last_folder(self, value: str) -> None:
        self._set("last_folder", value)

    @property
    def checkpoint(self) -> str:
        return self._get("checkpoint")

    @checkpoint.setter
    def checkpoint(self, value: str) -> None:
        self._set("checkpoint", value)

    @property
    def device(self) -> str:
        return self._get("device", "auto")

    @device.setter
    def device(self, value: str) -> None:
        self._set("device", value)

    @property
    def use_mask_input(self) -> bool:
        return self._get("use_mask_input", "true") == "true"

    @use_mask_input.setter
    def use_mask_input(self, value: bool) -> None:
        self._set("use_mask_input", "true" if value else "false")
