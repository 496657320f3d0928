"""Writing only inside the project folder: no sidecar folder may be a symbolic link.

``.maskwright/`` and the folders in it are created, and checked before every
write, by :func:`confined_dir`: a part that is a symbolic link (or a file where a
folder belongs) raises :class:`OutsideProjectError`, an ``OSError`` whose
``strerror`` is one line for the user, so the save code reports it per file and
keeps the edits for later. A check, then a write, can race someone swapping a
folder for a link meanwhile; the sidecar's reader also refuses a project whose
folders are links (read-only, with a message).
"""
from __future__ import annotations

import errno
import os
import stat
from pathlib import Path


class OutsideProjectError(OSError):
    """A sidecar folder is a symbolic link (or not a folder): writing there would land outside
    the project. ``strerror`` is the one-line reason."""


def confined_dir(folder: Path, directory: Path) -> Path:
    """Make sure ``directory``, a folder below the project ``folder``, exists as a real folder
    there, creating what is missing; raises :class:`OutsideProjectError` when a part of it is a
    symbolic link or not a folder (the project folder itself may be reached through links:
    it is the user's choice). Called before every write."""
    current = Path(folder)
    for part in Path(directory).relative_to(folder).parts:
        current = current / part
        problem = not_a_real_folder(current)
        if problem == "missing":
            try:
                os.mkdir(current)
            except FileExistsError:  # made meanwhile (or a link put there): look again
                problem = not_a_real_folder(current)
            else:
                continue
        if problem is not None:
            raise OutsideProjectError(errno.ENOTDIR, f"{problem}; Maskwright writes only inside the project",
                                      str(current))
    return directory


def not_a_real_folder(path: Path) -> str | None:
    """None for a real folder; "missing"; else why it is not one, in a few words."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return "missing"
    if stat.S_ISLNK(info.st_mode):
        try:
            target = os.readlink(path)
        except OSError:
            target = "?"
        return f"{path} is a symbolic link (to {target})"
    if not stat.S_ISDIR(info.st_mode):
        return f"{path} is not a folder"
    return None


__all__ = ["OutsideProjectError", "confined_dir", "not_a_real_folder"]
