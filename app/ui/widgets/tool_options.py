"""The Tools panel: tool buttons (prompts, brush, eraser, polygon), brush radius, speck size, mask operations, no overlap.

Buttons are the window's actions (same shortcuts, same checked state); the two
spin boxes ask for changes through signals and show what the refiner reports.
"""
from __future__ import annotations

from collections.abc import Mapping

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QDoubleSpinBox,
    QFormLayout,
    QGridLayout,
    QSizePolicy,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.model.labeling_state import MAX_RADIUS, MIN_RADIUS

TOOL_ACTIONS = ("tool.prompt", "tool.brush", "tool.eraser", "tool.polygon")
MASK_ACTIONS = ("mask.add_candidate", "mask.subtract_candidate", "mask.fill_holes", "mask.remove_specks",
                "mask.no_overlap")


def action_button(action: QAction, style: Qt.ToolButtonStyle = Qt.ToolButtonTextOnly) -> QToolButton:
    """A panel button for a window action: same shortcut and checked state; it takes no
    focus, so single-key shortcuts keep working after a click."""
    button = QToolButton()
    button.setDefaultAction(action)
    button.setToolButtonStyle(style)
    button.setFocusPolicy(Qt.NoFocus)
    button.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Fixed)
    button.setMinimumWidth(24)  # a narrow panel clips the label rather than widening the column
    return button


class ToolOptions(QWidget):
    radius_requested = Signal(float)  # original image pixels
    speck_area_requested = Signal(int)  # pixels

    def __init__(self, actions: Mapping[str, QAction], parent=None) -> None:
        super().__init__(parent)
        self.radius = QDoubleSpinBox()
        self.radius.setRange(MIN_RADIUS, MAX_RADIUS)
        self.radius.setDecimals(0)
        self.radius.setSuffix(" px")
        self.radius.setToolTip("Brush and eraser radius in image pixels ([ and ] change it)")
        self.speck_area = QSpinBox()
        self.speck_area.setRange(1, 1_000_000)
        self.speck_area.setSuffix(" px")
        self.speck_area.setToolTip("Remove specks: parts smaller than this are removed")
        for box in (self.radius, self.speck_area):
            box.setFocusPolicy(Qt.ClickFocus)  # keep single-key shortcuts working
            box.setMinimumWidth(60)  # not as wide as a million: the panel stays narrow
        tools = QGridLayout()
        for n, action_id in enumerate(TOOL_ACTIONS):
            tools.addWidget(action_button(actions[action_id]), n // 2, n % 2)
        form = QFormLayout()
        form.addRow("Brush radius", self.radius)
        form.addRow("Speck size", self.speck_area)
        ops = QGridLayout()
        for n, action_id in enumerate(MASK_ACTIONS):
            last_alone = n == len(MASK_ACTIONS) - 1 and n % 2 == 0
            ops.addWidget(action_button(actions[action_id]), n // 2, n % 2, 1, 2 if last_alone else 1)
        layout = QVBoxLayout(self)
        layout.addLayout(tools)
        layout.addLayout(form)
        layout.addLayout(ops)
        layout.addStretch(1)
        self.radius.valueChanged.connect(lambda v: self.radius_requested.emit(float(v)))
        self.speck_area.valueChanged.connect(lambda v: self.speck_area_requested.emit(int(v)))

    def show_radius(self, radius: float) -> None:
        if self.radius.value() != radius:
            self.radius.blockSignals(True)
            self.radius.setValue(radius)
            self.radius.blockSignals(False)

    def show_speck_area(self, pixels: int) -> None:
        if self.speck_area.value() != pixels:
            self.speck_area.blockSignals(True)
            self.speck_area.setValue(pixels)
            self.speck_area.blockSignals(False)
