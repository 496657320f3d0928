"""Use a checkpoint the user already has: check it is an official one, and copy it in.

A file the size of a SHA-256 entry must match that hash. A file near the size of
entries without one (several may be near: MobileSAM and HQ-SAM's vit_tiny are) is
copied, then loaded: the network it loads as says which entry it is, if any.

The file is copied, never hard-linked: a link would share later changes to the
user's file, which nothing would check again. The copy goes through a ``.part``
file this code creates (a link or anything else in its place is refused) and is
hashed as it is written, so the bytes that passed the SHA-256 check are the bytes
in the models folder; the match is recorded (:mod:`~app.services.checkpoints.verified`).

No Qt: the model manager runs :func:`adopt` on a worker thread.
"""
from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path

from app.services.checkpoints.catalog import CATALOG, CheckpointEntry, by_size, format_bytes, sized_like
from app.services.checkpoints.load_check import loads_as
from app.services.checkpoints.transfer import (
    CHUNK,
    DownloadError,
    Meter,
    ProgressCallback,
    check_cancel,
    disk_error,
    open_part,
)
from app.services.checkpoints.verified import remember, verify


def adopt(
    source: Path,
    models_dir: Path,
    entries: tuple[CheckpointEntry, ...] = CATALOG,
    on_progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
) -> Path:
    """Check that ``source`` is one of ``entries`` (size, then SHA-256 or loading) and copy it
    into ``models_dir``; returns the path there. A file already in place is checked where it is."""
    source = Path(source)
    try:
        size = source.stat().st_size
    except OSError as exc:
        raise DownloadError("disk", f"Cannot read {source}: {exc.strerror or exc}") from None
    entry = by_size(size, entries)
    if entry is None and sized_like(size, entries):
        return _adopt_loading(source, Path(models_dir), sized_like(size, entries), on_progress, cancel)
    if entry is None:
        raise _not_official(f"{source.name} ({format_bytes(size)})")
    models_dir = Path(models_dir)
    final = models_dir / entry.file_name
    try:
        if final.exists() and os.path.samefile(final, source):
            return verify(entry, models_dir, on_progress, cancel)
        models_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DownloadError("disk", f"Cannot put {entry.file_name} into {models_dir}: {exc.strerror or exc}") from None
    part = final.with_name(final.name + ".part")
    digest = _copy_hashing(source, part, entry.size, on_progress, cancel)
    if digest != entry.sha256:
        part.unlink(missing_ok=True)
        raise DownloadError(
            "checksum",
            f"{source.name} has the size of {entry.file_name} but not its SHA-256 (got {digest[:12]}…); "
            "the file is damaged or a different one. Nothing was copied",
        )
    try:
        os.replace(part, final)
    except OSError as exc:
        part.unlink(missing_ok=True)
        raise DownloadError("disk", f"Cannot put {entry.file_name} into {models_dir}: {exc.strerror or exc}") from None
    remember(entry, models_dir)
    return final


def _not_official(what: str) -> DownloadError:
    return DownloadError(
        "not_official",
        f"{what} is not one of the official checkpoints listed here; "
        "to use another checkpoint of a family Maskwright loads, use File > Open checkpoint…",
    )


def _adopt_loading(source: Path, models_dir: Path, candidates: tuple[CheckpointEntry, ...],
                   on_progress: ProgressCallback | None, cancel: threading.Event | None) -> Path:
    """Copy ``source`` in, load the copy, and keep it under the name of the candidate it loads as."""
    here = next((e for e in candidates if _same_file(models_dir / e.file_name, source)), None)
    if here is not None:  # already in place under one of the names: check it there
        return verify(here, models_dir, on_progress, cancel)
    try:
        models_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DownloadError("disk", f"Cannot create {models_dir}: {exc.strerror or exc}") from None
    part = models_dir / ".adopting.part"
    _copy_hashing(source, part, source.stat().st_size, on_progress, cancel)
    try:
        found = loads_as(part)
    except DownloadError as exc:
        part.unlink(missing_ok=True)
        raise DownloadError("load", f"{source.name} does not load ({exc}); nothing was copied") from None
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    entry = next((e for e in candidates if e.loads_as == found), None)
    if entry is None:
        part.unlink(missing_ok=True)
        raise _not_official(f"{source.name} (it loads as {found})")
    final = models_dir / entry.file_name
    try:
        os.replace(part, final)
    except OSError as exc:
        part.unlink(missing_ok=True)
        raise DownloadError("disk", f"Cannot put {entry.file_name} into {models_dir}: {exc.strerror or exc}") from None
    remember(entry, models_dir)
    return final


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def _copy_hashing(source: Path, part: Path, size: int, on_progress: ProgressCallback | None,
                  cancel: threading.Event | None) -> str:
    """Copy ``source`` to a new ``part`` file and return the SHA-256 of what was written."""
    digest = hashlib.sha256()
    meter = Meter(size, 0, on_progress, "copy")
    try:
        src = open(source, "rb")
    except OSError as exc:
        raise DownloadError("disk", f"Cannot read {source}: {exc.strerror or exc}") from None
    with src:
        try:
            dst = open_part(part, resume=False)  # refuses a link in the way, touching nothing
        except OSError as exc:
            raise disk_error(exc, part) or DownloadError("disk", f"Cannot write {part}: {exc.strerror or exc}") from None
        try:
            with dst:
                while chunk := src.read(CHUNK):
                    check_cancel(cancel)
                    dst.write(chunk)
                    digest.update(chunk)
                    meter.add(len(chunk))
        except BaseException as exc:  # cancelled, disk full, anything: no half copy stays behind
            part.unlink(missing_ok=True)
            if isinstance(exc, OSError):
                raise disk_error(exc, part) or DownloadError("disk", f"Cannot copy {source}: {exc.strerror or exc}") \
                    from None
            raise
    meter.add(0, force=True)  # the last report says 100 %
    return digest.hexdigest()


__all__ = ["adopt"]
