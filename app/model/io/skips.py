"""What an import left out, one line per kind: "3 polygons with fewer than 3 points skipped".

Importers skip a bad part of a file (a polygon, an annotation, an image entry)
and go on with the rest; they record each skip here with a noun, a reason and
where it was. Only a file that is not the format at all is refused (a
:class:`~app.model.io.fields.FormatError`).
"""
from __future__ import annotations

from dataclasses import dataclass, field

_IRREGULAR = {"box": "boxes", "entry": "entries", "category": "categories"}


def plural(noun: str, count: int) -> str:
    """``noun`` (its last word) for ``count`` of it: "1 polygon", "3 polygons", "2 image entries"."""
    if count == 1:
        return noun
    head, _, last = noun.rpartition(" ")
    many = _IRREGULAR.get(last) or (last + "es" if last.endswith(("s", "x", "ch", "sh")) else last + "s")
    return f"{head} {many}" if head else many


@dataclass
class _Kind:
    count: int = 0
    first: str = ""  # where the first one was: a file, and a field or line


@dataclass
class Skipped:
    """Skips counted by (noun, reason), in the order they were first met."""

    kinds: dict[tuple[str, str], _Kind] = field(default_factory=dict)

    def add(self, noun: str, reason: str, where: str = "", count: int = 1) -> None:
        """``count`` ``noun`` s skipped because ``reason`` (e.g. "polygon", "with fewer than 3
        points"); ``where`` names the first one ("train.json: annotations[4].segmentation[1]")."""
        kind = self.kinds.setdefault((noun, reason), _Kind())
        if not kind.count:
            kind.first = where
        kind.count += count

    def extend(self, other: Skipped) -> None:
        for (noun, reason), kind in other.kinds.items():
            self.add(noun, reason, kind.first, kind.count)

    @property
    def total(self) -> int:
        return sum(k.count for k in self.kinds.values())

    def __bool__(self) -> bool:
        return bool(self.kinds)

    def count(self, noun: str) -> int:
        return sum(k.count for (n, _), k in self.kinds.items() if n == noun)

    def lines(self, where: bool = True) -> list[str]:
        """One line per kind: "3 polygons with fewer than 3 points skipped (first: ...)"."""
        out = []
        for (noun, reason), kind in self.kinds.items():
            line = f"{kind.count} {plural(noun, kind.count)} {reason} skipped"
            out.append(f"{line} (first: {kind.first})" if where and kind.first else line)
        return out


__all__ = ["Skipped", "plural"]
