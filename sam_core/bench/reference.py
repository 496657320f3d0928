"""Meta's reference ``segment_anything`` (PyPI 1.0), for the bench and the parity tests.

The reference imports four torchvision functions at import time, and no CPU build of
torchvision exists for the torch used here. Unless a torchvision is already
imported, :func:`load_reference` registers a minimal stand-in first:

* ``resize`` / ``to_pil_image`` via Pillow (what torchvision itself does for PIL
  input: an antialiased bilinear resize),
* ``batched_nms`` / ``box_area`` in plain torch (greedy NMS, XYXY boxes).

Use :func:`load_reference` and never import ``segment_anything`` directly. It needs the
``bench`` extra (``segment-anything`` and Pillow); without it, it raises ImportError.
"""
from __future__ import annotations

import sys
import types

import numpy as np
import torch


def _to_pil_image(pic: np.ndarray):
    from PIL import Image

    return Image.fromarray(np.ascontiguousarray(pic))


def _resize(img, size):
    """torchvision's PIL path: ``size`` is (h, w); bilinear PIL resize (antialiased)."""
    from PIL import Image

    h, w = size
    return img.resize((w, h), Image.BILINEAR)


def _box_area(boxes: torch.Tensor) -> torch.Tensor:
    return (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])


def reference_nms(boxes: torch.Tensor, scores: torch.Tensor, iou_threshold: float) -> torch.Tensor:
    order = torch.argsort(scores, descending=True, stable=True)
    boxes = boxes[order].double()
    areas = _box_area(boxes)
    keep = []
    suppressed = torch.zeros(len(order), dtype=torch.bool)
    for i in range(len(order)):
        if suppressed[i]:
            continue
        keep.append(i)
        lt = torch.maximum(boxes[i, :2], boxes[i + 1 :, :2])
        rb = torch.minimum(boxes[i, 2:], boxes[i + 1 :, 2:])
        wh = (rb - lt).clamp(min=0)
        inter = wh[:, 0] * wh[:, 1]
        iou = inter / (areas[i] + areas[i + 1 :] - inter)
        suppressed[i + 1 :] |= iou > iou_threshold
    return order[torch.tensor(keep, dtype=torch.long)]


def reference_batched_nms(boxes, scores, idxs, iou_threshold):
    if boxes.numel() == 0:
        return torch.empty((0,), dtype=torch.int64)
    offsets = idxs.to(boxes) * (boxes.max() + 1)
    return reference_nms(boxes + offsets[:, None], scores, iou_threshold)


def _install_torchvision_stand_in() -> None:
    if "torchvision" in sys.modules:
        return
    tv = types.ModuleType("torchvision")
    ops = types.ModuleType("torchvision.ops")
    boxes = types.ModuleType("torchvision.ops.boxes")
    transforms = types.ModuleType("torchvision.transforms")
    functional = types.ModuleType("torchvision.transforms.functional")
    boxes.batched_nms = reference_batched_nms
    boxes.box_area = _box_area
    functional.resize = _resize
    functional.to_pil_image = _to_pil_image
    tv.ops, ops.boxes, tv.transforms, transforms.functional = ops, boxes, transforms, functional
    for name, mod in {
        "torchvision": tv,
        "torchvision.ops": ops,
        "torchvision.ops.boxes": boxes,
        "torchvision.transforms": transforms,
        "torchvision.transforms.functional": functional,
    }.items():
        sys.modules[name] = mod


def load_reference():
    """Return the reference ``segment_anything`` package."""
    _install_torchvision_stand_in()
    import segment_anything

    return segment_anything


def build_reference_sam(config, state_dict):
    """Build a reference ``Sam`` with the encoder config ``config`` and load ``state_dict`` strictly.

    ``config`` has ``embed_dim``, ``depth``, ``num_heads``, ``global_attn_indexes``.
    """
    load_reference()
    from segment_anything.build_sam import _build_sam

    sam = _build_sam(
        encoder_embed_dim=config.embed_dim,
        encoder_depth=config.depth,
        encoder_num_heads=config.num_heads,
        encoder_global_attn_indexes=list(config.global_attn_indexes),
        checkpoint=None,
    )
    sam.load_state_dict(state_dict, strict=True)
    return sam.eval()
