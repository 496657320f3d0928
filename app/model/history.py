"""Per-image undo history over the document's commands (:mod:`app.model.commands`), with no Qt.

Each image has its own stack, kept while the app runs (until another folder is
opened); :meth:`History.set_image` makes the current image's stack the one undo
and redo act on. Changes made with no image open (e.g. a category created before
the first image loads) go to a stack of their own.

Category changes (create, rename, recolour) are global but are recorded on the
current image's stack: undo right after them undoes them, as one expects. The
commands stay safe when another image's history has moved on; when they cannot
do everything they return a note, which the ``note`` event carries.

A command is applied by :meth:`History.push` itself, before it enters the stack,
so an invalid one raises to the caller and never reaches the history. A command
that raises while being undone or redone is a bug: it is reported through the
``failed`` event, never swallowed, and the stack stays where it was.

Qt's ``QUndoStack`` would do the bookkeeping, but it would put Qt into the
document layer; the stacks here are a list and a position each.

Events: ``changed`` (after every push, undo, redo, image switch and clear),
``applying`` (value True before a command changes the document, False after: views
redraw once per command, not once per document event), ``note`` (value: one line),
``failed`` (value: one line).
"""
from __future__ import annotations

import traceback
from dataclasses import dataclass, field
from typing import Any

from app.model.commands import Command
from app.model.events import EmitterGroup


@dataclass
class _Stack:
    commands: list[Command] = field(default_factory=list)
    done: int = 0  # commands[:done] are applied; commands[done:] can be redone


class History:
    def __init__(self, limit: int = 1000) -> None:
        self.limit = limit
        self.events = EmitterGroup(self, ("changed", "applying", "note", "failed"))
        self._stacks: dict[int | None, _Stack] = {}
        self._image: int | None = None

    # -- stacks --------------------------------------------------------------------------------------
    def _stack(self, image_id: int | None) -> _Stack:
        return self._stacks.setdefault(image_id, _Stack())

    def set_image(self, image_id: int | None) -> None:
        """Make ``image_id``'s stack the one undo and redo use."""
        self._image = image_id
        self.events.changed.emit(image_id)

    def clear(self) -> None:
        """Forget every image's history (another folder was opened)."""
        self._stacks.clear()
        self._image = None
        self.events.changed.emit(None)

    # -- commands ------------------------------------------------------------------------------------
    def push(self, command: Command | None, image_id: int | None = None) -> Any:
        """Apply ``command`` and record it on ``image_id``'s stack (default: the current
        image's), dropping what could be redone there; returns what its ``redo`` returned.
        None is ignored."""
        if command is None:
            return None
        result = self._apply(command.redo)
        stack = self._stack(self._image if image_id is None else image_id)
        del stack.commands[stack.done:]
        stack.commands.append(command)
        if len(stack.commands) > self.limit:
            del stack.commands[0]
        stack.done = len(stack.commands)
        self.events.changed.emit(self._image)
        return result

    def undo(self) -> str | None:
        """Undo the current stack's last command; its text, or None when there is none."""
        stack = self._stack(self._image)
        if not stack.done:
            return None
        command = stack.commands[stack.done - 1]
        if self._run(command.undo):
            stack.done -= 1
        self.events.changed.emit(self._image)
        return command.text

    def redo(self) -> str | None:
        """Redo the current stack's next command; its text, or None when there is none."""
        stack = self._stack(self._image)
        if stack.done == len(stack.commands):
            return None
        command = stack.commands[stack.done]
        if self._run(command.redo):
            stack.done += 1
        self.events.changed.emit(self._image)
        return command.text

    def _apply(self, step) -> Any:
        """Run ``step`` (a command's redo or undo) with views held, then pass on its note."""
        self.events.applying.emit(True)
        try:
            result = step()
        finally:
            self.events.applying.emit(False)
        if isinstance(result, str):
            self.events.note.emit(result)
        return result

    def _run(self, step) -> bool:
        try:
            self._apply(step)
        except Exception as exc:  # a command bug: report it, keep the stack where it was
            traceback.print_exc()
            self.events.failed.emit(f"Undo/redo failed: {exc}")
            return False
        return True

    # -- reading -------------------------------------------------------------------------------------
    @property
    def can_undo(self) -> bool:
        return self._stack(self._image).done > 0

    @property
    def can_redo(self) -> bool:
        stack = self._stack(self._image)
        return stack.done < len(stack.commands)

    @property
    def undo_text(self) -> str:
        """What undo would undo ("" when nothing), for the Edit menu."""
        stack = self._stack(self._image)
        return stack.commands[stack.done - 1].text if stack.done else ""

    @property
    def redo_text(self) -> str:
        stack = self._stack(self._image)
        return stack.commands[stack.done].text if stack.done < len(stack.commands) else ""


__all__ = ["History"]
