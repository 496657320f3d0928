"""Undo and redo of document changes, without Qt.

A :class:`Command` holds the two closures that apply and revert one change,
capturing only the records involved (they are immutable, so nothing is copied).
The stack lives outside ``app.model`` until the model provides its own commands.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from app.model import EmitterGroup


@dataclass(frozen=True)
class Command:
    text: str
    redo: Callable[[], Any]
    undo: Callable[[], Any]


class History:
    """Events: ``changed`` (after every push, undo, redo or clear)."""

    def __init__(self, limit: int = 1000) -> None:
        self.events = EmitterGroup(self, ("changed",))
        self.limit = limit
        self._done: list[Command] = []
        self._undone: list[Command] = []

    def push(self, command: Command) -> Any:
        """Apply ``command`` and remember it; returns what its ``redo`` returns."""
        result = command.redo()
        self._done = (self._done + [command])[-self.limit :]
        self._undone.clear()
        self.events.changed.emit()
        return result

    def undo(self) -> str | None:
        if not self._done:
            return None
        command = self._done.pop()
        command.undo()
        self._undone.append(command)
        self.events.changed.emit()
        return command.text

    def redo(self) -> str | None:
        if not self._undone:
            return None
        command = self._undone.pop()
        command.redo()
        self._done.append(command)
        self.events.changed.emit()
        return command.text

    def clear(self) -> None:
        self._done.clear()
        self._undone.clear()
        self.events.changed.emit()

    @property
    def can_undo(self) -> bool:
        return bool(self._done)

    @property
    def can_redo(self) -> bool:
        return bool(self._undone)
