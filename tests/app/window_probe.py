"""Start the real window on an offscreen screen of a given size, in its own process, and
report where it opened: ``python -m tests.app.window_probe SETTINGS_INI FOLDER [W H X Y]``.

The screen comes from Qt's offscreen platform config (``QT_QPA_PLATFORM=offscreen:
configfile=...``), so a first start on a 1366x768 laptop is tested as one. With
``W H X Y`` the window is moved there before it closes (what the next start restores).
Prints one JSON line.
"""
from __future__ import annotations

import json
import sys
import time


def main(argv: list[str]) -> None:
    from PySide6.QtWidgets import QApplication

    from app.bootstrap.assemble import build
    from app.services.settings import Settings

    qapp = QApplication.instance() or QApplication(sys.argv[:1])
    settings_path, folder, *move = argv
    app = build(folder, None, "cpu", Settings(settings_path))
    window = app.window
    window.show()
    end = time.monotonic() + 1.5
    while time.monotonic() < end:
        qapp.processEvents()
        time.sleep(0.01)
    screen = window.screen().availableGeometry()
    frame, inner = window.frameGeometry(), window.geometry()
    report = {
        "screen": [screen.x(), screen.y(), screen.width(), screen.height()],
        "frame": [frame.x(), frame.y(), frame.width(), frame.height()],
        "geometry": [inner.x(), inner.y(), inner.width(), inner.height()],
        "maximized": window.isMaximized(),
        "canvas_width": window.canvas.width(),
        "status_bar_bottom": window.statusBar().mapTo(window, window.statusBar().rect().bottomLeft()).y(),
        "window_height": window.height(),
    }
    if move:
        from PySide6.QtCore import Qt

        w, h, x, y = (int(v) for v in move)
        window.setWindowState(Qt.WindowNoState)
        window.setGeometry(x, y, w, h)
        qapp.processEvents()
    window.close()
    app.shutdown()
    print(json.dumps(report))


if __name__ == "__main__":
    main(sys.argv[1:])
