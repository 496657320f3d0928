"""The View panel: mask opacity slider, and buttons for hide all, outline only and colour
by instance (the window's actions: same keys, same checked state).

The slider only asks (``opacity_requested``, 0..1); :meth:`ViewControls.show_opacity`
shows what the view options became, so the keys and the slider never disagree.
"""
from __future__ import annotations

from collections.abc import Mapping

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QGridLayout, QHBoxLayout, QLabel, QSlider, QVBoxLayout, QWidget

from app.ui.widgets.tool_options import action_button

VIEW_ACTIONS = ("view.hide_all", "view.outline_only", "view.color_by_instance")


class ViewControls(QWidget):
    opacity_requested = Signal(float)  # 0 (invisible) .. 1 (opaque)

    def __init__(self, actions: Mapping[str, QAction], parent=None) -> None:
        super().__init__(parent)
        self.opacity = QSlider(Qt.Horizontal)
        self.opacity.setRange(0, 100)
        self.opacity.setFocusPolicy(Qt.NoFocus)  # keep single-key shortcuts working
        self.opacity.setToolTip("Mask opacity (Ctrl+[ and Ctrl+] change it)")
        self.percent = QLabel()
        self.percent.setMinimumWidth(36)
        row = QHBoxLayout()
        row.addWidget(QLabel("Opacity"))
        row.addWidget(self.opacity, 1)
        row.addWidget(self.percent)
        buttons = QGridLayout()
        for n, action_id in enumerate(VIEW_ACTIONS):
            buttons.addWidget(action_button(actions[action_id]), n // 2, n % 2)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(9, 0, 9, 9)
        layout.addLayout(row)
        layout.addLayout(buttons)
        self.opacity.valueChanged.connect(lambda v: self.opacity_requested.emit(v / 100))

    def show_opacity(self, opacity: float) -> None:
        value = round(opacity * 100)
        self.percent.setText(f"{value}%")
        if self.opacity.value() != value:
            self.opacity.blockSignals(True)
            self.opacity.setValue(value)
            self.opacity.blockSignals(False)


__all__ = ["VIEW_ACTIONS", "ViewControls"]
