"""Keys typed into an editor stay there: no single-key shortcut fires while a text field, a spin
box or a list's editor has the focus (Return while renaming a category used to accept a mask)."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractSpinBox, QApplication, QLineEdit

from app.ui.focus_guard import editor_of
from tests.app.conftest import wait_ready

TYPING_KEYS = (Qt.Key_A, Qt.Key_D, Qt.Key_E, Qt.Key_B, Qt.Key_1, Qt.Key_2, Qt.Key_Space, Qt.Key_BracketLeft,
               Qt.Key_Backspace, Qt.Key_Delete, Qt.Key_Up, Qt.Key_Down, Qt.Key_Left, Qt.Key_PageUp, Qt.Key_PageDown,
               Qt.Key_Escape, Qt.Key_Return, Qt.Key_Enter)


def fired_actions(window) -> list[str]:
    fired: list[str] = []
    for action_id, action in window.actions.items():
        action.triggered.connect(lambda _checked=False, a=action_id: fired.append(a))
    return fired


def activate(qtbot, widget) -> None:
    widget.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is widget.window(), timeout=3000)


def with_candidates(qtbot, app) -> None:
    """Candidates on the canvas: now Return, Space and 1-3 would do something."""
    wait_ready(qtbot, app)
    app.prompting.add_point(40, 40, True)
    qtbot.waitUntil(lambda: app.state.prompts.candidates is not None, timeout=10000)


def test_renaming_a_category_keeps_return_space_digits_and_delete(qtbot, make_app, image_folder, tiny_checkpoint):
    app = make_app(image_folder, tiny_checkpoint)
    window, state = app.window, app.state
    with_candidates(qtbot, app)
    activate(qtbot, window)
    fired = fired_actions(window)
    picker = window.categories
    item = picker.list.item(0)
    category_id = item.data(Qt.UserRole)
    picker.list.setFocus()
    picker.list.editItem(item)
    qtbot.waitUntil(lambda: isinstance(QApplication.focusWidget(), QLineEdit), timeout=3000)
    editor = QApplication.focusWidget()
    editor.selectAll()
    qtbot.keyClicks(editor, "red fruit 12")
    for key in (Qt.Key_Space, Qt.Key_3, Qt.Key_Backspace, Qt.Key_Backspace, Qt.Key_Left, Qt.Key_Delete):
        qtbot.keyClick(editor, key)
    assert editor.text() == "red fruit 1"
    qtbot.keyClick(editor, Qt.Key_Return)  # commits the rename, and nothing else
    qtbot.waitUntil(lambda: state.dataset.categories[category_id].name == "red fruit 1", timeout=3000)
    assert fired == [] and state.dataset.annotations(state.image_id) == []
    assert state.prompts.candidates is not None and state.prompts.selected == state.prompts.candidates.best
    # The editor is closed: single keys label again, and Ctrl+Z undoes the rename.
    window.canvas.setFocus()
    qtbot.keyClick(window.canvas, Qt.Key_2)
    assert fired == ["label.candidate_2"]
    qtbot.keyClick(window.canvas, Qt.Key_Z, Qt.ControlModifier)
    assert state.dataset.categories[category_id].name == "object"


def test_esc_cancels_a_rename_without_clearing_the_prompts(qtbot, make_app, image_folder, tiny_checkpoint):
    app = make_app(image_folder, tiny_checkpoint)
    with_candidates(qtbot, app)
    activate(qtbot, app.window)
    fired = fired_actions(app.window)
    picker = app.window.categories
    picker.list.setFocus()
    picker.list.editItem(picker.list.item(0))
    qtbot.waitUntil(lambda: isinstance(QApplication.focusWidget(), QLineEdit), timeout=3000)
    qtbot.keyClicks(QApplication.focusWidget(), "x")
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key_Escape)
    assert fired == [] and app.state.prompts.prompts and app.state.dataset.categories[1].name == "object"


def test_the_tools_spin_boxes_take_their_keys_and_give_the_focus_back(qtbot, make_app, image_folder):
    app = make_app(image_folder)
    window, state = app.window, app.state
    qtbot.waitUntil(lambda: state.image_id is not None, timeout=10000)
    activate(qtbot, window)
    fired = fired_actions(window)
    image, tool = state.image_id, state.tool
    radius = window.tool_options.radius
    radius.setFocus()
    radius.selectAll()
    for key in (Qt.Key_2, Qt.Key_5, Qt.Key_B, Qt.Key_E, Qt.Key_BracketRight, Qt.Key_Up, Qt.Key_Down, Qt.Key_PageUp,
                Qt.Key_PageDown):
        qtbot.keyClick(radius, key)
    qtbot.keyClick(radius, Qt.Key_Return)
    assert fired == [] and state.image_id == image and state.tool == tool
    assert state.radius == radius.value() and radius.value() != 8  # the typed and stepped value, not the default
    qtbot.waitUntil(lambda: QApplication.focusWidget() is window.canvas, timeout=3000)  # Return: back to labelling
    speck = window.tool_options.speck_area
    speck.setFocus()
    speck.selectAll()
    qtbot.keyClicks(speck, "200")
    qtbot.keyClick(speck, Qt.Key_Enter)
    assert fired == [] and state.speck_area == 200
    qtbot.waitUntil(lambda: QApplication.focusWidget() is window.canvas, timeout=3000)
    qtbot.keyClick(window.canvas, Qt.Key_D)  # and the keys work there again
    assert fired == ["image.next"]


def test_the_shortcut_editor_filter_and_key_recorder_keep_their_keys(qtbot, make_app, image_folder):
    app = make_app(image_folder)
    window, state = app.window, app.state
    qtbot.waitUntil(lambda: state.image_id is not None, timeout=10000)
    fired = fired_actions(window)
    editor = app.bound.keys.show_shortcut_editor()
    activate(qtbot, editor)
    editor.filter.setFocus()
    qtbot.keyClicks(editor.filter, "d 1")
    for key in (Qt.Key_Backspace, Qt.Key_Delete, Qt.Key_Space, Qt.Key_Left, Qt.Key_Backspace):
        qtbot.keyClick(editor.filter, key)
    assert fired == [] and editor.filter.text() == "d "
    editor.recorder.setFocus()
    qtbot.keyClick(editor.recorder, Qt.Key_D)
    assert fired == [] and editor.recorder.keySequence().toString() == "D"
    assert state.image_id == state.project.image_ids()[0]
    editor.filter.setFocus()
    with qtbot.waitSignal(editor.finished, timeout=3000):
        qtbot.keyClick(editor.filter, Qt.Key_Escape)  # the dialog's own key: it closes, nothing else happens
    assert fired == [] and state.image_id == state.project.image_ids()[0]


def test_no_editor_in_the_window_lets_a_single_key_through(qtbot, make_app, image_folder, tiny_checkpoint):
    """Every line edit and spin box of the window and its panels (including ones added later,
    such as a list filter), each key of TYPING_KEYS."""
    app = make_app(image_folder, tiny_checkpoint)
    window = app.window
    with_candidates(qtbot, app)
    activate(qtbot, window)
    for dock in window.docks.values():
        dock.show()
        dock.raise_()
    editors = {editor_of(w) for w in window.findChildren(QLineEdit) + window.findChildren(QAbstractSpinBox)}
    editors = [e for e in editors if e is not None and e.isVisible() and e.isEnabled()]
    assert len(editors) >= 2  # the brush radius and the speck size at least
    fired = fired_actions(window)
    for editor in editors:
        for key in TYPING_KEYS:
            editor.setFocus()
            qtbot.keyClick(editor, key)
        assert fired == [], f"{type(editor).__name__} {editor.objectName() or editor.toolTip()!r} let through {fired}"
    assert app.state.prompts.candidates is not None and app.state.dataset.annotations(app.state.image_id) == []
