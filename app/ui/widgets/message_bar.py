"""A banner above the canvas for things the user must see (errors, missing checkpoint).

It never blocks: no modal dialog, so labelling and tests carry on.
"""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QToolButton

STYLES = {
    "info": "background:#23415f; color:#e8f0ff;",
    "warning": "background:#5f4b16; color:#fff4d6;",
    "error": "background:#6b1f1f; color:#ffe4e4;",
}


class MessageBar(QFrame):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.label.setTextFormat(Qt.RichText)
        self.label.setOpenExternalLinks(True)
        self.label.setTextInteractionFlags(Qt.TextBrowserInteraction)
        close = QToolButton()
        close.setText("✕")
        close.setAutoRaise(True)
        close.setFocusPolicy(Qt.NoFocus)
        close.clicked.connect(self.hide)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 4, 4)
        layout.addWidget(self.label, 1)
        layout.addWidget(close, 0, Qt.AlignTop)
        self.level = "info"
        self.hide()

    def show_message(self, level: str, html: str) -> None:
        self.level = level
        self.setStyleSheet(f"MessageBar {{{STYLES.get(level, STYLES['info'])}}} QLabel {{{STYLES.get(level, '')}}}")
        self.label.setText(html)
        self.show()

    @property
    def text(self) -> str:
        return self.label.text()
