"""Maskwright's Segment Anything engine: PyTorch and numpy only.

The names below are imported when first used (PEP 562), so that the parts without
torch (``sam_core.limits``, ``sam_core.image_header``) can be imported by the
torch-free document layer of the app: ``import sam_core.limits`` runs this file.
"""
from __future__ import annotations

import importlib
from typing import Any

# name -> the submodule that defines it
_EXPORTS = {
    "GenerationCancelled": ".automatic_mask_generator",
    "SamAutomaticMaskGenerator": ".automatic_mask_generator",
    "CheckpointError": ".build",
    "build_sam": ".build",
    "choose_device": ".build",
    "load_sam": ".build",
    "reduced_precision": ".build",
    "EmbeddingCache": ".embedding_cache",
    "content_hash": ".embedding_cache",
    "KNOWN_VARIANTS": ".config",
    "SamConfig": ".config",
    "infer_config": ".config",
    "ImageEmbedding": ".families",
    "Sam": ".modeling",
    "SamPredictor": ".predictor",
    "build_sam_vit_b": ".registry",
    "build_sam_vit_h": ".registry",
    "build_sam_vit_l": ".registry",
    "sam_model_registry": ".registry",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'sam_core' has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
