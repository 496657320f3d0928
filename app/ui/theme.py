"""Light or dark: follow the system, or the user's choice (View > Theme), remembered.

"system" asks Qt first (``QStyleHints.colorScheme``: the desktop's setting on
Windows, macOS, GNOME and KDE, and it follows changes live); where Qt cannot
tell (a Linux desktop without a Qt platform theme, or none at all) it asks
darkdetect, which reads GNOME's ``color-scheme`` through ``gsettings``; with
neither (no desktop, no ``gsettings``) it is light. Dark is Qt's Fusion style
with a dark palette, the one style that draws every widget from the palette on
every system.
"""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication, QStyleFactory

CHOICES = ("system", "light", "dark")


def system_is_dark() -> bool:
    scheme = QGuiApplication.styleHints().colorScheme()
    if scheme != Qt.ColorScheme.Unknown:
        return scheme == Qt.ColorScheme.Dark
    try:
        import darkdetect
    except ImportError:  # an optional nicety: Qt's answer, or light
        return False
    try:
        return (darkdetect.theme() or "").lower() == "dark"
    except Exception:  # gsettings missing or broken: no desktop to follow
        return False


def dark_palette() -> QPalette:
    palette = QPalette()
    base, window, text, mid = QColor(36, 37, 41), QColor(48, 50, 55), QColor(226, 228, 232), QColor(70, 72, 78)
    for role, color in (
        (QPalette.Window, window), (QPalette.WindowText, text), (QPalette.Base, base),
        (QPalette.AlternateBase, QColor(44, 46, 51)), (QPalette.ToolTipBase, window), (QPalette.ToolTipText, text),
        (QPalette.PlaceholderText, QColor(140, 142, 148)), (QPalette.Text, text), (QPalette.Button, window),
        (QPalette.ButtonText, text), (QPalette.BrightText, QColor(255, 90, 90)), (QPalette.Light, mid),
        (QPalette.Midlight, QColor(60, 62, 67)), (QPalette.Mid, mid), (QPalette.Dark, QColor(25, 26, 29)),
        (QPalette.Shadow, QColor(10, 10, 12)), (QPalette.Highlight, QColor(53, 111, 196)),
        (QPalette.HighlightedText, QColor(255, 255, 255)), (QPalette.Link, QColor(110, 165, 255)),
        (QPalette.LinkVisited, QColor(170, 140, 255)),
    ):
        palette.setColor(role, color)
    grey = QColor(128, 130, 136)
    for role in (QPalette.WindowText, QPalette.Text, QPalette.ButtonText):
        palette.setColor(QPalette.Disabled, role, grey)
    return palette


class Theme:
    """Applies a choice to the QApplication, and follows the system while the choice is "system"."""

    def __init__(self, qapp: QApplication) -> None:
        self.qapp = qapp
        self.light_style = qapp.style().name()  # what the platform gave, restored for light
        self.choice = "system"
        self.dark = False
        QGuiApplication.styleHints().colorSchemeChanged.connect(self._on_system_changed)

    def apply(self, choice: str) -> bool:
        """Use ``choice`` ("system", "light", "dark"); True when the result is dark."""
        if choice not in CHOICES:
            raise ValueError(f"theme must be one of {CHOICES}, got {choice!r}")
        self.choice = choice
        self.dark = choice == "dark" or (choice == "system" and system_is_dark())
        style = "Fusion" if self.dark else self.light_style
        if self.qapp.style().name().lower() != style.lower() and style.lower() in map(str.lower, QStyleFactory.keys()):
            self.qapp.setStyle(style)
        self.qapp.setPalette(dark_palette() if self.dark else self.qapp.style().standardPalette())
        return self.dark

    def _on_system_changed(self, _scheme) -> None:
        if self.choice == "system":
            self.apply("system")

    def close(self) -> None:
        QGuiApplication.styleHints().colorSchemeChanged.disconnect(self._on_system_changed)


__all__ = ["CHOICES", "Theme", "dark_palette", "system_is_dark"]
