"""A banner above the canvas for the message the user must see now (errors, missing checkpoint).

It shows one :class:`~app.model.notices.Notice` (the most important unread one,
chosen by :meth:`app.model.notices.Notices.banner`) and how many more are
unread. It never blocks: no modal dialog, so labelling and tests carry on.
Closing it marks that message read (``dismissed``); "N more" asks for the
messages panel (``more_requested``).
"""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QToolButton

from app.model.notices import Notice

STYLES = {
    "info": "background:#23415f; color:#e8f0ff;",
    "warning": "background:#5f4b16; color:#fff4d6;",
    "error": "background:#6b1f1f; color:#ffe4e4;",
}


class MessageBar(QFrame):
    dismissed = Signal(int)  # notice id
    more_requested = Signal()

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.label.setTextFormat(Qt.RichText)
        self.label.setOpenExternalLinks(True)
        self.label.setTextInteractionFlags(Qt.TextBrowserInteraction)
        self.more = QToolButton()
        self.more.setAutoRaise(True)
        self.more.setFocusPolicy(Qt.NoFocus)
        self.more.setToolTip("Show every message of this session")
        self.more.clicked.connect(self.more_requested)
        close = QToolButton()
        close.setText("✕")
        close.setAutoRaise(True)
        close.setFocusPolicy(Qt.NoFocus)
        close.setToolTip("Mark this message read (the messages panel keeps it)")
        close.clicked.connect(self._dismiss)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 4, 4)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.more, 0, Qt.AlignTop)
        layout.addWidget(close, 0, Qt.AlignTop)
        self.level = "info"
        self.notice: Notice | None = None
        self.hide()

    def show_notice(self, notice: Notice | None, others: int = 0) -> None:
        """Show ``notice`` (None hides the banner) and that ``others`` more are unread."""
        self.notice = notice
        if notice is None:
            self.hide()
            return
        self.level = notice.level
        style = STYLES.get(notice.level, STYLES["info"])
        self.setStyleSheet(f"MessageBar {{{style}}} QLabel {{{style}}} QToolButton {{{style}}}")
        self.label.setText(notice.html)
        self.more.setText(f"{others} more")
        self.more.setVisible(others > 0)
        self.show()

    def _dismiss(self) -> None:
        if self.notice is not None:
            self.dismissed.emit(self.notice.id)

    @property
    def text(self) -> str:
        return self.label.text() if self.isVisible() or self.notice is not None else ""
