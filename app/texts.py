"""Longer user-facing texts of the labelling workflow, as HTML for the message bar."""
from __future__ import annotations

CHECKPOINT_HELP = (
    "<b>No SAM checkpoint loaded.</b> Click-to-mask needs Meta's Segment Anything (v1) weights. "
    "<b>File &gt; Get a SAM model…</b> downloads and checks one for you; or "
    "download <code>sam_vit_b_01ec64.pth</code> (375 MB, fastest; "
    "<a href='https://dl.fbaipublicfiles.com/segment_anything/sam_vit_b_01ec64.pth'>direct link</a>), "
    "<code>sam_vit_l_0b3195.pth</code> or <code>sam_vit_h_4b8939.pth</code> from "
    "<a href='https://github.com/facebookresearch/segment-anything#model-checkpoints'>"
    "github.com/facebookresearch/segment-anything</a>, then use File &gt; Open checkpoint… (Ctrl+Shift+O) "
    "or start with <code>--checkpoint PATH</code>. Meanwhile you can browse images, drag boxes to make "
    "rectangle annotations, and export."
)

CHECKPOINT_HINT = (
    " Official SAM v1 checkpoints: <a href='https://github.com/facebookresearch/segment-anything"
    "#model-checkpoints'>facebookresearch/segment-anything</a>."
)
