"""The user's key bindings: the defaults of :data:`app.ui.actions.ACTIONS` plus overrides.

Keys are kept in Qt's portable text ("Ctrl+Shift+Z", "[", "F1"), the form
saved in the settings file. One key sequence belongs to at most one action: a
binding that would give it to a second action is refused with a message naming
the action that has it. Only overrides (actions whose keys differ from the
defaults) are saved, so new defaults in later versions still reach the user.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

from PySide6.QtGui import QKeySequence

from app.ui.actions import ACTIONS, ActionSpec


class KeyConflict(ValueError):
    """A key sequence that another action already has; ``str()`` is the user's message."""


def normalize(key: str) -> str:
    """``key`` in portable text; ``ValueError`` when Qt cannot read it as one key sequence."""
    sequence = QKeySequence(str(key))
    text = sequence.toString(QKeySequence.PortableText)
    if not text or sequence.count() != 1:
        raise ValueError(f"not a key: {key!r}")
    return text


class KeyMap:
    """Bindings by action id. ``overrides`` (e.g. from the settings file) win over
    defaults; an override that collides with another action's *default* takes the
    key from it, and one that collides with an earlier override is dropped."""

    def __init__(self, specs: Sequence[ActionSpec] = ACTIONS,
                 overrides: Mapping[str, Sequence[str]] | None = None) -> None:
        self.specs = {spec.id: spec for spec in specs}
        self._defaults = {i: tuple(normalize(k) for k in spec.shortcuts) for i, spec in self.specs.items()}
        self._keys = dict(self._defaults)
        self.dropped: list[str] = []  # what could not be applied from ``overrides``, one line each
        overridden: set[str] = set()
        for action_id, keys in (overrides or {}).items():
            if action_id not in self.specs:
                continue  # an action that no longer exists
            wanted = []
            for key in keys:
                try:
                    key = normalize(key)
                except ValueError as exc:
                    self.dropped.append(f"{self.specs[action_id].text}: {exc}")
                    continue
                owner = self.owner(key)
                if owner is not None and owner != action_id:
                    if owner in overridden:
                        self.dropped.append(f"{key} stays with {self.specs[owner].text!r}")
                        continue
                    self._keys[owner] = tuple(k for k in self._keys[owner] if k != key)
                wanted.append(key)
            self._keys[action_id] = tuple(dict.fromkeys(wanted))
            overridden.add(action_id)

    def keys(self, action_id: str) -> tuple[str, ...]:
        return self._keys[action_id]

    def as_dict(self) -> dict[str, tuple[str, ...]]:
        return dict(self._keys)

    def owner(self, key: str) -> str | None:
        """The action bound to ``key``, or None."""
        key = normalize(key)
        return next((i for i, keys in self._keys.items() if key in keys), None)

    def set(self, action_id: str, keys: Sequence[str]) -> None:
        """Bind ``keys`` to ``action_id``; :class:`KeyConflict` if another action has one."""
        normalized = tuple(dict.fromkeys(normalize(k) for k in keys))
        for key in normalized:
            owner = self.owner(key)
            if owner is not None and owner != action_id:
                raise KeyConflict(f"{key} is already bound to “{self.specs[owner].text}”; "
                                  f"remove it there first")
        self._keys[action_id] = normalized

    def reset(self, action_id: str) -> None:
        """Back to the default keys; :class:`KeyConflict` when another action took one meanwhile."""
        self.set(action_id, self.specs[action_id].shortcuts)

    def reset_all(self) -> None:
        self._keys = dict(self._defaults)

    def overrides(self) -> dict[str, list[str]]:
        """Bindings that differ from the defaults: what the settings file keeps."""
        return {i: list(keys) for i, keys in self._keys.items() if keys != self._defaults[i]}

    def copy(self) -> KeyMap:
        clone = KeyMap(tuple(self.specs.values()))
        clone._keys = dict(self._keys)
        return clone
