"""Image names: whatever the OS gives, shown readably, and names from files kept inside the project.

An image's name is its path below the project folder with ``/`` between folders,
exactly as the OS spells it. On Linux a name may hold bytes that are not UTF-8;
Python carries them as lone surrogates (``"\\udcff"``, PEP 383), which open files
fine but which Qt drops and UTF-8 cannot encode. So:

* :func:`display_name` is what the user sees: such bytes as ``\\xff``;
* :func:`name_bytes` is the name as the OS stores it (for hashing, escaping);
* :func:`inside_name` says whether a name read from a file (a sidecar, an import)
  stays inside the project folder, and :func:`map_into_project` makes one that does.
"""
from __future__ import annotations

import re
from pathlib import PurePath

_SURROGATES = re.compile("[\ud800-\udfff]")


def name_bytes(name: str) -> bytes:
    """The name's bytes as the OS stores them (UTF-8, non-UTF-8 bytes as they were; other
    lone surrogates, which only a crafted file holds, in the UTF-8 form of their code)."""
    try:
        return name.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return name.encode("utf-8", "surrogatepass")


def display_name(name: str) -> str:
    """``name`` (or any text holding one) with every byte that is not UTF-8 written ``\\xNN``:
    readable, and two different names never look the same."""
    if _SURROGATES.search(name) is None:
        return name
    return _SURROGATES.sub(lambda m: f"\\x{ord(m[0]) - 0xDC00:02x}" if "\udc80" <= m[0] <= "\udcff"
                           else f"\\u{ord(m[0]):04x}", name)


def inside_name(name: str) -> bool:
    """Whether ``name`` (from a file: a sidecar's or an import's ``file_name``) names a path
    inside the project folder: relative, no ``..``, no drive, not empty, not inside ``.maskwright``."""
    if not name or "\x00" in name:
        return False
    path = PurePath(name)
    if path.is_absolute() or path.drive or path.root or ".." in path.parts:
        return False
    return bool(path.parts) and path.parts[0] != ".maskwright"


def map_into_project(name: str) -> str | None:
    """A name inside the project for a ``file_name`` that is not (absolute, or with ``..``):
    its last part, e.g. ``/data/coco/a.jpg`` -> ``a.jpg``; None when there is none."""
    last = PurePath(name.replace("\\", "/")).name if name else ""
    return last if last and inside_name(last) else None


__all__ = ["display_name", "inside_name", "map_into_project", "name_bytes"]
