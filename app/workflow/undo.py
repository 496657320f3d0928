"""Undo and redo of the current image's history, said in the status line."""
from __future__ import annotations

from app.model.history import History
from app.model.notices import Notices


class Undo:
    def __init__(self, history: History, notices: Notices) -> None:
        self.history, self.notices = history, notices

    def undo(self) -> str | None:
        text = self.history.undo()
        self.notices.status(f"Undid: {text}" if text else "Nothing to undo")
        return text

    def redo(self) -> str | None:
        text = self.history.redo()
        self.notices.status(f"Redid: {text}" if text else "Nothing to redo")
        return text


__all__ = ["Undo"]
