"""Which checkpoints of the models folder passed their check, remembered between runs.

A file with a catalogue name and the right size is not trusted for that alone:
before its first use it is hashed (an entry with a SHA-256) or loaded (an entry
without one, :mod:`~app.services.checkpoints.load_check`), and a pass is recorded in
``<models folder>/verified.json`` as ``{file name: {"size", "mtime_ns", "inode",
"sha256"}}`` or ``{..., "loads_as"}``. Later starts compare the file's size, modification time and inode
with that record (a ``stat``, no reading), so the hash is not computed again
unless the file changed, was replaced or touched. Only regular files count: a
symbolic link or anything else under a catalogue name is never verified.

No Qt. Hashing and loading read the whole file: call :func:`verify` off the UI thread;
:func:`installed` and :func:`is_verified` only ``stat`` and read the small record.
"""
from __future__ import annotations

import json
import os
import stat
import threading
from pathlib import Path

from app.model.io.atomic import write_json_atomic
from app.services.checkpoints import catalog
from app.services.checkpoints.catalog import CheckpointEntry
from app.services.checkpoints.load_check import require_loads_as
from app.services.checkpoints.transfer import DownloadError, ProgressCallback, sha256_file

RECORD = "verified.json"


def _stamp(path: Path) -> dict[str, int] | None:
    """Size, mtime and inode of ``path`` when it is a regular file (not a link); else None."""
    try:
        info = os.lstat(path)
    except OSError:
        return None
    if not stat.S_ISREG(info.st_mode):
        return None
    return {"size": info.st_size, "mtime_ns": info.st_mtime_ns, "inode": info.st_ino}


def _passed(entry: CheckpointEntry, stamp: dict[str, int]) -> dict:
    """The record of ``entry``'s file, as ``stamp`` describes it, having passed its check."""
    return dict(stamp, sha256=entry.sha256) if entry.exact_size else dict(stamp, loads_as=entry.loads_as)


def _read_record(models_dir: Path) -> dict:
    try:
        value = json.loads((Path(models_dir) / RECORD).read_bytes())
    except (OSError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def is_verified(entry: CheckpointEntry, models_dir: Path) -> bool:
    """Whether ``entry``'s file in ``models_dir`` passed its check and has not changed since."""
    stamp = _stamp(Path(models_dir) / entry.file_name)
    if stamp is None or not entry.size_matches(stamp["size"]):
        return False
    return _read_record(models_dir).get(entry.file_name) == _passed(entry, stamp)


def installed(entry: CheckpointEntry, models_dir: Path) -> Path | None:
    """The verified, unchanged file for ``entry`` in ``models_dir``, or None."""
    path = Path(models_dir) / entry.file_name
    return path if is_verified(entry, models_dir) else None


def present(entry: CheckpointEntry, models_dir: Path) -> Path | None:
    """A regular file of ``entry``'s name and size in ``models_dir``, verified or not."""
    path = Path(models_dir) / entry.file_name
    stamp = _stamp(path)
    return path if stamp is not None and entry.size_matches(stamp["size"]) else None


_RECORD_LOCK = threading.Lock()


def remember(entry: CheckpointEntry, models_dir: Path) -> None:
    """Record that ``entry``'s file, as it is now, passed its check (the caller made it)."""
    stamp = _stamp(Path(models_dir) / entry.file_name)
    if stamp is None:
        return
    with _RECORD_LOCK:
        record = _read_record(models_dir)
        record[entry.file_name] = _passed(entry, stamp)
        try:
            write_json_atomic(Path(models_dir) / RECORD, record)
        except OSError:
            pass  # a read-only models folder: the check is repeated next time, which is only slower


def verify(entry: CheckpointEntry, models_dir: Path, on_progress: ProgressCallback | None = None,
           cancel: threading.Event | None = None) -> Path:
    """Check ``entry``'s file in ``models_dir`` unless it is verified already; returns its path.
    ``DownloadError("checksum")`` when the hash differs, or ``DownloadError("load")`` when an
    entry without a SHA-256 does not load as its network (either way the file is deleted:
    it is not the checkpoint its name says); ``DownloadError("disk")`` when it cannot be read."""
    path = Path(models_dir) / entry.file_name
    if is_verified(entry, models_dir):
        return path
    if present(entry, models_dir) is None:
        size = f"{entry.size:,} bytes" if entry.exact_size else f"about {entry.size_text}"
        raise DownloadError("disk", f"{path} is not a regular file of {size}")
    if not entry.exact_size:
        try:
            require_loads_as(entry, path)
        except DownloadError as exc:
            path.unlink(missing_ok=True)
            raise DownloadError("load", f"{exc}; it was deleted, please download it again") from None
        remember(entry, models_dir)
        return path
    try:
        digest = sha256_file(path, cancel, on_progress)
    except OSError as exc:
        raise DownloadError("disk", f"Cannot read {path}: {exc.strerror or exc}") from None
    if digest != entry.sha256:
        path.unlink(missing_ok=True)
        raise DownloadError(
            "checksum",
            f"{entry.file_name} in {models_dir} failed its SHA-256 check (got {digest[:12]}…, expected "
            f"{entry.sha256[:12]}…); it was deleted, please download it again")
    remember(entry, models_dir)
    return path


def known_checkpoint(path: str | os.PathLike, models_dir: Path,
                     entries: tuple[CheckpointEntry, ...] | None = None) -> CheckpointEntry | None:
    """The catalogue entry (of ``entries``, by default the catalogue) ``path`` is, when it is a
    catalogue file of ``models_dir`` (those are verified before use); None for any other
    checkpoint the user opens."""
    entries = catalog.CATALOG if entries is None else entries
    path = Path(path)
    try:
        inside = path.parent.resolve() == Path(models_dir).resolve()
    except OSError:
        return None
    return next((e for e in entries if e.file_name == path.name), None) if inside else None


__all__ = ["RECORD", "installed", "is_verified", "known_checkpoint", "present", "remember", "verify"]
