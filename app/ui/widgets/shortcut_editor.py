"""The shortcut editor (Edit > Keyboard shortcuts…): rebind any action's keys.

It edits a copy of the :class:`KeyMap`; a key that another action has is
refused with a message naming that action. OK hands the new map over through
:attr:`ShortcutEditor.applied`; Cancel forgets the edits.
"""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QKeySequenceEdit,
    QLabel,
    QLineEdit,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
)

from app.ui.actions import MENUS
from app.ui.keymap import KeyConflict, KeyMap

ID_ROLE = Qt.UserRole


class ShortcutEditor(QDialog):
    applied = Signal(object)  # the new KeyMap

    def __init__(self, keymap: KeyMap, parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts")
        self.resize(640, 640)
        self.keymap = keymap.copy()
        self.filter = QLineEdit()
        self.filter.setPlaceholderText("Filter actions…")
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["Action", "Keys"])
        self.tree.setRootIsDecorated(False)
        self.tree.header().setSectionResizeMode(0, QHeaderView.Stretch)
        self.recorder = QKeySequenceEdit()
        if hasattr(self.recorder, "setMaximumSequenceLength"):
            self.recorder.setMaximumSequenceLength(1)
        self.recorder.setToolTip("Click here, then press the key to bind")
        self.message = QLabel("")
        self.message.setWordWrap(True)
        self.message.setStyleSheet("color: #d04040;")
        buttons = {name: QPushButton(name) for name in ("Set", "Add", "Clear", "Default", "All defaults")}
        row = QHBoxLayout()
        row.addWidget(QLabel("Key:"))
        row.addWidget(self.recorder, 1)
        for button in buttons.values():
            row.addWidget(button)
        box = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        layout = QVBoxLayout(self)
        layout.addWidget(self.filter)
        layout.addWidget(self.tree, 1)
        layout.addLayout(row)
        layout.addWidget(self.message)
        layout.addWidget(box)
        buttons["Set"].clicked.connect(lambda: self._bind_recorded(replace=True))
        buttons["Add"].clicked.connect(lambda: self._bind_recorded(replace=False))
        buttons["Clear"].clicked.connect(lambda: self._apply(lambda i: self.keymap.set(i, ())))
        buttons["Default"].clicked.connect(lambda: self._apply(self.keymap.reset))
        buttons["All defaults"].clicked.connect(self.reset_all)
        self.filter.textChanged.connect(self._filter)
        box.accepted.connect(self.accept)
        box.rejected.connect(self.reject)
        self._fill()

    # -- editing (also what tests drive) -------------------------------------------------------------
    def bind(self, action_id: str, key: str, replace: bool = True) -> bool:
        """Give ``key`` to ``action_id`` (replacing its keys, or adding one); on a
        conflict, say which action has the key and change nothing."""
        keys = (key,) if replace else (*self.keymap.keys(action_id), key)
        return self._apply(lambda i: self.keymap.set(i, keys), action_id)

    def reset_all(self) -> None:
        self.keymap.reset_all()
        self.message.setText("")
        self._fill()

    def accept(self) -> None:
        self.applied.emit(self.keymap)
        super().accept()

    # -- internals -----------------------------------------------------------------------------------
    def _bind_recorded(self, replace: bool) -> None:
        sequence = self.recorder.keySequence()
        if sequence.isEmpty():
            self.message.setText("Click the key field and press a key first")
            return
        action_id = self._current()
        if action_id is not None:
            self.bind(action_id, sequence.toString(QKeySequence.PortableText), replace)

    def _apply(self, change, action_id: str | None = None) -> bool:
        action_id = action_id or self._current()
        if action_id is None:
            self.message.setText("Choose an action first")
            return False
        try:
            change(action_id)
        except (KeyConflict, ValueError) as exc:
            self.message.setText(str(exc))
            return False
        self.message.setText("")
        self._update(action_id)
        return True

    def _current(self) -> str | None:
        item = self.tree.currentItem()
        return None if item is None else item.data(0, ID_ROLE)

    def _fill(self) -> None:
        self.tree.clear()
        specs = sorted(self.keymap.specs.values(), key=lambda s: MENUS.index(s.menu) if s.menu in MENUS else 99)
        for spec in specs:
            item = QTreeWidgetItem([f"{spec.menu} › {spec.text}" if spec.menu else spec.text, ""])
            item.setData(0, ID_ROLE, spec.id)
            item.setToolTip(0, spec.tip or spec.text)
            self.tree.addTopLevelItem(item)
            self._update(spec.id, item)
        self._filter(self.filter.text())

    def _update(self, action_id: str, item: QTreeWidgetItem | None = None) -> None:
        item = item or self.item(action_id)
        keys = [QKeySequence(k).toString(QKeySequence.NativeText) for k in self.keymap.keys(action_id)]
        item.setText(1, ", ".join(keys))

    def item(self, action_id: str) -> QTreeWidgetItem:
        for i in range(self.tree.topLevelItemCount()):
            if self.tree.topLevelItem(i).data(0, ID_ROLE) == action_id:
                return self.tree.topLevelItem(i)
        raise KeyError(action_id)

    def _filter(self, text: str) -> None:
        text = text.lower()
        for i in range(self.tree.topLevelItemCount()):
            item = self.tree.topLevelItem(i)
            item.setHidden(bool(text) and text not in item.text(0).lower() and text not in item.text(1).lower())
