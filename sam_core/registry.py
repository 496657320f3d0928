"""Meta's ``segment_anything`` entry points, so that scripts written for it run on ``sam_core``:
``sam_model_registry["vit_b"](checkpoint=path)`` and ``build_sam_vit_b/l/h(checkpoint=...)``.

As in Meta's package, each builder returns a ``Sam`` of that variant on the CPU, in float32 and
eval mode, with the checkpoint's weights when one is given (``"default"`` is vit_h). Unlike
Meta's, the checkpoint is read without unpickling code, and a file that is not a checkpoint of
that variant raises a :class:`~sam_core.build.CheckpointError` naming the file and the problem.
For the device and precision choices of the app, use :func:`sam_core.load_sam`.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, Dict, Optional

from .build import CheckpointError, build_sam, fingerprint, read_state_dict
from .config import KNOWN_VARIANTS, ConfigError, SamConfig, infer_config
from .modeling import Sam


def make_builder(config: SamConfig) -> Callable[..., Sam]:
    """A ``build(checkpoint=None) -> Sam`` for ``config``, like the registry's entries
    (for a shape that is not one of Meta's three)."""

    def build(checkpoint: Optional[str | os.PathLike] = None) -> Sam:
        return _build_variant(config, checkpoint)

    build.__doc__ = f"SAM {config.name}, with ``checkpoint``'s weights if given."
    return build


def _build_variant(config: SamConfig, checkpoint: Optional[str | os.PathLike]) -> Sam:
    variant = config.name
    sam = build_sam(config)
    sam.config = config
    if checkpoint is None:
        return sam
    path = Path(checkpoint)
    state_dict = read_state_dict(path)
    try:
        found = infer_config(state_dict)
    except ConfigError as exc:
        raise CheckpointError(f"{path.name}: not a SAM v1 checkpoint ({exc})") from None
    if found != config:
        raise CheckpointError(f"{path.name}: this is a {found.name} checkpoint, not {variant}")
    sam.load_state_dict(state_dict, strict=True)
    sam.checkpoint_path = str(path)
    sam.checkpoint_id = fingerprint(state_dict)
    return sam.eval()


def build_sam_vit_h(checkpoint: Optional[str | os.PathLike] = None) -> Sam:
    """SAM ViT-H (632M parameters), with ``checkpoint``'s weights if given."""
    return _build_variant(KNOWN_VARIANTS["vit_h"], checkpoint)


def build_sam_vit_l(checkpoint: Optional[str | os.PathLike] = None) -> Sam:
    """SAM ViT-L (308M parameters), with ``checkpoint``'s weights if given."""
    return _build_variant(KNOWN_VARIANTS["vit_l"], checkpoint)


def build_sam_vit_b(checkpoint: Optional[str | os.PathLike] = None) -> Sam:
    """SAM ViT-B (91M parameters), with ``checkpoint``'s weights if given."""
    return _build_variant(KNOWN_VARIANTS["vit_b"], checkpoint)


sam_model_registry: Dict[str, Callable[..., Sam]] = {
    "default": build_sam_vit_h,
    "vit_h": build_sam_vit_h,
    "vit_l": build_sam_vit_l,
    "vit_b": build_sam_vit_b,
}
