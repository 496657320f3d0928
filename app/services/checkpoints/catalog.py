"""The official SAM v1 checkpoints: names, sizes, SHA-256 and where to get them (no Qt)."""
from __future__ import annotations

from dataclasses import dataclass

#: Meta's download server; a mirror with the same file names can replace it (setting ``model_base_url``).
OFFICIAL_BASE_URL = "https://dl.fbaipublicfiles.com/segment_anything/"


@dataclass(frozen=True)
class CheckpointEntry:
    """One downloadable checkpoint: ``size`` in bytes, ``sha256`` lower-case hex."""

    variant: str
    file_name: str
    size: int
    sha256: str
    note: str = ""

    def url(self, base_url: str = OFFICIAL_BASE_URL) -> str:
        return base_url.rstrip("/") + "/" + self.file_name

    @property
    def label(self) -> str:
        """What the model manager lists, e.g. ``"vit_b · 375 MB — fastest"``."""
        text = f"{self.variant} · {format_bytes(self.size)}"
        return f"{text} — {self.note}" if self.note else text


CATALOG: tuple[CheckpointEntry, ...] = (
    CheckpointEntry("vit_b", "sam_vit_b_01ec64.pth", 375_042_383,
                    "ec2df62732614e57411cdcf32a23ffdf28910380d03139ee0f4fcbe91eb8c912",
                    "fastest; recommended on a CPU"),
    CheckpointEntry("vit_l", "sam_vit_l_0b3195.pth", 1_249_524_607,
                    "3adcc4315b642a4d2101128f611684e8734c41232a17c648ed1693702a49a622",
                    "slower, slightly better masks"),
    CheckpointEntry("vit_h", "sam_vit_h_4b8939.pth", 2_564_550_879,
                    "a7bf3b02f3ebf1267aba913ff637d9a2d5c33d3173bb679e46d9f338c26f262e",
                    "best masks; wants a GPU"),
)


def by_size(size: int, entries: tuple[CheckpointEntry, ...] = CATALOG) -> CheckpointEntry | None:
    """The entry whose file has exactly ``size`` bytes (a cheap first test of a local file)."""
    return next((e for e in entries if e.size == size), None)


def format_bytes(count: float) -> str:
    """``375042383`` -> ``"375 MB"`` (decimal units, as download pages use)."""
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if count >= scale:
            value = count / scale
            return f"{value:.1f} {unit}" if value < 10 else f"{value:.0f} {unit}"
    return f"{int(count)} B"
