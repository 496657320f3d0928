"""The official checkpoints of every SAM family Maskwright loads: names, sizes, licences,
what each is good for, where its project publishes it, and how a file is checked (no Qt).

Two kinds of check, and the manager says which applies:

* **SHA-256** (SAM v1 only): Meta publishes no SHA-256 beside its three files either;
  the values below are the SHA-256 of Meta's files as many other tools record and check
  them (the same value everywhere), so a file is used only when its hash matches.
  ``size`` is then the exact byte count.
* **size and loading** (SAM 2.1, MobileSAM, HQ-SAM, EfficientViT-SAM): their projects
  publish no checksum, and none is invented here. ``size`` is then the byte count of the
  fp32 tensors of the published shape (read off our networks, which load those files
  strictly), not a measured file size: a file is accepted when its size is within
  :data:`SIZE_TOLERANCE` of it and it loads, with ``sam_core``, as the family and
  variant the entry names (``loads_as``). That catches a truncated file, a web page, or
  another model, but not a damaged weight inside an otherwise whole file.
"""
from __future__ import annotations

from dataclasses import dataclass

#: Meta's download server for SAM v1; a mirror with the same file names can replace every
#: source (setting ``model_base_url``).
OFFICIAL_BASE_URL = "https://dl.fbaipublicfiles.com/segment_anything/"
SAM2_1_URL = "https://dl.fbaipublicfiles.com/segment_anything_2/092824/"
MOBILE_SAM_URL = "https://raw.githubusercontent.com/ChaoningZhang/MobileSAM/master/weights/"
HQ_SAM_URL = "https://huggingface.co/lkeab/hq-sam/resolve/main/"
EFFICIENTVIT_SAM_URL = "https://huggingface.co/mit-han-lab/efficientvit-sam/resolve/main/"

#: How far (a fraction of ``size``) a file checked by size and loading may be from the
#: tensors' size: the pickle records add well under 1 %, a web page or a cut-off file is far off.
SIZE_TOLERANCE = 0.10


@dataclass(frozen=True)
class CheckpointEntry:
    """One downloadable checkpoint. ``size`` in bytes: exact when ``sha256`` (lower-case hex)
    is given, else the approximate size above. ``loads_as`` is ``"<config.family>
    <config.variant>"`` of the network the file must load as (checked when there is no
    SHA-256); ``family`` names it for people ("SAM 2.1"); ``source`` is the folder URL
    its project publishes it in."""

    variant: str
    file_name: str
    size: int
    sha256: str | None
    note: str = ""
    family: str = "SAM"
    licence: str = "Apache-2.0"
    source: str = OFFICIAL_BASE_URL
    loads_as: str = ""

    def url(self, base_url: str | None = None) -> str:
        """Where to download it: ``base_url`` when it is a mirror (not Meta's SAM v1 folder),
        else the entry's own ``source``."""
        mirror = base_url is not None and base_url.rstrip("/") != OFFICIAL_BASE_URL.rstrip("/")
        return (base_url if mirror else self.source).rstrip("/") + "/" + self.file_name

    @property
    def exact_size(self) -> bool:
        return self.sha256 is not None

    def size_matches(self, count: int) -> bool:
        """Whether a file of ``count`` bytes can be this checkpoint (exactly, or within
        :data:`SIZE_TOLERANCE` for an entry checked by size and loading)."""
        if self.exact_size:
            return count == self.size
        return abs(count - self.size) <= SIZE_TOLERANCE * self.size

    @property
    def size_text(self) -> str:
        """``"375 MB"``, or ``"~156 MB"`` where the size is the tensors' rather than a published one."""
        return ("" if self.exact_size else "~") + format_bytes(self.size)

    @property
    def check(self) -> str:
        """How a file is checked, for people."""
        if self.exact_size:
            return "checked against its SHA-256"
        return "no SHA-256 is published: Maskwright checks its size and that it loads as " + self.title

    @property
    def title(self) -> str:
        return f"{self.family} {self.variant}"

    @property
    def label(self) -> str:
        """What the model manager lists, e.g. ``"SAM vit_b · 375 MB · Apache-2.0 — fastest"``."""
        text = f"{self.title} · {self.size_text} · {self.licence}"
        return f"{text} — {self.note}" if self.note else text


def _sam(variant: str, file_name: str, size: int, sha256: str, note: str) -> CheckpointEntry:
    return CheckpointEntry(variant, file_name, size, sha256, note, "SAM", loads_as=f"sam {variant}")


def _sized(family: str, variant: str, file_name: str, size: int, note: str, source: str,
           loads_as: str) -> CheckpointEntry:
    return CheckpointEntry(variant, file_name, size, None, note, family, source=source, loads_as=loads_as)


CATALOG: tuple[CheckpointEntry, ...] = (
    _sam("vit_b", "sam_vit_b_01ec64.pth", 375_042_383,
         "ec2df62732614e57411cdcf32a23ffdf28910380d03139ee0f4fcbe91eb8c912", "the original SAM; fast enough on a CPU"),
    _sam("vit_l", "sam_vit_l_0b3195.pth", 1_249_524_607,
         "3adcc4315b642a4d2101128f611684e8734c41232a17c648ed1693702a49a622", "slower, slightly better masks"),
    _sam("vit_h", "sam_vit_h_4b8939.pth", 2_564_550_879,
         "a7bf3b02f3ebf1267aba913ff637d9a2d5c33d3173bb679e46d9f338c26f262e",
         "the original SAM's best masks; wants a GPU"),
    _sized("SAM 2.1", "hiera_t", "sam2.1_hiera_tiny.pt", 155_851_016,
           "better masks than SAM v1 at a fraction of its encoder time", SAM2_1_URL, "sam2.1 hiera_t"),
    _sized("SAM 2.1", "hiera_s", "sam2.1_hiera_small.pt", 184_242_440,
           "a little better than tiny, a little slower", SAM2_1_URL, "sam2.1 hiera_s"),
    _sized("SAM 2.1", "hiera_b+", "sam2.1_hiera_base_plus.pt", 323_401_736,
           "good masks; best with a GPU", SAM2_1_URL, "sam2.1 hiera_b+"),
    _sized("SAM 2.1", "hiera_l", "sam2.1_hiera_large.pt", 897_787_592,
           "best masks; wants a GPU", SAM2_1_URL, "sam2.1 hiera_l"),
    _sized("MobileSAM", "vit_t", "mobile_sam.pt", 40_561_032,
           "fastest on a CPU (TinyViT encoder, SAM's decoder)", MOBILE_SAM_URL, "mobile_sam vit_t"),
    _sized("EfficientViT-SAM", "l0", "efficientvit_sam_l0.pt", 139_264_352,
           "fast on a CPU, SAM-like masks (512 px encoder)", EFFICIENTVIT_SAM_URL, "efficientvit_sam l0"),
    _sized("EfficientViT-SAM", "l1", "efficientvit_sam_l1.pt", 190_730_704,
           "fast, SAM-like masks (512 px encoder)", EFFICIENTVIT_SAM_URL, "efficientvit_sam l1"),
    _sized("EfficientViT-SAM", "l2", "efficientvit_sam_l2.pt", 245_489_248,
           "better masks than L0/L1 (512 px encoder)", EFFICIENTVIT_SAM_URL, "efficientvit_sam l2"),
    _sized("EfficientViT-SAM", "xl0", "efficientvit_sam_xl0.pt", 468_047_264,
           "SAM-quality masks, 1024 px encoder; best with a GPU", EFFICIENTVIT_SAM_URL, "efficientvit_sam xl0"),
    _sized("EfficientViT-SAM", "xl1", "efficientvit_sam_xl1.pt", 813_764_272,
           "the best EfficientViT masks; wants a GPU", EFFICIENTVIT_SAM_URL, "efficientvit_sam xl1"),
    _sized("HQ-SAM", "vit_tiny", "sam_hq_vit_tiny.pth", 42_355_080,
           "sharper boundaries, light enough for a CPU", HQ_SAM_URL, "hq_sam vit_tiny"),
    _sized("HQ-SAM", "vit_b", "sam_hq_vit_b.pth", 379_227_328,
           "sharper boundaries on thin structures", HQ_SAM_URL, "hq_sam vit_b"),
    _sized("HQ-SAM", "vit_l", "sam_hq_vit_l.pth", 1_254_705_344,
           "sharper boundaries; slower", HQ_SAM_URL, "hq_sam vit_l"),
    _sized("HQ-SAM", "vit_h", "sam_hq_vit_h.pth", 2_570_745_024,
           "the sharpest boundaries; wants a GPU", HQ_SAM_URL, "hq_sam vit_h"),
)


def by_size(size: int, entries: tuple[CheckpointEntry, ...] = CATALOG) -> CheckpointEntry | None:
    """The SHA-256 entry whose file has exactly ``size`` bytes (a cheap first test of a local file)."""
    return next((e for e in entries if e.exact_size and e.size == size), None)


def sized_like(size: int, entries: tuple[CheckpointEntry, ...] = CATALOG) -> tuple[CheckpointEntry, ...]:
    """The entries without a SHA-256 that a file of ``size`` bytes may be (loading tells which)."""
    return tuple(e for e in entries if not e.exact_size and e.size_matches(size))


def format_bytes(count: float) -> str:
    """``375042383`` -> ``"375 MB"`` (decimal units, as download pages use)."""
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if count >= scale:
            value = count / scale
            return f"{value:.1f} {unit}" if value < 10 else f"{value:.0f} {unit}"
    return f"{int(count)} B"
