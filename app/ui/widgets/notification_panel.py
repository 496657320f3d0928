"""The Messages panel: every message of the session, newest first, unread ones in bold.

It shows what :class:`app.model.notices.Notices` keeps and holds nothing else:
clicking a message asks to mark it read, "Mark all read" all of them.
"""
from __future__ import annotations

import time

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QTextDocumentFragment
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from app.model.notices import Notice
from app.ui.widgets.qimage import swatch

ID_ROLE = Qt.UserRole
COLORS = {"info": (70, 130, 200), "warning": (215, 165, 40), "error": (205, 60, 60)}


def plain(html: str) -> str:
    """A message's text without markup (what the list shows; the tooltip keeps the rich text)."""
    return " ".join(QTextDocumentFragment.fromHtml(html).toPlainText().split())


class NotificationPanel(QWidget):
    read_requested = Signal(int)  # notice id
    all_read_requested = Signal()

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.list = QListWidget()
        self.list.setWordWrap(True)
        self.list.setFocusPolicy(Qt.NoFocus)
        self.list.setVerticalScrollMode(QListWidget.ScrollPerPixel)
        self.count = QLabel("No messages")
        self.count.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Preferred)  # never widens the column
        mark = QPushButton("Mark all read")
        mark.setFocusPolicy(Qt.NoFocus)
        mark.clicked.connect(self.all_read_requested)
        row = QHBoxLayout()
        row.addWidget(self.count, 1)
        row.addWidget(mark)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(row)
        layout.addWidget(self.list, 1)
        self.list.itemClicked.connect(lambda item: self.read_requested.emit(item.data(ID_ROLE)))

    def show_notices(self, newest_first: list[Notice]) -> None:
        self.list.clear()
        unread = sum(n.pending for n in newest_first)
        self.count.setText(f"{len(newest_first)} message{'s' * (len(newest_first) != 1)}, {unread} unread"
                           if newest_first else "No messages")
        for notice in newest_first:
            when = time.strftime("%H:%M:%S", time.localtime(notice.time))
            suffix = " (resolved)" if notice.resolved else ""
            item = QListWidgetItem(swatch(COLORS[notice.level]), f"{when}  {plain(notice.html)}{suffix}")
            item.setData(ID_ROLE, notice.id)
            item.setToolTip(notice.html)
            font = item.font()
            font.setBold(notice.pending)
            item.setFont(font)
            if notice.resolved:
                item.setForeground(QColor(128, 128, 128))
            self.list.addItem(item)

    def texts(self) -> list[str]:
        return [self.list.item(i).text() for i in range(self.list.count())]
