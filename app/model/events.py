"""A tiny, Qt-free event mechanism so widgets can observe the document model.

Modelled on napari's ``EmitterGroup``: a model owns ``events``, a group of named
emitters, and a widget subscribes with ``model.events.annotation_added.connect(cb)``.
Callbacks receive one :class:`Event` and run synchronously, in connection order,
after the model has changed, so they always see the new state.

Exceptions raised by a callback propagate to whoever changed the model; they are
never swallowed. Callbacks are held by strong reference: disconnect them when the
observer goes away.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Event:
    """One notification.

    ``type`` is the emitter's name (e.g. ``"annotation_changed"``), ``source`` the
    model that emitted it, ``value`` the new object and ``old`` the object it
    replaced (``None`` unless something was replaced).
    """

    type: str
    source: Any
    value: Any = None
    old: Any = None


Callback = Callable[[Event], Any]


class EventEmitter:
    """Calls its connected callbacks with an :class:`Event` on :meth:`emit`."""

    def __init__(self, name: str, source: Any = None) -> None:
        self.name = name
        self.source = source
        self._callbacks: list[Callback] = []

    def connect(self, callback: Callback) -> Callback:
        """Subscribe ``callback``; connecting the same callback twice is a no-op.

        Returns the callback, so this also works as a decorator.
        """
        if not callable(callback):
            raise TypeError(f"{callback!r} is not callable")
        if callback not in self._callbacks:
            self._callbacks.append(callback)
        return callback

    def disconnect(self, callback: Callback | None = None) -> None:
        """Unsubscribe ``callback``, or every callback when it is ``None``."""
        if callback is None:
            self._callbacks.clear()
        elif callback in self._callbacks:
            self._callbacks.remove(callback)

    @property
    def callbacks(self) -> tuple[Callback, ...]:
        return tuple(self._callbacks)

    def emit(self, value: Any = None, old: Any = None) -> Event:
        """Build an :class:`Event` and hand it to every callback, in order."""
        event = Event(self.name, self.source, value, old)
        # Iterate over a snapshot: callbacks may connect or disconnect others.
        for callback in tuple(self._callbacks):
            callback(event)
        return event

    def __repr__(self) -> str:
        return f"EventEmitter({self.name!r}, {len(self._callbacks)} callbacks)"


class EmitterGroup:
    """Named emitters reachable as attributes: ``group.annotation_added``."""

    def __init__(self, source: Any, names: Iterable[str]) -> None:
        self._emitters: dict[str, EventEmitter] = {}
        for name in names:
            if not name.isidentifier() or name.startswith("_") or hasattr(self, name):
                raise ValueError(f"invalid event name {name!r}")
            self._emitters[name] = EventEmitter(name, source)
            setattr(self, name, self._emitters[name])

    def __getitem__(self, name: str) -> EventEmitter:
        return self._emitters[name]

    def __iter__(self) -> Iterator[EventEmitter]:
        return iter(self._emitters.values())

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self._emitters)

    def connect(self, callback: Callback) -> Callback:
        """Subscribe ``callback`` to every emitter (e.g. to mark a project dirty)."""
        for emitter in self._emitters.values():
            emitter.connect(callback)
        return callback

    def disconnect(self, callback: Callback | None = None) -> None:
        """Unsubscribe ``callback`` (or everything) from every emitter."""
        for emitter in self._emitters.values():
            emitter.disconnect(callback)


def follow(old: Any, new: Any, callback: Callback) -> Any:
    """Move ``callback`` from ``old.events`` to ``new.events`` (a model with an
    :class:`EmitterGroup`; either may be None), for an observer that follows whichever
    model is current. Returns ``new``."""
    if old is not None:
        old.events.disconnect(callback)
    if new is not None:
        new.events.connect(callback)
    return new
