"""The check for checkpoints whose project publishes no SHA-256: the file loads, with
``sam_core``, as the family and variant its catalogue entry names (no Qt).

Loading reads the whole file and builds the network on the CPU (seconds, and the
network's memory, for the large variants): call it off the UI thread. It catches a
truncated or damaged file, a web page saved under the name, and another model; it
cannot catch a changed weight inside a whole file, which only a published hash could.
"""
from __future__ import annotations

import os
from pathlib import Path

from app.services.checkpoints.catalog import CheckpointEntry
from app.services.checkpoints.transfer import DownloadError
from sam_core import CheckpointError, load_sam


def loads_as(path: str | os.PathLike) -> str:
    """``"<family> <variant>"`` of the network ``path`` loads as (``"sam2.1 hiera_t"``);
    ``DownloadError("load")`` with ``load_sam``'s one line when it does not load."""
    try:
        sam = load_sam(path, device="cpu")
    except CheckpointError as exc:
        raise DownloadError("load", str(exc)) from None
    except MemoryError:  # says nothing about the file, which must not be deleted for it
        raise
    except Exception as exc:  # load_sam should have said CheckpointError: still one line
        raise DownloadError("load", f"{Path(path).name}: {type(exc).__name__}: {exc}") from None
    return f"{sam.config.family} {sam.config.variant}"


def require_loads_as(entry: CheckpointEntry, path: str | os.PathLike, shown_name: str | None = None) -> None:
    """Raise ``DownloadError("load")`` unless ``path`` loads as ``entry``'s network.
    ``shown_name`` is the file name messages use (a ``.part`` file is shown by its final name)."""
    name = shown_name or Path(path).name
    try:
        found = loads_as(path)
    except DownloadError as exc:
        raise DownloadError("load", f"{name} does not load as {entry.title} ({exc})") from None
    if found != entry.loads_as:
        raise DownloadError("load", f"{name} loads as {found}, not as {entry.title} ({entry.loads_as})")


__all__ = ["loads_as", "require_loads_as"]
