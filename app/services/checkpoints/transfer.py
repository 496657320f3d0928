"""What downloading, checking and copying a checkpoint share: the one error type, progress
reports with speed and time left, cancellation, hashing a file, and writing only regular
files this code created.

No Qt: the model manager runs these on a worker thread with a progress callback and a
cancel event.
"""
from __future__ import annotations

import errno
import hashlib
import os
import stat
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Callable

from app.services.checkpoints.catalog import format_bytes

CHUNK = 1 << 20


class DownloadError(Exception):
    """Why a checkpoint could not be fetched or adopted. ``kind`` is one of "network"
    (offline, proxy, firewall, TLS), "http", "interrupted", "checksum", "size", "disk",
    "not_official", "load" (a file without a published SHA-256 does not load as
    its catalogue entry's network) or "cancelled"; ``str(error)`` is one line for the user."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True)
class Progress:
    """``done`` of ``total`` bytes; ``speed`` in bytes/s (0 while unknown); ``eta`` in
    seconds (None while unknown); ``stage`` is "download", "verify" or "copy"."""

    done: int
    total: int
    speed: float = 0.0
    eta: float | None = None
    stage: str = "download"

    @property
    def text(self) -> str:
        """E.g. ``"12 MB of 375 MB · 8.1 MB/s · 45 s left"``."""
        parts = [f"{format_bytes(self.done)} of {format_bytes(self.total)}"]
        if self.speed > 0:
            parts.append(f"{format_bytes(self.speed)}/s")
        if self.eta is not None:
            parts.append(f"{format_duration(self.eta)} left")
        verb = {"verify": "Checking SHA-256: ", "copy": "Copying: "}.get(self.stage, "")
        return verb + " · ".join(parts)


ProgressCallback = Callable[[Progress], None]


def format_duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


class Meter:
    """Speed (smoothed over a few seconds) and ETA, reported at most ``rate`` times a second."""

    def __init__(self, total: int, done: int, on_progress: ProgressCallback | None, stage: str, rate: float = 8):
        self.total, self.done, self.stage = total, done, stage
        self.on_progress, self.interval = on_progress, 1.0 / rate
        self.speed = 0.0
        self._mark = (time.monotonic(), done)
        self._last_report = 0.0

    def add(self, count: int, force: bool = False) -> None:
        self.done += count
        now = time.monotonic()
        elapsed = now - self._mark[0]
        if elapsed >= 0.5:
            current = (self.done - self._mark[1]) / elapsed
            self.speed = current if self.speed == 0 else 0.7 * self.speed + 0.3 * current
            self._mark = (now, self.done)
        if self.on_progress is not None and (force or now - self._last_report >= self.interval):
            self._last_report = now
            eta = (self.total - self.done) / self.speed if self.speed > 0 else None
            self.on_progress(Progress(self.done, self.total, self.speed, eta, self.stage))


def check_cancel(cancel: threading.Event | None) -> None:
    if cancel is not None and cancel.is_set():
        raise DownloadError("cancelled", "Cancelled")


def pause(seconds: float, cancel: threading.Event | None) -> None:
    """Sleep, but stop at once (cancelled) when ``cancel`` is set meanwhile."""
    if cancel is None:
        time.sleep(seconds)
    elif cancel.wait(seconds):
        raise DownloadError("cancelled", "Cancelled")


def sha256_file(path: Path, cancel: threading.Event | None = None, on_progress: ProgressCallback | None = None,
                digest=None) -> str:
    """Hex SHA-256 of ``path``, read in chunks (``digest`` continues an existing hash object)."""
    digest = digest or hashlib.sha256()
    meter = Meter(path.stat().st_size, 0, on_progress, "verify")
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            check_cancel(cancel)
            digest.update(chunk)
            meter.add(len(chunk))
    meter.add(0, force=True)
    return digest.hexdigest()


def writable_part(part: Path) -> int:
    """The size of ``part`` (0 when there is none) when this code may write it: a regular
    file with no other name (one hard link), never a symbolic link, FIFO or folder, which
    would make writes land elsewhere. Otherwise ``DownloadError("disk")``."""
    try:
        info = os.lstat(part)
    except FileNotFoundError:
        return 0
    except OSError as exc:
        raise DownloadError("disk", f"Cannot read {part}: {exc.strerror or exc}") from None
    if stat.S_ISLNK(info.st_mode):
        raise DownloadError("disk", f"{part} is a symbolic link; Maskwright writes only files it made itself "
                            "and will not write through it. Remove it and try again")
    if not stat.S_ISREG(info.st_mode) or info.st_nlink != 1:
        raise DownloadError("disk", f"{part} is not a file Maskwright made (not a regular file, or a hard link "
                            "to another one); remove it and try again")
    return info.st_size


def open_part(part: Path, resume: bool) -> BinaryIO:
    """Open ``part`` for writing: a new file (created exclusively, a stale one removed first)
    or, with ``resume``, the existing one checked by :func:`writable_part`. Links are never
    followed (``O_NOFOLLOW`` where the OS has it; the checks above everywhere)."""
    flags = os.O_WRONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
    if resume:
        writable_part(part)
        fd = os.open(part, flags)
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_nlink != 1:  # swapped since the check
            os.close(fd)
            raise DownloadError("disk", f"{part} changed while it was opened; try again")
        return os.fdopen(fd, "r+b")
    writable_part(part)  # refuses a link or folder in the way; a stale part file is ours to replace
    part.unlink(missing_ok=True)
    return os.fdopen(os.open(part, flags | os.O_CREAT | os.O_EXCL, 0o666), "wb")


def disk_error(exc: OSError, path: Path) -> DownloadError | None:
    """A ``DownloadError("disk")`` for write errors that are the disk's (full, read-only, denied)."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EACCES, errno.EROFS):
        return DownloadError("disk", f"Cannot write {path}: {exc.strerror}")
    return None


__all__ = ["CHUNK", "DownloadError", "Meter", "Progress", "ProgressCallback", "check_cancel", "disk_error",
           "format_duration", "open_part", "pause", "sha256_file", "writable_part"]
