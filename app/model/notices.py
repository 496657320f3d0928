"""What the app tells the user: the session's messages and the passing status line (no Qt).

Controllers and services' results post here; the window observes. A message is
for something the user must see (an error, a file that was skipped, a missing
checkpoint) and is kept for the session, newest last; the status line is for
what just happened ("Accepted object: 812 px") and is replaced by the next one.

Events: ``posted`` (value: :class:`Notice`), ``status`` (value: one line of text).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

from app.model.events import EmitterGroup
from app.model.names import display_name

LEVELS = ("info", "warning", "error")


@dataclass(frozen=True)
class Notice:
    """One message: ``level`` (info, warning, error), ``html`` (rich text, already escaped),
    ``time`` (seconds since the epoch)."""

    level: str
    html: str
    time: float = field(default_factory=time.time)


class Notices:
    def __init__(self) -> None:
        self.events = EmitterGroup(self, ("posted", "status"))
        self.items: list[Notice] = []

    def post(self, level: str, html: str) -> Notice:
        if level not in LEVELS:
            raise ValueError(f"level must be one of {LEVELS}, got {level!r}")
        notice = Notice(level, display_name(html))  # file names with bytes that are not UTF-8, readable
        self.items.append(notice)
        self.events.posted.emit(notice)
        return notice

    def info(self, html: str) -> Notice:
        return self.post("info", html)

    def warning(self, html: str) -> Notice:
        return self.post("warning", html)

    def error(self, html: str) -> Notice:
        return self.post("error", html)

    def status(self, text: str) -> None:
        self.events.status.emit(display_name(text))


__all__ = ["LEVELS", "Notice", "Notices"]
