"""``DIR/manifest.jsonl``: one line per image of the run, and the run's summary.

Each line: ``{"file", "json", "status", "masks", "seconds", "error", "checkpoint",
"settings"}``. ``file`` is the image's relative name (its SA-1B ``file_name``),
``json`` its output's path below ``DIR``, ``status`` ``ok`` (written now),
``skipped`` (written before with this checkpoint and these settings) or ``failed``
(``error`` says why in one line; null otherwise). ``masks`` counts the JSON's masks,
``seconds`` the time the image spent in the stages (null for skipped ones, and for
images whose JSON was written just before Ctrl+C, before their result came back).

Lines go to ``manifest.jsonl.part`` as images finish, which becomes
``manifest.jsonl`` when the run ends, stopped with Ctrl+C included: a manifest is
never torn, and it always describes the run that wrote it.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import List, Optional, Tuple

NAME = "manifest.jsonl"
_FLUSH_EVERY = 64


@dataclass
class Counts:
    ok: int = 0
    skipped: int = 0
    failed: int = 0
    masks: int = 0  # in the outputs of this run's images, skipped ones included
    new_masks: int = 0  # made by this run
    failures: List[Tuple[str, str]] = field(default_factory=list)  # the first few (file, error)


class Manifest:
    """Appends manifest lines; ``close()`` puts the file in place. Counts what it was told."""

    def __init__(self, folder: Path, checkpoint: str, settings: str, keep_failures: int = 20) -> None:
        self.path = Path(folder) / NAME
        self._part = self.path.with_name(NAME + ".part")
        self._handle = open(self._part, "w", encoding="utf-8")
        self._checkpoint, self._settings = checkpoint, settings
        self._keep_failures = keep_failures
        self._unflushed = 0
        self.counts = Counts()

    def add(
        self, file: str, json_name: str, status: str, masks: int, seconds: Optional[float], error: Optional[str]
    ) -> None:
        seconds = None if seconds is None else round(float(seconds), 3)
        line = {"file": file, "json": json_name, "status": status, "masks": int(masks),
                "seconds": seconds, "error": error or None,
                "checkpoint": self._checkpoint, "settings": self._settings}  # fmt: skip
        self._handle.write(json.dumps(line) + "\n")
        self._unflushed += 1
        if self._unflushed >= _FLUSH_EVERY:
            self._handle.flush()
            self._unflushed = 0
        counts = self.counts
        setattr(counts, status, getattr(counts, status) + 1)
        counts.masks += int(masks)
        if status == "ok":
            counts.new_masks += int(masks)
        if status == "failed" and len(counts.failures) < self._keep_failures:
            counts.failures.append((file, error or "failed"))

    def close(self) -> Path:
        self._handle.flush()
        os.fsync(self._handle.fileno())
        self._handle.close()
        os.replace(self._part, self.path)
        return self.path


def summary(counts: Counts, minutes: float, manifest: Path, interrupted: bool) -> List[str]:
    """The lines printed at the end of a run."""
    lines = [f"failed: {file}: {error}" for file, error in counts.failures]
    if counts.failed > len(counts.failures):
        lines.append(f"... and {counts.failed - len(counts.failures)} more failed images (see the manifest)")
    rate = counts.ok / minutes if minutes > 0 else 0.0
    total = counts.ok + counts.skipped + counts.failed
    head = "interrupted after" if interrupted else "done:"
    lines.append(
        f"{head} {total} images: {counts.ok} segmented, {counts.skipped} skipped (already done), "
        f"{counts.failed} failed; {counts.masks} masks ({counts.new_masks} new); {rate:.1f} images/minute; "
        f"manifest: {manifest}"
    )
    if interrupted:
        lines.append("the images finished so far are kept: run the same command again to resume")
    return lines


__all__ = ["Counts", "Manifest", "NAME", "summary"]
