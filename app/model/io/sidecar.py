"""The project sidecar directory, ``<folder>/.maskwright/``: reading it whole, writing it file by file.

Layout::

    .maskwright/
      project.json                 categories and project settings
      annotations/<image>.json     one per image with annotations or a status
      set-aside/                   files Maskwright would not load, kept for the user
      session.json                 present while a session has the project open

Every write is atomic (see :mod:`app.model.io.atomic`), so a crash leaves each
file either old or new. Reading never raises for bad content: a file that is not
valid is moved to ``set-aside/`` and reported in one line, and a file written
by a newer Maskwright is left exactly where it is and never overwritten.
All functions here do disk I/O: call them off the UI thread.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from app.model.annotation import Annotation, Category, ImageRecord
from app.model.io.atomic import move_atomic, remove_stale_temporaries, write_bytes_atomic
from app.model.io.fields import FormatError, load_json
from app.model.io.line_cache import LineCache
from app.model.io.project_format import (
    NewerVersionError,
    StoredImage,
    document_bytes,
    image_from_json,
    image_to_json,
    project_from_json,
    project_to_json,
)

SIDECAR = ".maskwright"
_UNSAFE = set('/\\:*?"<>|%')
_MAX_STEM_BYTES = 200


@dataclass(frozen=True)
class SidecarPaths:
    """Where each sidecar file of the project in ``folder`` lives."""

    folder: Path

    @property
    def root(self) -> Path:
        return self.folder / SIDECAR

    @property
    def project_file(self) -> Path:
        return self.root / "project.json"

    @property
    def annotations_dir(self) -> Path:
        return self.root / "annotations"

    @property
    def set_aside_dir(self) -> Path:
        return self.root / "set-aside"

    @property
    def session_file(self) -> Path:
        return self.root / "session.json"

    def image_file(self, file_name: str) -> Path:
        return self.annotations_dir / f"{image_file_stem(file_name)}.json"


def image_file_stem(file_name: str) -> str:
    """A file name for an image's annotations: the image's name, with characters no
    file system accepts percent-encoded and very long names shortened with a hash."""
    stem = "".join(f"%{ord(c):02X}" if c in _UNSAFE or ord(c) < 32 else c for c in file_name)
    if len(stem.encode("utf-8")) > _MAX_STEM_BYTES:
        digest = hashlib.blake2b(file_name.encode("utf-8"), digest_size=8).hexdigest()
        stem = stem.encode("utf-8")[:100].decode("utf-8", "ignore") + "~" + digest
    return stem


@dataclass(frozen=True)
class SessionInfo:
    """Who had the project open: written at open, removed at a clean close."""

    pid: int
    host: str
    started: str  # ISO 8601, local time

    def is_running(self) -> bool:
        """Whether that session's process still runs on this machine (not this process)."""
        if self.host != socket.gethostname() or self.pid == os.getpid() or os.name != "posix":
            return False
        try:
            os.kill(self.pid, 0)  # signal 0: only asks whether the process exists
        except ProcessLookupError:
            return False
        except PermissionError:
            return True  # it exists, under another user
        return True


@dataclass
class StoredProject:
    """Everything read from a sidecar.

    ``categories`` is None without a readable ``project.json``. ``images`` maps
    image file names to their stored content. ``problems`` are one-line messages
    for the user. ``protected`` lists files that must never be overwritten (newer
    format, or invalid and could not be moved aside); ``frozen`` says why nothing
    at all may be written (a newer ``project.json``). ``previous_session`` is set
    when the last session did not close cleanly (a crash or a kill).
    """

    folder: Path
    exists: bool = False
    categories: list[Category] | None = None
    settings: dict[str, Any] = field(default_factory=dict)
    images: dict[str, StoredImage] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    protected: set[Path] = field(default_factory=set)
    frozen: str | None = None
    previous_session: SessionInfo | None = None
    other_session: SessionInfo | None = None

    @property
    def annotation_count(self) -> int:
        return sum(len(image.annotations) for image in self.images.values())


# -- reading -----------------------------------------------------------------------------------------


def read_sidecar(folder: Path | str) -> StoredProject:
    """Read the project sidecar of ``folder`` (an empty result when there is none)."""
    paths = SidecarPaths(Path(folder))
    stored = StoredProject(paths.folder)
    if not paths.root.is_dir():
        return stored
    stored.exists = True
    _read_session(paths, stored)
    if stored.other_session is None:
        for directory in (paths.root, paths.annotations_dir):
            if directory.is_dir():
                remove_stale_temporaries(directory)
    _read_project_file(paths, stored)
    _read_image_files(paths, stored)
    last = stored.settings.get("last_image")
    if last is not None and not (paths.folder / last).is_file():
        del stored.settings["last_image"]  # gone or renamed: start at the first image
        stored.settings.pop("view", None)
    return stored


def _read_session(paths: SidecarPaths, stored: StoredProject) -> None:
    try:
        value = json.loads(paths.session_file.read_bytes())
        info = SessionInfo(int(value["pid"]), str(value["host"]), str(value["started"]))
    except FileNotFoundError:
        return
    except (OSError, ValueError, KeyError, TypeError):
        info = SessionInfo(-1, "", "an unknown time")  # a torn marker still means an unclean end
    if info.is_running():
        stored.other_session = info
        stored.problems.append(
            f"{paths.folder} is also open in another Maskwright (process {info.pid}, since {info.started}); "
            "edits made in both windows can overwrite each other"
        )
    elif info.pid != os.getpid():
        stored.previous_session = info


def _read_project_file(paths: SidecarPaths, stored: StoredProject) -> None:
    try:
        stored.categories, stored.settings = project_from_json(*load_json(paths.project_file))
    except FileNotFoundError:
        return
    except NewerVersionError as exc:
        stored.frozen = f"{exc}; this Maskwright will not change the project"
        stored.problems.append(stored.frozen)
    except (FormatError, OSError) as exc:
        stored.problems.append(_set_aside_problem(paths, paths.project_file, exc, stored))


def _read_image_files(paths: SidecarPaths, stored: StoredProject) -> None:
    if not paths.annotations_dir.is_dir():
        return
    try:
        files = sorted(p for p in paths.annotations_dir.iterdir() if p.suffix == ".json" and not p.name.startswith("."))
    except OSError as exc:
        stored.problems.append(f"{paths.annotations_dir}: cannot list the folder ({exc.strerror or exc})")
        return
    read: dict[str, list[tuple[Path, StoredImage]]] = {}
    for path in files:
        try:
            image = image_from_json(*load_json(path))
        except NewerVersionError as exc:
            stored.protected.add(path)
            stored.problems.append(f"{exc}; left as it is, its annotations are not loaded")
            continue
        except (FormatError, OSError) as exc:
            stored.problems.append(_set_aside_problem(paths, path, exc, stored))
            continue
        read.setdefault(image.file_name, []).append((path, image))
    for name, found in read.items():
        # Two files claiming one image (a copy made by hand): keep the one at its usual name.
        found.sort(key=lambda item: item[0] != paths.image_file(name))
        stored.images[name] = found[0][1]
        for path, _image in found[1:]:
            error = FormatError(str(path), "file_name", f"{found[0][0].name} also holds {name!r}")
            stored.problems.append(_set_aside_problem(paths, path, error, stored))


def _set_aside_problem(paths: SidecarPaths, path: Path, error: Exception, stored: StoredProject) -> str:
    """Move a file that cannot be loaded out of the way (never overwritten, never
    deleted) and describe what happened in one line."""
    reason = str(error) if isinstance(error, FormatError) else f"{path}: cannot be read ({error})"
    try:
        target = set_aside(paths, path)
    except OSError as exc:
        stored.protected.add(path)
        return f"{reason}; not loaded, and left in place (it could not be moved aside: {exc.strerror or exc})"
    return f"{reason}; not loaded, kept as {target}"


# -- writing -----------------------------------------------------------------------------------------


def set_aside(paths: SidecarPaths, path: Path) -> Path:
    """Move ``path`` into ``set-aside/`` under a timestamped name; returns the new path."""
    paths.set_aside_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    target = paths.set_aside_dir / f"{path.stem}.{stamp}{path.suffix}"
    n = 1
    while target.exists():
        n += 1
        target = paths.set_aside_dir / f"{path.stem}.{stamp}-{n}{path.suffix}"
    move_atomic(path, target)
    return target


def write_project_file(paths: SidecarPaths, categories: list[Category], settings: dict[str, Any]) -> Path:
    paths.root.mkdir(exist_ok=True)
    write_bytes_atomic(paths.project_file, document_bytes(project_to_json(categories, settings)))
    return paths.project_file


def write_image_file(paths: SidecarPaths, image: ImageRecord, done: bool, annotations: list[Annotation],
                     lines: LineCache | None = None) -> Path:
    """Write one image's file; with ``lines``, only annotations it has not encoded yet are encoded."""
    path = paths.image_file(image.file_name)
    paths.annotations_dir.mkdir(parents=True, exist_ok=True)
    data = lines.image_bytes(image, done, annotations) if lines is not None \
        else document_bytes(image_to_json(image, done, annotations))
    write_bytes_atomic(path, data)
    return path


def set_aside_image_file(paths: SidecarPaths, file_name: str) -> Path | None:
    """Move an image's file aside (the image left the project); None when it has none."""
    path = paths.image_file(file_name)
    if not path.exists():
        return None
    return set_aside(paths, path)


def open_session(paths: SidecarPaths) -> None:
    """Mark the project open by this process; a marker found at the next open means a crash."""
    paths.root.mkdir(exist_ok=True)
    marker = {"pid": os.getpid(), "host": socket.gethostname(), "started": datetime.now().isoformat(timespec="seconds")}
    write_bytes_atomic(paths.session_file, json.dumps(marker).encode("ascii"))


def close_session(paths: SidecarPaths) -> None:
    """Remove this process's marker (a clean close)."""
    try:
        value = json.loads(paths.session_file.read_bytes())
        if value.get("pid") == os.getpid():
            paths.session_file.unlink()
    except (OSError, ValueError, AttributeError):
        pass  # no marker or not ours: nothing to close


__all__ = [
    "SIDECAR",
    "SessionInfo",
    "SidecarPaths",
    "StoredImage",
    "StoredProject",
    "close_session",
    "image_file_stem",
    "open_session",
    "read_sidecar",
    "set_aside",
    "set_aside_image_file",
    "write_image_file",
    "write_project_file",
]
