"""Matching a file's image entries to the project's images by name (no Qt).

An entry matches the project image whose path ends with the most of the entry's
trailing path components, and only when that image is the one such: the whole
relative path first (``train/img.jpg``), then shorter tails, down to the file
name. A name compared without case is the last resort. Entries that name only a
stem (YOLO label files, labelme files without ``imagePath``) are compared with
the project's names without their suffix. An entry that matches no image, or
several equally well, or an image another entry took, is unmatched.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath


@dataclass(frozen=True)
class ProjectImage:
    """What matching and planning need of a project image: id, name (relative, ``/``), size."""

    id: int
    name: str
    height: int
    width: int


def _parts(name: str) -> tuple[str, ...]:
    path = PurePosixPath(name.replace("\\", "/"))
    return tuple(p for p in path.parts if p not in ("", ".", "/"))


class NameIndex:
    """Project images by their trailing path components, for :meth:`find`."""

    def __init__(self, images: Sequence[ProjectImage]) -> None:
        self._tails: dict[tuple[bool, bool, tuple[str, ...]], list[ProjectImage]] = {}
        for image in images:
            for stem in (False, True):
                parts = _project_parts(image.name, stem)
                for folded in (False, True):
                    key_parts = tuple(p.lower() for p in parts) if folded else parts
                    for k in range(1, len(key_parts) + 1):
                        self._tails.setdefault((stem, folded, key_parts[-k:]), []).append(image)

    def find(self, name: str, stem: bool = False) -> tuple[ProjectImage | None, str]:
        """The image ``name`` names, or None and why not ("no image of that name", "2 images ...")."""
        parts = _parts(name)
        if not parts:
            return None, "an empty name"
        reason = "no image of that name in the project"
        for folded in (False, True):
            key_parts = tuple(p.lower() for p in parts) if folded else parts
            for k in range(len(key_parts), 0, -1):
                found = self._tails.get((stem, folded, key_parts[-k:]), [])
                if len(found) == 1:
                    return found[0], ""
                if len(found) > 1:  # a shorter tail would only match more of them
                    return None, f"{len(found)} images of the project match it equally well"
        return None, reason


def _project_parts(name: str, stem: bool) -> tuple[str, ...]:
    parts = _parts(name)
    if stem and parts:
        parts = (*parts[:-1], PurePosixPath(parts[-1]).stem)
    return parts


__all__ = ["NameIndex", "ProjectImage"]
