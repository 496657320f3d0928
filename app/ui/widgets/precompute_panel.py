"""The status-bar strip that shows "Precompute folder" at work: count, bar, ETA and Cancel."""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QToolButton, QWidget


def format_eta(seconds: float) -> str:
    """"ETA 1:05", "ETA 2:03:10", or "ETA –" while unknown (negative)."""
    if seconds < 0:
        return "ETA –"
    seconds = round(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"ETA {hours}:{minutes:02d}:{secs:02d}" if hours else f"ETA {minutes}:{secs:02d}"


class PrecomputePanel(QWidget):
    cancel_requested = Signal()

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.label = QLabel()
        self.bar = QProgressBar()
        self.bar.setMaximumWidth(160)
        self.bar.setTextVisible(False)
        self.cancel_button = QToolButton()
        self.cancel_button.setText("Cancel")
        self.cancel_button.setAutoRaise(True)
        self.cancel_button.setFocusPolicy(Qt.NoFocus)
        self.cancel_button.setToolTip("Stop precomputing (what is done stays on disk)")
        self.cancel_button.clicked.connect(self.cancel_requested)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for widget in (self.label, self.bar, self.cancel_button):
            layout.addWidget(widget)
        self.hide()

    def show_progress(self, done: int, total: int, eta: float) -> None:
        self.bar.setRange(0, max(total, 1))
        self.bar.setValue(done)
        text = f"Precomputing {done}/{total}" if total else "Precomputing: listing images…"
        self.label.setText(f"{text} · {format_eta(eta)}" if total else text)
        self.show()

    def finish(self, _summary: str = "") -> None:
        self.hide()
