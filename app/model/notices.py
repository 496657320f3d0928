"""What the app tells the user: the session's messages and the passing status line (no Qt).

Controllers and services' results post here; the window observes. A message is
for something the user must see (an error, a file that was skipped, a missing
checkpoint) and is kept for the session; the status line is for what just
happened ("Accepted object: 812 px") and is replaced by the next one.

Each message is *unread* until the user reads it (opens it in the messages
panel, or closes it in the banner). A message may name its ``topic``: a newer
message on the same topic, or :meth:`Notices.resolve`, marks the older ones
*resolved* (the missing-checkpoint warning once a checkpoint loads, "the disk
is full" once saving works again). The banner shows :meth:`Notices.banner`:
the most important unread message, errors before warnings before infos, the
newest first among equals, so a warning never hides an error.

Events: ``posted`` (value: the new :class:`Notice`), ``changed`` (value: the
notices whose read/resolved state changed, a tuple), ``status`` (value: one
line of text).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

from app.model.events import EmitterGroup
from app.model.names import display_name

LEVELS = ("info", "warning", "error")  # least to most important


@dataclass(frozen=True)
class Notice:
    """One message: ``level`` (info, warning, error), ``html`` (rich text, already
    escaped), ``time`` (seconds since the epoch), ``id`` (its order in the session),
    ``topic`` (what it is about, or ""), whether the user has ``read`` it and whether
    it is ``resolved`` (what it said is no longer true)."""

    level: str
    html: str
    time: float = field(default_factory=time.time)
    id: int = 0
    topic: str = ""
    read: bool = False
    resolved: bool = False

    @property
    def importance(self) -> int:
        return LEVELS.index(self.level)

    @property
    def pending(self) -> bool:
        """Still for the user's eyes: neither read nor resolved."""
        return not (self.read or self.resolved)


class Notices:
    def __init__(self) -> None:
        self.events = EmitterGroup(self, ("posted", "changed", "status"))
        self.items: list[Notice] = []  # oldest first, in the order they were posted

    # -- posting ---------------------------------------------------------------------------------
    def post(self, level: str, html: str, topic: str = "") -> Notice:
        """Keep a message; one with a ``topic`` resolves the earlier ones on that topic."""
        if level not in LEVELS:
            raise ValueError(f"level must be one of {LEVELS}, got {level!r}")
        if topic:
            self.resolve(topic)
        notice = Notice(level, display_name(html), id=len(self.items) + 1, topic=topic)  # names not UTF-8, readable
        self.items.append(notice)
        self.events.posted.emit(notice)
        return notice

    def info(self, html: str, topic: str = "") -> Notice:
        return self.post("info", html, topic)

    def warning(self, html: str, topic: str = "") -> Notice:
        return self.post("warning", html, topic)

    def error(self, html: str, topic: str = "") -> Notice:
        return self.post("error", html, topic)

    def status(self, text: str) -> None:
        self.events.status.emit(display_name(text))

    # -- the user's side -------------------------------------------------------------------------
    def resolve(self, topic: str) -> None:
        """What the messages on ``topic`` said is over: they leave the banner (the list keeps them)."""
        self._update(lambda n: n.topic == topic and not n.resolved, resolved=True)

    def mark_read(self, notice_id: int) -> None:
        self._update(lambda n: n.id == notice_id and not n.read, read=True)

    def mark_all_read(self) -> None:
        self._update(lambda n: not n.read, read=True)

    def _update(self, which, **change) -> None:
        changed = []
        for i, notice in enumerate(self.items):
            if which(notice):
                self.items[i] = replace(notice, **change)
                changed.append(self.items[i])
        if changed:
            self.events.changed.emit(tuple(changed))

    # -- reading ---------------------------------------------------------------------------------
    def newest_first(self) -> list[Notice]:
        return self.items[::-1]

    def pending(self) -> list[Notice]:
        """Unread and unresolved messages, most important first (then newest first)."""
        return sorted((n for n in self.items if n.pending), key=lambda n: (-n.importance, -n.id))

    @property
    def unread_count(self) -> int:
        return sum(n.pending for n in self.items)

    def banner(self) -> Notice | None:
        """The message the banner shows: the most important pending one, or None."""
        pending = self.pending()
        return pending[0] if pending else None

    def get(self, notice_id: int) -> Notice:
        return self.items[notice_id - 1]


__all__ = ["LEVELS", "Notice", "Notices"]
