"""The drawing order of one image's annotations: positions found by bisection, not by scanning.

An image may hold tens of thousands of annotations, and every change (an accept, an
undo that puts a deleted annotation back in its place) must cost the same whatever
their number. :class:`DrawingOrder` keeps the ids in order beside a sorted list of
integer *keys*, one per id: appending takes the next key, inserting takes one between
its neighbours' (renumbering all, rarely, when two neighbours leave no room), and a
position or a removal is a bisection of the keys. Keys compare like positions, so a
view can sort any few annotations into drawing order without the whole list.
"""
from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator

GAP = 1 << 20  # between appended keys: room for 20 insertions at one place before a renumbering


class DrawingOrder:
    """Annotation ids of one image, bottom (drawn first) to top."""

    __slots__ = ("_ids", "_keys", "_key_of")

    def __init__(self) -> None:
        self._ids: list[int] = []
        self._keys: list[int] = []  # ascending, one per id
        self._key_of: dict[int, int] = {}

    def __len__(self) -> int:
        return len(self._ids)

    def __iter__(self) -> Iterator[int]:
        return iter(self._ids)

    def __contains__(self, annotation_id: object) -> bool:
        return annotation_id in self._key_of

    @property
    def ids(self) -> list[int]:
        """The ids in drawing order (the list itself: do not change it)."""
        return self._ids

    def key(self, annotation_id: int) -> int:
        """A number that orders annotations as their positions do (it may change, the order never)."""
        return self._key_of[annotation_id]

    def index(self, annotation_id: int) -> int:
        """Position of ``annotation_id`` (0 = drawn first); ``KeyError`` when absent."""
        return bisect_left(self._keys, self._key_of[annotation_id])

    def insert(self, annotation_id: int, index: int | None = None) -> int:
        """Put ``annotation_id`` at ``index`` (None or past the end: on top); returns its position."""
        n = len(self._ids)
        if index is None or index >= n:
            index = n
            key = self._keys[-1] + GAP if n else 0
        elif index <= 0:
            index = 0
            key = self._keys[0] - GAP
        else:
            below, above = self._keys[index - 1], self._keys[index]
            if above - below < 2:
                self._renumber()
                below, above = self._keys[index - 1], self._keys[index]
            key = (below + above) // 2
        self._ids.insert(index, annotation_id)
        self._keys.insert(index, key)
        self._key_of[annotation_id] = key
        return index

    def remove(self, annotation_id: int) -> int:
        """Take ``annotation_id`` out; returns the position it had."""
        index = self.index(annotation_id)
        del self._ids[index], self._keys[index], self._key_of[annotation_id]
        return index

    def _renumber(self) -> None:
        self._keys = [i * GAP for i in range(len(self._ids))]
        self._key_of = dict(zip(self._ids, self._keys))


__all__ = ["DrawingOrder"]
