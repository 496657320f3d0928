"""Longer user-facing texts of the labelling workflow, as HTML for the message bar."""
from __future__ import annotations

from app.services.checkpoints.catalog import CATALOG, format_bytes

_FIRST, *_OTHERS = CATALOG  # vit_b: the smallest and fastest

CHECKPOINT_HELP = (
    "<b>No SAM checkpoint loaded.</b> Click-to-mask needs Meta's Segment Anything (v1) weights. "
    "<b>File &gt; Get a SAM model…</b> downloads and checks one for you; or "
    f"download <code>{_FIRST.file_name}</code> ({format_bytes(_FIRST.size)}, fastest; "
    f"<a href='{_FIRST.url()}'>direct link</a>), "
    + " or ".join(f"<code>{entry.file_name}</code>" for entry in _OTHERS) + " from "
    "<a href='https://github.com/facebookresearch/segment-anything#model-checkpoints'>"
    "github.com/facebookresearch/segment-anything</a>, then use File &gt; Open checkpoint… (Ctrl+Shift+O) "
    "or start with <code>--checkpoint PATH</code>. Meanwhile you can browse images, drag boxes to make "
    "rectangle annotations, and export."
)

CHECKPOINT_HINT = (
    " Official SAM v1 checkpoints: <a href='https://github.com/facebookresearch/segment-anything"
    "#model-checkpoints'>facebookresearch/segment-anything</a>."
)
