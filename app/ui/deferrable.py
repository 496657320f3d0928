"""Redraw once per undoable step, not once per document event.

A command that adds a hundred automatic masks emits a hundred events; redrawing
the overlay (or refilling a list) for each would stall the UI. A
:class:`Deferrable` runs its function at once when called, except while held:
then calls only mark it stale, and :meth:`Deferrable.release` runs it once.
:attr:`app.workflow.history.History.applying` holds and releases them around each
command, so views still update synchronously, once, when the command is done.
"""
from __future__ import annotations

from collections.abc import Callable


class Deferrable:
    def __init__(self, fn: Callable[[], object]) -> None:
        self._fn = fn
        self._held = 0
        self._stale = False

    def __call__(self, *_args) -> None:
        if self._held:
            self._stale = True
        else:
            self._fn()

    def hold(self, on: bool = True) -> None:
        """``hold(True)`` defers calls; ``hold(False)`` releases (nesting counts)."""
        if on:
            self._held += 1
        else:
            self.release()

    def release(self) -> None:
        self._held = max(0, self._held - 1)
        if not self._held and self._stale:
            self._stale = False
            self._fn()
