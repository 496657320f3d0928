"""Remembered settings (last folder, checkpoint, device, the window's layout) over QSettings.

The file is injectable so tests never touch the user's settings.
"""
from __future__ import annotations

import base64
import json
from pathlib import Path

from PySide6.QtCore import QSettings, QStandardPaths

from app.services.checkpoints.catalog import OFFICIAL_BASE_URL
from sam_core.limits import Limits

ORGANISATION = "Maskwright"
APPLICATION = "Maskwright"


class Settings:
    """Typed access to the few things Maskwright remembers between runs."""

    def __init__(self, path: Path | None = None) -> None:
        if path is None:
            self._qsettings = QSettings(QSettings.IniFormat, QSettings.UserScope, ORGANISATION, APPLICATION)
        else:
            self._qsettings = QSettings(str(path), QSettings.IniFormat)
        self._injected_dir = Path(path).parent if path is not None else None  # tests keep caches beside it

    @property
    def file_name(self) -> str:
        return self._qsettings.fileName()

    def _get(self, key: str, default: str = "") -> str:
        value = self._qsettings.value(key, default)
        return default if value is None else str(value)

    def _set(self, key: str, value: str) -> None:
        self._qsettings.setValue(key, value)
        self._qsettings.sync()

    def _folder(self, key: str, name: str, location: QStandardPaths.StandardLocation, *parts: str) -> Path:
        """``key`` from the ini file; else ``name`` beside an injected ini file (tests, portable
        use); else ``parts`` under the user's standard ``location``."""
        stored = self._get(key)
        if stored:
            return Path(stored)
        if self._injected_dir is not None:
            return self._injected_dir / name
        return Path(QStandardPaths.writableLocation(location)).joinpath(*parts)

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

    @property
    def models_dir(self) -> Path:
        """Where the model manager keeps checkpoints (``models_dir`` in the ini file overrides it)."""
        return self._folder("models_dir", "models", QStandardPaths.GenericDataLocation,
                            ORGANISATION, APPLICATION, "models")

    @property
    def model_base_url(self) -> str:
        """Where checkpoints are downloaded from; a mirror can be set as ``model_base_url`` in the ini file."""
        return self._get("model_base_url", OFFICIAL_BASE_URL)

    @model_base_url.setter
    def model_base_url(self, value: str) -> None:
        self._set("model_base_url", value)

    @property
    def shortcuts(self) -> dict[str, list[str]]:
        """The user's key bindings that differ from the defaults: action id -> keys
        (portable text). A damaged entry reads as no overrides."""
        try:
            value = json.loads(self._get("shortcuts", "{}"))
        except ValueError:
            return {}
        if not isinstance(value, dict):
            return {}
        return {str(k): [str(key) for key in v] for k, v in value.items() if isinstance(v, list)}

    @shortcuts.setter
    def shortcuts(self, value: dict[str, list[str]]) -> None:
        self._set("shortcuts", json.dumps({k: list(v) for k, v in sorted(value.items())}))

    @property
    def max_image_megapixels(self) -> float:
        """Images above this many million pixels are refused (``max_image_megapixels`` in the ini
        file; 500 by default, at most what COCO RLE can describe, 4,294 MP)."""
        try:
            value = float(self._get("max_image_megapixels", str(Limits().max_pixels / 1e6)))
        except ValueError:
            return Limits().max_pixels / 1e6
        return value if value > 0 and value == value else Limits().max_pixels / 1e6

    @property
    def limits(self) -> Limits:
        """What files may describe (:mod:`sam_core.limits`), with the user's image size limit."""
        return Limits.with_max_megapixels(self.max_image_megapixels)

    @property
    def embedding_cache_dir(self) -> Path:
        """Where encoded images are kept (``embedding_cache_dir`` in the ini file overrides it):
        beside an injected settings file, else the user's cache folder."""
        return self._folder("embedding_cache_dir", "embeddings", QStandardPaths.GenericCacheLocation,
                            ORGANISATION, "embeddings")

    @property
    def embedding_cache_mb(self) -> int:
        """The disk cache's size cap in MB (``embedding_cache_mb``; 0 turns the cache off)."""
        try:
            return max(0, int(self._get("embedding_cache_mb", "4096")))
        except ValueError:
            return 4096


    @property
    def export_choices(self) -> dict[str, str]:
        """The last export's choices (``format``, ``path``, ``holes``, ``scope``); a damaged
        entry reads as none."""
        try:
            value = json.loads(self._get("export", "{}"))
        except ValueError:
            return {}
        return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}

    @export_choices.setter
    def export_choices(self, value: dict[str, str]) -> None:
        self._set("export", json.dumps({str(k): str(v) for k, v in value.items()}))

    @property
    def import_choices(self) -> dict[str, str]:
        """The last import's folder and format, for the next dialog."""
        try:
            value = json.loads(self._get("import", "{}"))
        except ValueError:
            return {}
        return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}

    @import_choices.setter
    def import_choices(self, value: dict[str, str]) -> None:
        self._set("import", json.dumps({str(k): str(v) for k, v in value.items()}))
    # -- the window ------------------------------------------------------------------------------------
    @property
    def window_geometry(self) -> bytes:
        """The main window's last geometry (``QWidget.saveGeometry``), empty at the first start."""
        return _unbase64(self._get("window_geometry"))

    @window_geometry.setter
    def window_geometry(self, value: bytes) -> None:
        self._set("window_geometry", base64.b64encode(bytes(value)).decode("ascii"))

    @property
    def window_state(self) -> bytes:
        """Where the panels were (``QMainWindow.saveState``), empty at the first start."""
        return _unbase64(self._get("window_state"))

    @window_state.setter
    def window_state(self, value: bytes) -> None:
        self._set("window_state", base64.b64encode(bytes(value)).decode("ascii"))

    @property
    def recent_folders(self) -> list[str]:
        """Folders opened lately, most recent first (a damaged entry reads as none)."""
        try:
            value = json.loads(self._get("recent_folders", "[]"))
        except ValueError:
            return []
        return [str(v) for v in value if isinstance(v, str)] if isinstance(value, list) else []

    @recent_folders.setter
    def recent_folders(self, value: list[str]) -> None:
        self._set("recent_folders", json.dumps(list(value)))

    def remember_folder(self, folder: str, keep: int = 10) -> list[str]:
        """Put ``folder`` first in :attr:`recent_folders` (once), keeping ``keep``; returns the list."""
        folders = [folder] + [f for f in self.recent_folders if f != folder]
        self.recent_folders = folders[:keep]
        return self.recent_folders

    @property
    def theme(self) -> str:
        """"system" (follow the desktop), "light" or "dark"."""
        value = self._get("theme", "system")
        return value if value in THEMES else "system"

    @theme.setter
    def theme(self, value: str) -> None:
        if value not in THEMES:
            raise ValueError(f"theme must be one of {THEMES}, got {value!r}")
        self._set("theme", value)

    @property
    def view_options(self) -> dict:
        """The canvas's remembered view options (see ``ViewOptions.remembered``); a damaged
        entry reads as none."""
        try:
            value = json.loads(self._get("view_options", "{}"))
        except ValueError:
            return {}
        return value if isinstance(value, dict) else {}

    @view_options.setter
    def view_options(self, value: dict) -> None:
        self._set("view_options", json.dumps(value))

    @property
    def candidates_on_canvas(self) -> bool:
        """The candidate strip floats on the canvas instead of sitting in its panel."""
        return self._get("candidates_on_canvas", "false") == "true"

    @candidates_on_canvas.setter
    def candidates_on_canvas(self, value: bool) -> None:
        self._set("candidates_on_canvas", "true" if value else "false")


THEMES = ("system", "light", "dark")


def _unbase64(text: str) -> bytes:
    try:
        return base64.b64decode(text.encode("ascii"), validate=True) if text else b""
    except (ValueError, UnicodeEncodeError):
        return b""
