"""Atomic file writes: a crash leaves either the old file or the new one.

Data goes to a temporary file in the destination's directory, is flushed and
fsynced, then renamed over the destination with ``os.replace``; on POSIX the
directory is fsynced too, so the rename itself survives a power cut. Temporary
files are named ``.<name>.<random>.tmp``: a crash can leave one behind, never a
torn destination (:func:`remove_stale_temporaries` cleans them up).
"""

from __future__ import annotations

import json
import os
import secrets
import time
from pathlib import Path
from typing import Any

TEMP_SUFFIX = ".tmp"


def write_bytes_atomic(path: Path | str, data: bytes) -> None:
    """Replace ``path`` with ``data`` atomically (same-directory temp file, fsync, rename)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}{TEMP_SUFFIX}")
    # os.open with 0o666 lets the umask pick the final permissions, like open() would.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        _replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    _fsync_directory(path.parent)


def write_json_atomic(path: Path | str, value: Any) -> None:
    """Write ``value`` as compact JSON (ASCII, fixed key order) atomically.

    Same value, same bytes: what the byte-stable round trips rely on.
    """
    text = json.dumps(value, separators=(",", ":"), allow_nan=False)
    write_bytes_atomic(path, text.encode("ascii"))


def move_atomic(source: Path | str, target: Path | str) -> None:
    """Rename ``source`` to ``target`` (same file system) and make both directory
    entries durable. A crash leaves the file under one name or the other."""
    source, target = Path(source), Path(target)
    _replace(source, target)
    _fsync_directory(target.parent)
    if source.parent != target.parent:
        _fsync_directory(source.parent)


def remove_stale_temporaries(directory: Path | str) -> list[Path]:
    """Delete the temporary files an interrupted :func:`write_bytes_atomic` left in
    ``directory``; only call it while no other process writes there."""
    removed = []
    for path in Path(directory).glob(f".*{TEMP_SUFFIX}"):
        try:
            path.unlink()
            removed.append(path)
        except OSError:
            pass  # still held by someone, or read-only: harmless, it is never read
    return removed


def _replace(source: Path, target: Path) -> None:
    # Windows refuses to replace a file another process (a virus scanner, an
    # indexer) holds open for a moment; POSIX renames never fail that way.
    for attempt in range(5 if os.name == "nt" else 1):
        try:
            os.replace(source, target)
            return
        except PermissionError:
            if attempt == 4 or os.name != "nt":
                raise
            time.sleep(0.05 * (attempt + 1))


def _fsync_directory(directory: Path) -> None:
    # Makes the rename itself durable; not possible on Windows, where it is skipped.
    if os.name != "posix":
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
