"""Fetch SAM checkpoints: resumable HTTP download with a SHA-256 check, or, for an entry
whose project publishes no SHA-256, a size check and a check that the file loads as the
entry's network (:mod:`~app.services.checkpoints.load_check`).

No Qt: the model manager runs these functions on a worker thread and passes a
progress callback and a cancel event. Files are written to ``<name>.part`` and
renamed only after they passed their check (and the pass is recorded, see
:mod:`~app.services.checkpoints.verified`), so a half-downloaded or corrupt
checkpoint is never where the app looks for one. An interrupted download keeps
its ``.part`` file and the next attempt resumes it with an HTTP ``Range`` request.
The ``.part`` file is only ever a regular file this code created: a symbolic link
(or a hard link to another file) in its place is refused, never written through.
Every failure is a :class:`DownloadError` with a one-line message. Adopting a file
the user already has is :mod:`~app.services.checkpoints.adopt`.
"""
from __future__ import annotations

import hashlib
import http.client
import os
import shutil
import socket
import ssl
import threading
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

from app.services.checkpoints.catalog import OFFICIAL_BASE_URL, CheckpointEntry, format_bytes
from app.services.checkpoints.transfer import (  # noqa: F401  (Progress, Meter: what callers import from here)
    CHUNK,
    DownloadError,
    Meter,
    Progress,
    ProgressCallback,
    check_cancel,
    disk_error,
    open_part,
    pause,
    sha256_file,
    writable_part,
)
from app.services.checkpoints.load_check import require_loads_as
from app.services.checkpoints.verified import installed, present, remember, verify

_Meter = Meter  # the name the tests knew
USER_AGENT = "Maskwright (model manager)"


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
    ``timeout`` bounds each wait for the server, in seconds. A file already there under
    the entry's name is hashed (once: the match is recorded) and used when it matches.
    """
    models_dir = Path(models_dir)
    final = models_dir / entry.file_name
    if installed(entry, models_dir):
        return final
    if present(entry, models_dir):  # there, never checked (an older version, copied by hand) or changed
        try:
            return verify(entry, models_dir, on_progress, cancel)
        except DownloadError as exc:
            if exc.kind != "checksum":
                raise  # the wrong file was deleted: download the right one
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
            pause(retry_delay * attempt, cancel)  # a dropped connection often works again a moment later
    if entry.exact_size and digest != entry.sha256:
        part.unlink(missing_ok=True)
        raise DownloadError(
            "checksum",
            f"{entry.file_name} failed its SHA-256 check (got {digest[:12]}…, expected {entry.sha256[:12]}…); "
            "the file was deleted, please download it again",
        )
    if not entry.exact_size:
        try:
            require_loads_as(entry, part, entry.file_name)
        except DownloadError as exc:
            part.unlink(missing_ok=True)
            raise DownloadError("load", f"{exc}; the file was deleted") from None
    try:
        os.replace(part, final)
    except OSError as exc:
        raise DownloadError("disk", f"Cannot put {entry.file_name} into {models_dir}: {exc.strerror or exc}") from None
    remember(entry, models_dir)
    return final


def _fetch(url: str, entry: CheckpointEntry, part: Path, hashed: _PartHash, on_progress, cancel,
           timeout: float) -> str:
    """One HTTP request that fills ``part`` up to ``entry.size`` bytes; returns the SHA-256
    of the whole file. ``hashed`` covers the part on disk when an earlier attempt of this
    download wrote it; otherwise the part is hashed first. The rest is hashed as it arrives.
    An entry without an exact size takes the file's size from the server's answer, which
    must be within the entry's tolerance."""
    check_cancel(cancel)
    offset = writable_part(part)  # refuses a link or anything not made here
    if offset > entry.size and not entry.size_matches(offset):
        part.unlink()
        offset = 0
    if hashed.size != offset:  # the first attempt, or the part changed: read it once
        hashed.restart()
        if offset:
            sha256_file(part, cancel, on_progress, hashed.digest)
            hashed.size = offset
    if entry.exact_size and offset == entry.size:
        return hashed.digest.hexdigest()
    _check_space(part.parent, max(entry.size - offset, 0))
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
        total = offset + int(length) if length is not None and length.isdigit() else None
        if total is None and not entry.exact_size:
            raise DownloadError("size", f"{host} did not say how large {entry.file_name} is, so a cut-off "
                                        "download could not be told from a whole one")
        if total is not None and not entry.size_matches(total):
            kind = response.headers.get("Content-Type", "unknown type")
            raise DownloadError(
                "size",
                f"{host} sent {format_bytes(total)} ({kind}) instead of the {entry.size_text} "
                f"of {entry.file_name}; a proxy or captive portal may be answering instead of the server",
            )
        size = entry.size if entry.exact_size else total
        meter = Meter(size, offset, on_progress, "download")
        try:
            with open_part(part, resume=offset > 0) as handle:
                handle.seek(offset)
                handle.truncate()
                while meter.done < size:
                    check_cancel(cancel)
                    chunk = response.read(min(CHUNK, size - meter.done))
                    if not chunk:
                        break
                    handle.write(chunk)
                    hashed.update(chunk)
                    meter.add(len(chunk))
        except (OSError, http.client.HTTPException) as exc:
            if isinstance(exc, OSError) and disk_error(exc, part) is not None:
                raise disk_error(exc, part) from None
            raise _interrupted(entry, meter.done, size, network_message(exc, host)) from None
        meter.add(0, force=True)
    if meter.done < size:
        raise _interrupted(entry, meter.done, size, "the connection closed early")
    return hashed.digest.hexdigest()


def _interrupted(entry: CheckpointEntry, done: int, size: int, why: str) -> DownloadError:
    return DownloadError(
        "interrupted",
        f"Download of {entry.file_name} stopped at {format_bytes(done)} of {format_bytes(size)} ({why}); "
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


