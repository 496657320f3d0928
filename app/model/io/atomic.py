"""Atomic file writes: a crash leaves either the old file or the new one.

Data goes to a temporary file in the destination's directory, is flushed and
fsynced, then renamed over the destination with ``os.replace``.
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from typing import Any


def write_bytes_atomic(path: Path | str, data: bytes) -> None:
    """Replace ``path`` with ``data`` atomically (same-directory temp file, fsync, rename)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    # os.open with 0o666 lets the umask pick the final permissions, like open() would.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
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


def _fsync_directory(directory: Path) -> None:
    # Makes the rename itself durable; not possible on Windows, where it is skipped.
    if os.name != "posix":
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
