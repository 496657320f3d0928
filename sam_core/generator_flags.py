"""The automatic mask generator's settings as command-line flags, shared by
``python -m sam_core.amg`` and ``python -m sam_core.engine`` (same names, same meaning).

Each flag is a :class:`SamAutomaticMaskGenerator` argument (``--points-per-side`` is
``points_per_side``) with the same default. :func:`settings_hash` names one choice of
them, so an output written with other settings is never taken for a finished one.
"""
from __future__ import annotations

import argparse
import hashlib
import json
from typing import Any, Dict

#: Bumped when the JSON written for the same settings changes, so older outputs are redone.
OUTPUT_VERSION = 1

# (flag, type, default, help); defaults are SamAutomaticMaskGenerator's.
GENERATOR_FLAGS = (
    ("--points-per-side", int, 32, "grid points per image side (points_per_side**2 prompts)"),
    ("--points-per-batch", int, 64, "prompts decoded together; bounds memory"),
    ("--pred-iou-thresh", float, 0.88, "keep masks whose predicted IoU is above this (0 keeps all)"),
    ("--stability-score-thresh", float, 0.95, "keep masks at least this stable (0 keeps all)"),
    ("--stability-score-offset", float, 1.0, "logit shift used for the stability score"),
    ("--box-nms-thresh", float, 0.7, "box IoU above which the lower-scored mask of a crop is dropped"),
    ("--crop-n-layers", int, 0, "extra crop layers; layer i tiles the image with (2**i)**2 crops"),
    ("--crop-nms-thresh", float, 0.7, "box IoU for removing duplicates across crops"),
    ("--crop-overlap-ratio", float, 512 / 1500, "overlap of layer-1 crops, as a fraction of the short side"),
    ("--crop-n-points-downscale-factor", int, 1, "layer i uses points_per_side / factor**i per side"),
    ("--min-mask-region-area", int, 0, "fill holes and drop islands smaller than this many pixels"),
)  # fmt: skip


def add_generator_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``generator`` flag group to ``parser``."""
    group = parser.add_argument_group("generator")
    for flag, kind, default, text in GENERATOR_FLAGS:
        group.add_argument(flag, type=kind, default=default, help=f"{text} (default: {default:.4g})")


def generator_kwargs(args: argparse.Namespace) -> Dict[str, Any]:
    """The parsed generator flags as ``SamAutomaticMaskGenerator`` keyword arguments."""
    return {flag[2:].replace("-", "_"): getattr(args, flag[2:].replace("-", "_")) for flag, *_ in GENERATOR_FLAGS}


def settings_hash(kwargs: Dict[str, Any]) -> str:
    """16 hex digits naming the generator settings and the output version."""
    text = json.dumps({"output_version": OUTPUT_VERSION, **kwargs}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


__all__ = ["GENERATOR_FLAGS", "OUTPUT_VERSION", "add_generator_arguments", "generator_kwargs", "settings_hash"]
