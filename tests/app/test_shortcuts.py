"""Rebinding keys: conflicts refused with a message, bindings survive a restart,
the cheat sheet shows the live keys, and the key map logic on its own."""
from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QApplication

from app.ui.actions import ACTIONS
from app.ui.keymap import KeyConflict, KeyMap
from app.services.settings import Settings


def keys(action) -> list[str]:
    return [k.toString(QKeySequence.PortableText) for k in action.shortcuts()]


def test_rebind_refuses_conflicts_and_survives_a_restart(qtbot, make_app, image_folder, settings):
    from app.bootstrap.assemble import build

    app = make_app(image_folder, None)
    window, lab = app.window, app
    qtbot.waitUntil(lambda: window.canvas.image_shape is not None, timeout=10000)
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=3000)

    window.actions["edit.shortcuts"].trigger()
    editor = app.bound.keys.editor
    assert editor.isVisible()
    assert not editor.bind("tool.brush", "E")  # the eraser's key
    assert "E is already bound to “Eraser”" in editor.message.text()
    assert not editor.bind("tool.brush", "Ctrl+Z")
    assert "Undo" in editor.message.text()
    assert editor.bind("tool.brush", "Q") and editor.message.text() == ""
    assert editor.bind("edit.redo", "Ctrl+R", replace=False)
    assert editor.item("tool.brush").text(1) == "Q"
    editor.filter.setText("brush")
    assert not editor.item("tool.brush").isHidden() and editor.item("edit.undo").isHidden()
    editor.accept()
    assert keys(window.actions["tool.brush"]) == ["Q"]
    assert keys(window.actions["edit.redo"]) == ["Ctrl+Shift+Z", "Ctrl+Y", "Ctrl+R"]
    qtbot.keyClick(window.canvas, Qt.Key_Q)
    assert lab.state.tool == "brush"
    qtbot.keyClick(window.canvas, Qt.Key_B)  # no longer bound
    qtbot.keyClick(window.canvas, Qt.Key_P)
    assert lab.state.tool == "prompt"
    assert "Q" in window.actions["tool.brush"].toolTip()

    # The cheat sheet (F1) lists the live bindings.
    qtbot.keyClick(window.canvas, Qt.Key_F1)
    sheet = app.bound.keys.cheat_sheet
    assert sheet.isVisible()
    text = " ".join(sheet.text.toPlainText().split())
    assert "Q Brush" in text and "B Brush" not in text
    assert "Ctrl+R" in text and "Segment everything (all images)" in text
    window.close()

    # A restart with the same settings file: the bindings are back.
    again = build(str(image_folder), None, "cpu", Settings(settings.file_name))
    qtbot.addWidget(again.window)
    try:
        assert keys(again.window.actions["tool.brush"]) == ["Q"]
        assert keys(again.window.actions["edit.redo"]) == ["Ctrl+Shift+Z", "Ctrl+Y", "Ctrl+R"]
        assert keys(again.window.actions["tool.eraser"]) == ["E"]
    finally:
        again.window.close()
        again.shutdown()


def test_key_map_defaults_overrides_and_conflicts():
    keymap = KeyMap()
    assert keymap.keys("edit.redo") == ("Ctrl+Shift+Z", "Ctrl+Y") and keymap.owner("Delete") == "label.delete"
    with pytest.raises(KeyConflict, match="already bound to “Next image”"):
        keymap.set("tool.brush", ["D"])
    with pytest.raises(ValueError):
        keymap.set("tool.brush", ["not a key at all"])
    keymap.set("tool.brush", ["Shift+B", "Shift+B"])
    assert keymap.overrides() == {"tool.brush": ["Shift+B"]}
    keymap.reset("tool.brush")
    assert keymap.overrides() == {}
    # Saved overrides win over defaults; between two saved ones the first wins; junk is skipped.
    loaded = KeyMap(overrides={"tool.brush": ["E"], "view.fit": ["E"], "gone.action": ["F"], "tool.eraser": ["?!?x"]})
    assert loaded.keys("tool.brush") == ("E",) and loaded.keys("view.fit") == ()
    assert loaded.keys("tool.eraser") == () and len(loaded.dropped) == 2
    every = [k for spec in ACTIONS for k in loaded.keys(spec.id)]
    assert len(every) == len(set(every))


def test_damaged_shortcuts_in_the_settings_file_read_as_none(tmp_path):
    path = tmp_path / "settings.ini"
    path.write_text('[General]\nshortcuts="{not json"\n')
    assert Settings(path).shortcuts == {}
    settings = Settings(path)
    settings.shortcuts = {"tool.brush": ["Ctrl+,", "Q"]}
    assert Settings(path).shortcuts == {"tool.brush": ["Ctrl+,", "Q"]}
