"""Where the window and its panels are: the first start fills the screen, later starts
come back as they were, and a window never opens bigger than the screen.

The geometry (``saveGeometry``) and the panels (``saveState``) are kept in the
settings when the window closes. ``LAYOUT_VERSION`` goes into the saved state:
raise it when the panels change so much that an old arrangement would mislead,
and old states are ignored (the default arrangement is used).
"""
from __future__ import annotations

from PySide6.QtCore import QByteArray, QRect, Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QMainWindow

from app.services.settings import Settings

LAYOUT_VERSION = 2  # 1: the fixed 1400x900 window of before; 2: docks with the candidate strip


def available(window: QMainWindow) -> QRect:
    """The available geometry (without task bars) of the screen the window is on, else the primary one."""
    screen = window.screen() or QGuiApplication.primaryScreen()
    return screen.availableGeometry()


def restore(window: QMainWindow, settings: Settings) -> bool:
    """Put the window where it was (True), or fill the screen at the first start (False)."""
    geometry, state = settings.window_geometry, settings.window_state
    restored = bool(geometry) and window.restoreGeometry(QByteArray(geometry))
    if state:
        window.restoreState(QByteArray(state), LAYOUT_VERSION)
    if restored:
        if not window.windowState() & (Qt.WindowMaximized | Qt.WindowFullScreen):
            fit_on_screen(window)
        return True
    window.setGeometry(available(window))
    window.setWindowState(window.windowState() | Qt.WindowMaximized)  # a window manager adds its frame inside
    return False


def fit_on_screen(window: QMainWindow) -> None:
    """Shrink and move the window into the screen's available area (a screen may have
    become smaller, or gone, since the geometry was saved)."""
    area = available(window)
    rect = window.geometry()
    width, height = min(rect.width(), area.width()), min(rect.height(), area.height())
    x = min(max(rect.x(), area.x()), area.right() + 1 - width)
    y = min(max(rect.y(), area.y()), area.bottom() + 1 - height)
    window.setGeometry(x, y, width, height)


def save(window: QMainWindow, settings: Settings) -> None:
    settings.window_geometry = bytes(window.saveGeometry().data())
    settings.window_state = bytes(window.saveState(LAYOUT_VERSION).data())


__all__ = ["LAYOUT_VERSION", "fit_on_screen", "restore", "save"]
