"""Keys and mouse gestures reach the controllers through the real window."""
from __future__ import annotations

from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication

from tests.app.conftest import wait_ready
from tests.app.test_workflow import view_pos


def drag(widget, start, end, steps: int = 6) -> None:
    """A real left-button drag (QTest's mouseMove carries no buttons, so send events)."""
    def send(kind, pos, button, buttons):
        local = QPointF(pos)
        event = QMouseEvent(kind, local, widget.mapToGlobal(local), button, buttons, Qt.NoModifier)
        QApplication.sendEvent(widget, event)

    send(QEvent.MouseButtonPress, start, Qt.LeftButton, Qt.LeftButton)
    for i in range(1, steps + 1):
        p = start + (end - start) * (i / steps)
        send(QEvent.MouseMove, p, Qt.NoButton, Qt.LeftButton)
    send(QEvent.MouseButtonRelease, end, Qt.LeftButton, Qt.NoButton)


def test_keys_drive_the_labelling_loop(qtbot, make_app, image_folder, tiny_checkpoint):
    app = make_app(image_folder, tiny_checkpoint)
    window, lab = app.window, app
    wait_ready(qtbot, app)
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=3000)
    canvas = window.canvas
    session = lab.state.prompts

    qtbot.mouseClick(canvas.viewport(), Qt.LeftButton, pos=view_pos(canvas, 40, 40))
    qtbot.waitUntil(lambda: session.candidates is not None, timeout=10000)
    assert len(session.candidates) == 3

    qtbot.keyClick(canvas, Qt.Key_3)
    assert session.selected == session.candidates.order[2]
    qtbot.keyClick(canvas, Qt.Key_Tab)
    assert session.selected == session.candidates.order[0]

    # A right click adds a negative point; two points -> SAM's single-mask output.
    first = session.candidates
    qtbot.mouseClick(canvas.viewport(), Qt.RightButton, pos=view_pos(canvas, 100, 80))
    qtbot.waitUntil(lambda: session.candidates is not None and session.candidates is not first, timeout=10000)
    assert session.labels.tolist() == [1, 0]
    assert len(session.candidates) == 1
    assert sum(b.isEnabled() for b in window.candidates.buttons) == 1  # the other slots keep their place
    assert "1 candidate" in window.candidates.header.text()

    qtbot.keyClick(canvas, Qt.Key_Backspace)
    assert session.labels.tolist() == [1]
    qtbot.waitUntil(lambda: session.candidates is not None and len(session.candidates) == 3, timeout=10000)
    qtbot.keyClick(canvas, Qt.Key_Escape)
    assert session.prompts == [] and session.candidates is None

    # A left drag draws a box prompt.
    drag(canvas.viewport(), view_pos(canvas, 20, 20), view_pos(canvas, 90, 70))
    assert session.box is not None
    x0, y0, x1, y1 = session.box
    assert abs(x0 - 20) < 2 and abs(y0 - 20) < 2 and abs(x1 - 90) < 2 and abs(y1 - 70) < 2
    qtbot.waitUntil(lambda: session.candidates is not None, timeout=10000)
    if not session.selected_mask().any():
        lab.prompting.pick(next(r for r, i in enumerate(session.candidates.order) if session.candidates.mask(i).any()))
    qtbot.keyClick(canvas, Qt.Key_Space)
    assert len(lab.state.project.dataset.annotations(lab.state.image_id)) == 1
    assert lab.state.project.dataset.annotations(lab.state.image_id)[0].provenance.box is not None

    first_image = lab.state.image_id
    qtbot.keyClick(canvas, Qt.Key_D)
    assert lab.state.image_id == lab.state.project.neighbour(first_image, 1)
    qtbot.keyClick(canvas, Qt.Key_PageUp)
    assert lab.state.image_id == first_image
    qtbot.keyClick(canvas, Qt.Key_D, Qt.ControlModifier)
    assert lab.state.project.is_done(first_image)
    assert "\n✓ " in window.image_list.text_of(first_image)
