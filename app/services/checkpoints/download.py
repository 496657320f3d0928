"""Fetch and verify SAM checkpoints: resumable HTTP download, SHA-256 check, local adoption.

No Qt: the model manager runs these functions on a worker thread and passes a
progress callback and a cancel event. Files are written to ``<name>.part`` and
renamed only after their SHA-256 matches, so a half-downloaded or corrupt
checkpoint is never where the app looks for one. An interrupted download keeps
its ``.part`` file and the next attempt resumes it with an HTTP ``Range`` request.
Every failure is a :class:`DownloadError` with a one-line message.
"""
from __future__ import annotations

import errno
import hashlib
import http.client
import os
import shutil
import socket
import ssl
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Callable
from urllib.parse import urlsplit

from app.services.checkpoints.catalog import CATALOG, OFFICIAL_BASE_URL, CheckpointEntry, by_size, format_bytes

CHUNK = 1 << 20
USER_AGENT = "Maskwright (model manager)"


class DownloadError(Exception):
    """Why a checkpoint could not be fetched or adopted. ``kind`` is one of "network"
    (offline, proxy, firewall, TLS), "http", "interrupted", "checksum", "size", "disk",
    "not_official" or "cancelled"; ``str(error)`` is one line for the user."""

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


class _Meter:
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


def _check_cancel(cancel: threading.Event | None) -> None:
    if cancel is not None and cancel.is_set():
        raise DownloadError("cancelled", "Cancelled")


def _pause(seconds: float, cancel: threading.Event | None) -> None:
    """Sleep, but stop at once (cancelled) when ``cancel`` is set meanwhile."""
    if cancel is None:
        time.sleep(seconds)
    elif cancel.wait(seconds):
        raise DownloadError("cancelled", "Cancelled")


class _PartHash:
    """The SHA-256 of the first ``size`` bytes of a ``.part`` file, carried from one attempt
    to the next so that a resumed transfer does not read the whole file again."""

    def __init__(self) -> None:
        self.restart()

    def restart(self) -> None:
        self.digest, self.size = hashlib.sha256(), 0

    def update(self, chunk: bytes) -> None:
        self.digest.update(chunk)
        self.size += len(chunk)


def sha256_file(path: Path, cancel: threading.Event | None = None, on_progress: ProgressCallback | None = None,
                digest=None) -> str:
    """Hex SHA-256 of ``path``, read in chunks (``digest`` continues an existing hash object)."""
    digest = digest or hashlib.sha256()
    meter = _Meter(path.stat().st_size, 0, on_progress, "verify")
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            _check_cancel(cancel)
            digest.update(chunk)
            meter.add(len(chunk))
    meter.add(0, force=True)
    return digest.hexdigest()


def installed(entry: CheckpointEntry, models_dir: Path) -> Path | None:
    """The verified file for ``entry`` in ``models_dir``, or None. Only files whose
    SHA-256 matched are ever given their final name, so the size is checked here."""
    path = Path(models_dir) / entry.file_name
    try:
        return path if path.is_file() and path.stat().st_size == entry.size else None
    except OSError:
        return None


def download(
    entry: CheckpointEntry,
    models_dir: Path,
    base_url: str = OFFICIAL_BASE_URL,
    on_progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
    attempts: int = 3,
    timeout: float = 30.0,
    retry_delay: float = 2.0,
) -> Path:
    """Download ``entry`` into ``models_dir`` and return the verified file's path.

    Resumes ``<file>.part`` when present. A transfer that breaks off is resumed up to
    ``attempts`` times in all; after that the ``.part`` file stays for a later call.
    A SHA-256 mismatch deletes the file and raises ``DownloadError("checksum", ...)``.
    ``timeout`` bounds each wait for the server, in seconds.
    """
    models_dir = Path(models_dir)
    final = models_dir / entry.file_name
    if installed(entry, models_dir):
        return final
    try:
        models_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DownloadError("disk", f"Cannot create {models_dir}: {exc.strerror or exc}") from None
    part = final.with_name(final.name + ".part")
    url = entry.url(base_url)
    hashed = _PartHash()
    for attempt in range(1, max(1, attempts) + 1):
        try:
            digest = _fetch(url, entry, part, hashed, on_progress, cancel, timeout)
            break
        except DownloadError as exc:
            if exc.kind != "interrupted" or attempt >= attempts:
                raise
            _pause(retry_delay * attempt, cancel)  # a dropped connection often works again a moment later
    if digest != entry.sha256:
        part.unlink(missing_ok=True)
        raise DownloadError(
            "checksum",
            f"{entry.file_name} failed its SHA-256 check (got {digest[:12]}…, expected {entry.sha256[:12]}…); "
            "the file was deleted, please download it again",
        )
    os.replace(part, final)
    return final


def _fetch(url: str, entry: CheckpointEntry, part: Path, hashed: _PartHash, on_progress, cancel,
           timeout: float) -> str:
    """One HTTP request that fills ``part`` up to ``entry.size`` bytes; returns the SHA-256
    of the whole file. ``hashed`` covers the part on disk when an earlier attempt of this
    download wrote it; otherwise the part is hashed first. The rest is hashed as it arrives."""
    _check_cancel(cancel)
    offset = part.stat().st_size if part.exists() else 0
    if offset > entry.size:
        part.unlink()
        offset = 0
    if hashed.size != offset:  # the first attempt, or the part changed: read it once
        hashed.restart()
        if offset:
            sha256_file(part, cancel, on_progress, hashed.digest)
            hashed.size = offset
    if offset == entry.size:
        return hashed.digest.hexdigest()
    _check_space(part.parent, entry.size - offset)
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT, "Accept-Encoding": "identity"})
    if offset:
        request.add_header("Range", f"bytes={offset}-")
    host = urlsplit(url).netloc
    try:
        response = urllib.request.urlopen(request, timeout=timeout, context=tls_context())
    except urllib.error.HTTPError as exc:
        exc.close()  # it holds the response and its socket
        if exc.code == 416 and offset:  # our part is not a prefix the server knows: start over
            part.unlink(missing_ok=True)
            raise DownloadError("interrupted", f"{host} refused to resume {entry.file_name}; starting over") from None
        raise DownloadError("http", _http_message(exc, host)) from None
    except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
        raise DownloadError("network", network_message(exc, host)) from None
    with response:
        if response.status == 206:
            start = _content_range_start(response.headers.get("Content-Range", ""))
            if start != offset:
                raise DownloadError("http", f"{host} answered the resume request with the wrong range ({start})")
        elif offset:  # 200: the server ignored the Range header, so the body is the whole file
            offset = 0
            hashed.restart()
        length = response.headers.get("Content-Length")
        if length is not None and length.isdigit() and offset + int(length) != entry.size:
            kind = response.headers.get("Content-Type", "unknown type")
            raise DownloadError(
                "size",
                f"{host} sent {format_bytes(offset + int(length))} ({kind}) instead of the {format_bytes(entry.size)} "
                f"of {entry.file_name}; a proxy or captive portal may be answering instead of the server",
            )
        meter = _Meter(entry.size, offset, on_progress, "download")
        try:
            with open(part, "r+b" if offset else "wb") as handle:
                handle.seek(offset)
                handle.truncate()
                while meter.done < entry.size:
                    _check_cancel(cancel)
                    chunk = response.read(min(CHUNK, entry.size - meter.done))
                    if not chunk:
                        break
                    handle.write(chunk)
                    hashed.update(chunk)
                    meter.add(len(chunk))
        except (OSError, http.client.HTTPException) as exc:
            if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EACCES, errno.EROFS):
                raise DownloadError("disk", f"Cannot write {part}: {exc.strerror}") from None
            raise _interrupted(entry, meter.done, network_message(exc, host)) from None
        meter.add(0, force=True)
    if meter.done < entry.size:
        raise _interrupted(entry, meter.done, "the connection closed early")
    return hashed.digest.hexdigest()


def _interrupted(entry: CheckpointEntry, done: int, why: str) -> DownloadError:
    return DownloadError(
        "interrupted",
        f"Download of {entry.file_name} stopped at {format_bytes(done)} of {format_bytes(entry.size)} ({why}); "
        "Download again resumes from there",
    )


def _content_range_start(value: str) -> int | None:
    """``"bytes 100-199/200"`` -> 100."""
    try:
        unit, spec = value.split(" ", 1)
        return int(spec.split("-", 1)[0]) if unit == "bytes" else None
    except ValueError:
        return None


def _check_space(directory: Path, needed: int) -> None:
    try:
        free = shutil.disk_usage(directory).free
    except OSError:
        return
    if free < needed:
        raise DownloadError("disk", f"{directory} has {format_bytes(free)} free; {format_bytes(needed)} are needed")


def tls_context() -> ssl.SSLContext:
    """The system's CA store plus certifi's when it is installed (frozen builds on Linux
    may not find the system store; corporate proxies' CAs are only in the system one)."""
    context = ssl.create_default_context()
    try:
        import certifi

        context.load_verify_locations(certifi.where())
    except (ImportError, OSError):
        pass
    return context


def _http_message(exc: urllib.error.HTTPError, host: str) -> str:
    if exc.code == 407:
        return f"The proxy between you and {host} needs a login (HTTP 407); use a browser to download the file"
    if exc.code in (401, 403):
        return f"{host} refused the download (HTTP {exc.code}); a firewall or proxy may block it"
    if exc.code == 404:
        return f"{host} has no such file (HTTP 404: {exc.url})"
    return f"{host} answered HTTP {exc.code} {exc.reason}"


def network_message(exc: BaseException, host: str) -> str:
    """One line for why ``host`` could not be reached (offline, DNS, proxy, TLS, timeout)."""
    reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
    if isinstance(reason, ssl.SSLCertVerificationError):
        why = getattr(reason, "verify_message", None) or reason.strerror or "certificate verify failed"
        return (f"Cannot verify the certificate of {host} ({why}); "
                "a proxy that inspects HTTPS may be in the way")
    if isinstance(reason, ssl.SSLError):
        return f"Secure connection to {host} failed ({reason.reason or reason}); a proxy may be in the way"
    if isinstance(reason, socket.gaierror):
        return f"Cannot find {host} (no network, or DNS is blocked); are you offline?"
    if isinstance(reason, ConnectionRefusedError):
        return f"{host} (or your proxy) refused the connection; are you offline or behind a firewall?"
    if isinstance(reason, (TimeoutError, socket.timeout)):
        return f"{host} did not answer in time; the network may be down or a firewall may drop the connection"
    if isinstance(reason, ConnectionResetError):
        return f"{host} reset the connection"
    text = getattr(reason, "strerror", None) or str(reason) or type(reason).__name__
    return f"Cannot reach {host}: {text}"


def adopt(
    source: Path,
    models_dir: Path,
    entries: tuple[CheckpointEntry, ...] = CATALOG,
    on_progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
) -> Path:
    """Use a checkpoint the user already has: check it is one of ``entries`` (size, then
    SHA-256), then hard-link it into ``models_dir`` (no extra disk space) or, across
    file systems, copy it through a ``.part`` file. Returns the path in ``models_dir``."""
    source = Path(source)
    try:
        size = source.stat().st_size
    except OSError as exc:
        raise DownloadError("disk", f"Cannot read {source}: {exc.strerror or exc}") from None
    entry = by_size(size, entries)
    names = "/".join(e.variant for e in entries)
    if entry is None:
        raise DownloadError(
            "not_official",
            f"{source.name} ({format_bytes(size)}) is not an official SAM v1 checkpoint ({names}); "
            "to use another SAM v1 file, use File > Open checkpoint…",
        )
    try:
        digest = sha256_file(source, cancel, on_progress)
    except OSError as exc:
        raise DownloadError("disk", f"Cannot read {source}: {exc.strerror or exc}") from None
    if digest != entry.sha256:
        raise DownloadError(
            "checksum",
            f"{source.name} has the size of {entry.file_name} but not its SHA-256 (got {digest[:12]}…); "
            "the file is damaged or a different one. Nothing was copied",
        )
    final = Path(models_dir) / entry.file_name
    try:
        Path(models_dir).mkdir(parents=True, exist_ok=True)
        if final.exists() and os.path.samefile(final, source):
            return final
        part = final.with_name(final.name + ".part")
        part.unlink(missing_ok=True)
        try:
            os.link(source, part)
        except OSError:  # another file system (or no hard links there): copy
            _copy(source, part, entry.size, on_progress, cancel)
        os.replace(part, final)
    except OSError as exc:
        raise DownloadError("disk", f"Cannot put {entry.file_name} into {models_dir}: {exc.strerror or exc}") from None
    return final


def _copy(source: Path, target: Path, size: int, on_progress, cancel) -> None:
    meter = _Meter(size, 0, on_progress, "copy")
    try:
        with open(source, "rb") as src, open(target, "wb") as dst:
            while chunk := src.read(CHUNK):
                _check_cancel(cancel)
                dst.write(chunk)
                meter.add(len(chunk))
        meter.add(0, force=True)  # the last report says 100 %
    except BaseException:
        target.unlink(missing_ok=True)
        raise
