"""Longer user-facing texts of the labelling workflow, as HTML for the message bar."""
from __future__ import annotations

from app.services.checkpoints.catalog import CATALOG, format_bytes

_FIRST, *_OTHERS = (e for e in CATALOG if e.family == "SAM")  # vit_b: the smallest and fastest v1
_LIGHT = next(e for e in CATALOG if e.family == "MobileSAM")

CHECKPOINT_HELP = (
    "<b>No SAM checkpoint loaded.</b> Click-to-mask needs Segment Anything weights: SAM, SAM 2.1, "
    "MobileSAM, EfficientViT-SAM or HQ-SAM. <b>File &gt; Get a SAM model…</b> downloads and checks one for "
    f"you (on a CPU, <code>{_LIGHT.file_name}</code>, {_LIGHT.size_text}, is the fastest); or "
    f"download <code>{_FIRST.file_name}</code> ({format_bytes(_FIRST.size)}; "
    f"<a href='{_FIRST.url()}'>direct link</a>), "
    + " or ".join(f"<code>{entry.file_name}</code>" for entry in _OTHERS) + " from "
    "<a href='https://github.com/facebookresearch/segment-anything#model-checkpoints'>"
    "github.com/facebookresearch/segment-anything</a>, then use File &gt; Open checkpoint… (Ctrl+Shift+O) "
    "or start with <code>--checkpoint PATH</code>. Meanwhile you can browse images, drag boxes to make "
    "rectangle annotations, and export."
)

CHECKPOINT_HINT = (
    " Official checkpoints: File &gt; Get a SAM model…, or <a href='https://github.com/facebookresearch/"
    "segment-anything#model-checkpoints'>facebookresearch/segment-anything</a> (SAM v1), "
    "<a href='https://github.com/facebookresearch/sam2#model-description'>facebookresearch/sam2</a> (SAM 2.1)."
)
