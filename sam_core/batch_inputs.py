"""What a batch run segments: the images of an input, each with its *relative name*.

An input is an image file, a folder (searched recursively), or a list file
(``.txt``, ``.lst``, ``.list``: one path or URI a line; blank lines and lines
starting with ``#`` are skipped; relative paths are relative to the list's folder).
The relative name, ``/``-separated, is what the SA-1B ``file_name`` and the output
JSON's place are made from (:mod:`sam_core.sa1b_files`):

* an image file: its name;
* a folder: the path below the folder;
* a list: the path below the list's folder when every entry is inside it, else below
  the deepest folder all entries share.

``python -m sam_core.amg`` reads local files; the data engine also lists and reads
URIs (``s3://``, ``gs://``, ``file://``, ...) with the same naming rules.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from urllib.parse import quote, unquote, urlsplit
from pathlib import Path
from typing import List, Optional, Sequence

from .image_files import list_images

LIST_SUFFIXES = (".txt", ".lst", ".list")
_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


@dataclass(frozen=True)
class BatchImage:
    """One image to segment: ``source`` (a local path or a URI) and its relative ``name``."""

    source: str
    name: str


def is_uri(text: str) -> bool:
    """Whether ``text`` is a URI with a scheme (``s3://...``), not a local path."""
    return bool(_URI.match(text))


def local_path(source: str) -> Optional[str]:
    """The local path of a path or a ``file://`` URI (percent-decoded); None for other URIs."""
    if source.lower().startswith("file://"):
        return unquote(urlsplit(source).path)
    return None if is_uri(source) else source


def is_list_file(path: str) -> bool:
    return os.path.splitext(path)[1].lower() in LIST_SUFFIXES


def list_entries(text: str) -> List[str]:
    """The paths or URIs of a list file's text, in order, without repeats."""
    entries = [line.strip() for line in text.splitlines()]
    return list(dict.fromkeys(e for e in entries if e and not e.startswith("#")))


def join_location(folder: str, entry: str) -> str:
    """``entry`` as it stands when it is absolute or a URI, else below ``folder`` (a path or a URI)."""
    if is_uri(entry) or os.path.isabs(entry):
        return entry
    if is_uri(folder):  # a list's entries are paths: percent-encode them for the URI
        return folder.rstrip("/") + "/" + quote(entry.replace("\\", "/"))
    return os.path.normpath(os.path.join(folder, entry))


def relative_names(locations: Sequence[str], base: Optional[str] = None) -> List[str]:
    """The relative name of each location: below ``base`` when every location is in it,
    else below the deepest folder they all share (see the module docstring)."""
    parts = [_components(loc) for loc in locations]
    if base is not None:
        root = _components(base)
        if all(len(p) > len(root) and p[: len(root)] == root for p in parts):
            return ["/".join(p[len(root) :]) for p in parts]
    if not parts:
        return []
    common = parts[0][:-1]
    for p in parts[1:]:
        n = 0
        while n < min(len(common), len(p) - 1) and common[n] == p[n]:
            n += 1
        common = common[:n]
    return ["/".join(p[len(common) :]) for p in parts]


def list_local(target: str | os.PathLike) -> List[BatchImage]:
    """The images of a local image file, folder or list file (see the module docstring).

    Raises FileNotFoundError when ``target`` does not exist, OSError when a list cannot be read.
    """
    target = Path(target)
    if target.is_file() and is_list_file(target.name):
        folder = os.path.abspath(target.parent)
        text = target.read_text(encoding="utf-8", errors="surrogateescape")
        sources = [join_location(folder, entry) for entry in list_entries(text)]
        return [BatchImage(s, n) for s, n in zip(sources, relative_names(sources, base=folder))]
    if target.is_file():
        return [BatchImage(str(target), target.name)]
    images = list_images(target, recursive=True)  # raises FileNotFoundError
    return [BatchImage(str(p), p.relative_to(target).as_posix()) for p in images]


def _components(location: str) -> List[str]:
    """Folder names down to the file; URIs percent-decoded, ``file://`` ones as local paths."""
    path = local_path(location)
    if path is None:
        parts = urlsplit(location)
        return [f"{parts.scheme}://{parts.netloc}"] + [unquote(c) for c in parts.path.split("/") if c]
    return [c for c in Path(os.path.abspath(path)).as_posix().split("/") if c] or ["/"]


__all__ = [
    "BatchImage",
    "LIST_SUFFIXES",
    "is_list_file",
    "is_uri",
    "join_location",
    "list_entries",
    "list_local",
    "local_path",
    "relative_names",
]
