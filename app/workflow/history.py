"""Undo and redo: the Qt side of the Qt-free commands in :mod:`app.model.commands`.

Each image has its own ``QUndoStack``, kept while the app runs (until another
folder is opened); a ``QUndoGroup`` makes the current image's stack the one
Ctrl+Z acts on. Changes made with no image open (e.g. a category created
before the first image loads) go to a stack of their own.

Category changes (create, rename, recolour) are global but are recorded on the
current image's stack: Ctrl+Z right after them undoes them, as one expects.
The model commands stay safe when another image's history has moved on (see
:mod:`app.model.commands`); when they cannot do everything they return a note,
which :attr:`History.note` carries to the status bar.

A command is applied by :meth:`History.push` itself, before it enters the stack,
so an invalid one raises to the caller and never reaches the history.
"""
from __future__ import annotations

import traceback
from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoCommand, QUndoGroup, QUndoStack

from app.model.commands import Command


class _QtCommand(QUndoCommand):
    """Wraps one model command; its first ``redo`` (QUndoStack.push) is skipped
    because :meth:`History.push` has applied it already."""

    def __init__(self, command: Command, history: History) -> None:
        super().__init__(command.text)
        self.command, self._history, self._applied = command, history, True

    def redo(self) -> None:
        if self._applied:
            self._applied = False
            return
        self._history._run(self.command.redo)

    def undo(self) -> None:
        self._history._run(self.command.undo)


class History(QObject):
    """Per-image undo stacks. ``changed`` follows every push, undo, redo and switch."""

    changed = Signal()
    applying = Signal(bool)  # True before a command changes the document, False after (views redraw once)
    note = Signal(str)  # a one-line note from a command that could not do all of its change
    failed = Signal(str)  # a command raised while undoing or redoing (a bug: reported, never hidden)

    def __init__(self, limit: int = 1000, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.limit = limit
        self.group = QUndoGroup(self)
        self._stacks: dict[int | None, QUndoStack] = {}
        self._image: int | None = None
        self.group.indexChanged.connect(lambda _i: self.changed.emit())
        self.group.activeStackChanged.connect(lambda _s: self.changed.emit())
        self.set_image(None)

    # -- stacks --------------------------------------------------------------------------------------
    def stack(self, image_id: int | None = None) -> QUndoStack:
        """The stack of ``image_id`` (made on first use)."""
        stack = self._stacks.get(image_id)
        if stack is None:
            stack = QUndoStack(self.group)
            stack.setUndoLimit(self.limit)
            self._stacks[image_id] = stack
        return stack

    def set_image(self, image_id: int | None) -> None:
        """Make ``image_id``'s stack the active one (the one undo and redo use)."""
        self._image = image_id
        self.group.setActiveStack(self.stack(image_id))

    def clear(self) -> None:
        """Forget every image's history (another folder was opened)."""
        for stack in self._stacks.values():
            self.group.removeStack(stack)
            stack.deleteLater()
        self._stacks.clear()
        self.set_image(None)

    # -- commands ------------------------------------------------------------------------------------
    def push(self, command: Command | None, image_id: int | None = None) -> Any:
        """Apply ``command`` and record it on ``image_id``'s stack (default: the
        current image's); returns what its ``redo`` returned. None is ignored."""
        if command is None:
            return None
        result = self._apply(command.redo)
        self.stack(self._image if image_id is None else image_id).push(_QtCommand(command, self))
        return result

    def undo(self) -> str | None:
        """Undo the active stack's last command; its text, or None when there is none."""
        stack = self.group.activeStack()
        if stack is None or not stack.canUndo():
            return None
        text = stack.undoText()
        stack.undo()
        return text

    def redo(self) -> str | None:
        stack = self.group.activeStack()
        if stack is None or not stack.canRedo():
            return None
        text = stack.redoText()
        stack.redo()
        return text

    def _apply(self, step) -> Any:
        """Run ``step`` (a command's redo or undo) with views held, then pass on its note."""
        self.applying.emit(True)
        try:
            result = step()
        finally:
            self.applying.emit(False)
        if isinstance(result, str):
            self.note.emit(result)
        return result

    def _run(self, step) -> None:
        try:
            self._apply(step)
        except Exception as exc:  # Qt would print and drop it: report it instead
            traceback.print_exc()
            self.failed.emit(f"Undo/redo failed: {exc}")

    @property
    def can_undo(self) -> bool:
        return self.group.canUndo()

    @property
    def can_redo(self) -> bool:
        return self.group.canRedo()

    def count(self, image_id: int | None) -> int:
        """Commands recorded for ``image_id`` (done and undone)."""
        stack = self._stacks.get(image_id)
        return 0 if stack is None else stack.count()
