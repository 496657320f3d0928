"""The layouts ``load_sam`` recognises, in the order it tries them: the families it builds,
and others it names only to refuse them plainly.

A layout's ``owns`` looks at key names alone; the first that owns a state_dict decides.
Families that share SAM v1's key groups (HQ-SAM, MobileSAM, ...) come before SAM v1.
"""
from __future__ import annotations

from typing import Collection, Union

from . import efficientvit_sam, hq_sam, mobile_sam, sam, sam2
from .base import Family, UnsupportedFamily


def _prefixed(*prefixes: str):
    return lambda keys: any(key.startswith(prefixes) for key in keys)


def _video_only(keys: Collection[str]) -> bool:
    return _prefixed("memory_attention.", "memory_encoder.")(keys) and not _prefixed("image_encoder.")(keys)


LAYOUTS: tuple[Union[Family, UnsupportedFamily], ...] = (
    UnsupportedFamily("SAM 3", _prefixed("detector.", "tracker.")),
    UnsupportedFamily("SAM 2 video-module (memory attention and encoder, no image encoder)", _video_only),
    UnsupportedFamily("EdgeSAM (RepViT encoder)", _prefixed("image_encoder.features.", "image_encoder.fuse_stage")),
    sam2.FAMILY,
    hq_sam.FAMILY,  # before MobileSAM: HQ-SAM's vit_tiny has TinyViT keys too
    mobile_sam.FAMILY,
    efficientvit_sam.FAMILY,
    sam.FAMILY,
)

FAMILIES: tuple[Family, ...] = tuple(layout for layout in LAYOUTS if isinstance(layout, Family))


def supported_titles() -> str:
    """The families ``load_sam`` builds, for messages: "SAM v1, SAM 2 / 2.1, ..."."""
    return ", ".join(family.title for family in FAMILIES)


def family_of(keys: Collection[str]) -> Family | UnsupportedFamily | None:
    """The first layout that owns these keys, or None."""
    keys = list(keys)
    return next((layout for layout in LAYOUTS if layout.owns(keys)), None)
