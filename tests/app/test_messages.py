"""Every message goes to the session's list: newest first, a count in the status bar, a Messages
panel that keeps them, and a banner that shows the most important unread one."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QPushButton, QToolButton

from tests.app.conftest import in_front


def close_button(bar) -> QToolButton:
    return next(b for b in bar.findChildren(QToolButton) if b.text() == "✕")


def test_the_missing_checkpoint_banner_goes_when_one_loads(qtbot, make_app, image_folder, tiny_checkpoint):
    app = make_app(image_folder)
    window = app.window
    assert "No SAM checkpoint loaded" in window.message_bar.text and window.message_bar.isVisible()
    app.controllers.checkpoints.load(tiny_checkpoint)
    qtbot.waitUntil(lambda: app.state.sam.ready, timeout=20000)
    assert "No SAM checkpoint" not in window.message_bar.text
    listed = window.messages.texts()
    assert any("No SAM checkpoint loaded" in line and "(resolved)" in line for line in listed)
    assert window.messages_button.text() == f"✉ {app.notices.unread_count}"


def test_messages_do_not_overwrite_each_other(qtbot, make_app, image_folder):
    app = make_app(image_folder)
    window, notices = app.window, app.notices
    notices.mark_all_read()  # the missing-checkpoint warning of this test's start
    assert not window.message_bar.isVisible() and window.messages_button.text() == "✉ 0"
    notices.warning("<b>The last session ended unexpectedly</b>")
    notices.warning("Skipped 4 unreadable files")
    assert window.messages.texts()[0].endswith("Skipped 4 unreadable files")  # newest first
    assert "The last session ended unexpectedly" in window.messages.texts()[1]
    assert window.messages_button.text() == "✉ 2"
    assert window.message_bar.more.isVisible() and window.message_bar.more.text() == "1 more"
    qtbot.mouseClick(close_button(window.message_bar), Qt.LeftButton)  # read: the other one shows
    assert "ended unexpectedly" in window.message_bar.text and window.messages_button.text() == "✉ 1"
    qtbot.mouseClick(close_button(window.message_bar), Qt.LeftButton)
    assert not window.message_bar.isVisible() and len(window.messages.texts()) == 3  # kept for the session


def test_a_warning_never_hides_an_error(qtbot, make_app, image_folder):
    app = make_app(image_folder)
    window, notices = app.window, app.notices
    error = notices.error("SAM decode failed: out of memory")
    notices.warning("Skipped 1 unreadable file")
    notices.info("Exported COCO (RLE): 3 annotations")
    assert window.message_bar.level == "error" and "decode failed" in window.message_bar.text
    assert window.message_bar.more.text() == "3 more"  # the newer ones, and the checkpoint warning
    assert not in_front(window.docks["Messages"])
    qtbot.mouseClick(window.message_bar.more, Qt.LeftButton)  # "3 more": the Messages panel
    qtbot.waitUntil(lambda: in_front(window.docks["Messages"]), timeout=3000)
    row = next(i for i in range(window.messages.list.count())
               if window.messages.list.item(i).data(Qt.UserRole) == error.id)
    item = window.messages.list.item(row)
    assert item.font().bold()
    window.messages.list.itemClicked.emit(item)  # reading it in the panel marks it read
    assert window.message_bar.level == "warning" and notices.get(error.id).read
    mark_all = next(b for b in window.messages.findChildren(QPushButton) if b.text() == "Mark all read")
    qtbot.mouseClick(mark_all, Qt.LeftButton)
    assert not window.message_bar.isVisible() and window.messages.count.text().endswith("0 unread")
