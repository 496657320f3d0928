"""The project sidecar directory, ``<folder>/.maskwright/``: reading it whole, writing it file by file.

Layout::

    .maskwright/
      project.json                 categories and project settings
      annotations/<image>.json     one per image with annotations or a status
      set-aside/                   files Maskwright would not load, kept for the user
      session.json                 present while a session has the project open

Every write is atomic (see :mod:`app.model.io.atomic`), so a crash leaves each
file either old or new. Reading never raises for bad content: each file is read
on its own, and one that is not valid, whatever the problem (bad JSON, a wrong
field, a size beyond :mod:`sam_core.limits`, or any exception at all), is moved to
``set-aside/`` and reported in one line naming it, while the others load. A file
written by a newer Maskwright is left exactly where it is and never overwritten.

Nothing is written outside the project: ``.maskwright/``, ``annotations/`` and
``set-aside/`` must be real folders, not symbolic links (a project whose sidecar
folders are links is read-only, with a message), and every write checks that
again before it creates a folder or a file (:func:`confined_dir`). Names of images
read from files must lie inside the project (:func:`app.model.names.inside_name`).
All functions here do disk I/O: call them off the UI thread.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import socket
import stat
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from app.model.annotation import Annotation, Category, ImageRecord
from app.model.io.atomic import move_atomic, remove_stale_temporaries, write_bytes_atomic
from app.model.io.confined import OutsideProjectError, confined_dir, not_a_real_folder
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
from app.model.names import display_name, name_bytes
from sam_core.limits import DEFAULT_LIMITS, Limits

SIDECAR = ".maskwright"
_UNSAFE = set('/\\:*?"<>|%')
_MAX_STEM_BYTES = 200
_SURROGATE = re.compile("[\ud800-\udfff]")
NEWER = "written by a newer Maskwright, so it is left untouched and these edits are not saved"


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
    file system accepts percent-encoded and very long names shortened with a hash.

    Any name the OS gives works: bytes that are not UTF-8 (Linux, carried as lone
    surrogates) become ``%XX`` too, so the stem is always valid UTF-8, and since ``%``
    itself is encoded, two names never share a stem. The same name gives the same stem
    in every run."""
    def escape(c: str) -> str:
        if c in _UNSAFE or ord(c) < 32:
            return f"%{ord(c):02X}"
        if _SURROGATE.match(c):
            return f"%{ord(c) - 0xDC00:02X}" if 0xDC80 <= ord(c) <= 0xDCFF else f"%u{ord(c):04X}"
        return c

    stem = "".join(escape(c) for c in file_name)
    if len(stem.encode("utf-8")) > _MAX_STEM_BYTES:
        digest = hashlib.blake2b(name_bytes(file_name), digest_size=8).hexdigest()
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
    for the user. ``protected`` maps files that must never be overwritten (newer
    format, invalid and could not be moved aside, not a regular file) to why, in
    words that follow the file's name; ``frozen`` says why nothing
    at all may be written (a newer ``project.json``). ``previous_session`` is set
    when the last session did not close cleanly (a crash or a kill).
    """

    folder: Path
    exists: bool = False
    categories: list[Category] | None = None
    settings: dict[str, Any] = field(default_factory=dict)
    images: dict[str, StoredImage] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    protected: dict[Path, str] = field(default_factory=dict)
    frozen: str | None = None
    previous_session: SessionInfo | None = None
    other_session: SessionInfo | None = None

    @property
    def annotation_count(self) -> int:
        return sum(len(image.annotations) for image in self.images.values())


# -- reading -----------------------------------------------------------------------------------------


def read_sidecar(folder: Path | str, limits: Limits = DEFAULT_LIMITS) -> StoredProject:
    """Read the project sidecar of ``folder`` (an empty result when there is none). Never
    raises for what the files hold; ``limits`` bounds what they may describe."""
    paths = SidecarPaths(Path(folder))
    stored = StoredProject(paths.folder)
    if not_a_real_folder(paths.root) == "missing":
        return stored
    stored.exists = True
    for directory in (paths.root, paths.annotations_dir, paths.set_aside_dir):
        problem = not_a_real_folder(directory)
        if problem not in (None, "missing"):
            stored.frozen = f"{problem}, outside the project; this Maskwright neither reads nor writes it"
            stored.problems.append(stored.frozen)
            return stored
    _read_session(paths, stored)
    if stored.other_session is None:
        for directory in (paths.root, paths.annotations_dir):
            if directory.is_dir():
                remove_stale_temporaries(directory)
    _read_project_file(paths, stored, limits)
    _read_image_files(paths, stored, limits)
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


def _read_project_file(paths: SidecarPaths, stored: StoredProject, limits: Limits) -> None:
    try:
        stored.categories, stored.settings = project_from_json(*load_json(paths.project_file, limits))
    except FileNotFoundError:
        return
    except NewerVersionError as exc:
        stored.frozen = f"{exc}; this Maskwright will not change the project"
        stored.problems.append(stored.frozen)
    except Exception as exc:  # whatever it is (RecursionError, MemoryError...), it is this file's problem
        stored.problems.append(_set_aside_problem(paths, paths.project_file, exc, stored))


def _read_image_files(paths: SidecarPaths, stored: StoredProject, limits: Limits) -> None:
    if not paths.annotations_dir.is_dir():
        return
    try:
        files = sorted(p for p in paths.annotations_dir.iterdir() if p.suffix == ".json" and not p.name.startswith("."))
    except OSError as exc:
        stored.problems.append(f"{paths.annotations_dir}: cannot list the folder ({exc.strerror or exc})")
        return
    regular = []
    for path in files:
        try:
            kind = os.lstat(path).st_mode
        except OSError:
            continue  # gone meanwhile
        if stat.S_ISREG(kind):
            regular.append(path)
        else:  # a link or a FIFO: reading could leave the project or never end
            stored.problems.append(f"{display_name(str(path))}: not a regular file; left as it is and not read")
            stored.protected[path] = "is not a regular file (a link or a FIFO), so it is left untouched and these edits are not saved"
    files = regular
    read: dict[str, list[tuple[Path, StoredImage]]] = {}
    for path in files:
        try:
            image = image_from_json(*load_json(path, limits), limits)
        except NewerVersionError as exc:
            stored.protected[path] = NEWER
            stored.problems.append(f"{exc}; left as it is, its annotations are not loaded")
            continue
        except Exception as exc:  # any failure of one file stays that file's: the others still load
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
    if isinstance(error, FormatError):
        reason = str(error)
    elif isinstance(error, OSError):
        reason = f"{path}: cannot be read ({error.strerror or error})"
    else:  # not a problem any reader expected: still one line, with what it was
        detail = " ".join(str(error).split())[:200]
        reason = f"{path}: cannot be read ({type(error).__name__}{': ' + detail if detail else ''})"
    try:
        target = set_aside(paths, path)
    except OSError as exc:
        stored.protected[path] = ("could not be read and could not be moved aside, so it is left untouched "
                                  "and these edits are not saved")
        return f"{reason}; not loaded, and left in place (it could not be moved aside: {exc.strerror or exc})"
    return f"{reason}; not loaded, kept as {target}"


# -- writing -----------------------------------------------------------------------------------------


def set_aside(paths: SidecarPaths, path: Path) -> Path:
    """Move ``path`` into ``set-aside/`` under a timestamped name; returns the new path."""
    confined_dir(paths.folder, paths.set_aside_dir)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    target = paths.set_aside_dir / f"{path.stem}.{stamp}{path.suffix}"
    n = 1
    while target.exists():
        n += 1
        target = paths.set_aside_dir / f"{path.stem}.{stamp}-{n}{path.suffix}"
    move_atomic(path, target)
    return target


def write_project_file(paths: SidecarPaths, categories: list[Category], settings: dict[str, Any]) -> Path:
    confined_dir(paths.folder, paths.root)
    write_bytes_atomic(paths.project_file, document_bytes(project_to_json(categories, settings)))
    return paths.project_file


def write_image_file(paths: SidecarPaths, image: ImageRecord, done: bool, annotations: list[Annotation],
                     lines: LineCache | None = None) -> Path:
    """Write one image's file; with ``lines``, only annotations it has not encoded yet are encoded."""
    path = paths.image_file(image.file_name)
    confined_dir(paths.folder, paths.annotations_dir)
    data = lines.image_bytes(image, done, annotations) if lines is not None \
        else document_bytes(image_to_json(image, done, annotations))
    write_bytes_atomic(path, data)
    return path


def set_aside_image_file(paths: SidecarPaths, file_name: str) -> Path | None:
    """Move an image's file aside (the image left the project); None when it has none."""
    if not_a_real_folder(paths.annotations_dir) == "missing":
        return None
    confined_dir(paths.folder, paths.annotations_dir)  # a link there raises: nothing is moved through it
    path = paths.image_file(file_name)
    if not path.exists():
        return None
    return set_aside(paths, path)


def open_session(paths: SidecarPaths) -> None:
    """Mark the project open by this process; a marker found at the next open means a crash."""
    confined_dir(paths.folder, paths.root)
    marker = {"pid": os.getpid(), "host": socket.gethostname(), "started": datetime.now().isoformat(timespec="seconds")}
    write_bytes_atomic(paths.session_file, json.dumps(marker).encode("ascii"))


def close_session(paths: SidecarPaths) -> None:
    """Remove this process's marker (a clean close)."""
    if not_a_real_folder(paths.root) is not None:
        return  # gone, or a link: nothing of ours to remove there
    try:
        value = json.loads(paths.session_file.read_bytes())
        if value.get("pid") == os.getpid():
            paths.session_file.unlink()
    except (OSError, ValueError, AttributeError):
        pass  # no marker or not ours: nothing to close


__all__ = [
    "SIDECAR",
    "OutsideProjectError",
    "SessionInfo",
    "SidecarPaths",
    "StoredImage",
    "StoredProject",
    "close_session",
    "confined_dir",
    "image_file_stem",
    "open_session",
    "read_sidecar",
    "set_aside",
    "set_aside_image_file",
    "write_image_file",
    "write_project_file",
]
