"""Segment everything: sam_core's generator against Meta's, same weights, same image, one run.

Both generators embed each crop themselves; the time of their ``set_image`` calls is
measured and subtracted, so the figures are the *generator part* (prompting, scoring,
NMS, masks and RLEs). Quality filters are off (``pred_iou_thresh`` and
``stability_score_thresh`` 0), so every candidate reaches NMS and both generators do
all the full-resolution work they would ever do. The weights are seeded ones with
:func:`sam_core.testing.blob_state_dict` applied (masks are blobs, not speckle), in front of
vit_b's encoder or, with ``encoder_size="tiny"``, a shallow one (:data:`sam_core.testing.TINY_CONFIG`):
the decoder, all that the generator part runs, is the same in both. Behind vit_b's deep seeded
encoder every mask's box spans the image (NMS keeps one); behind the tiny one the masks are
small and dozens survive, which is the check that the two generators keep the same masks.

Also reports how sam_core's cost grows with the grid (points_per_side) and with a crop
layer, and how the result matches: the share of the reference's masks that one of ours
matches at IoU >= 0.99, and the two counts.
"""
from __future__ import annotations

import time
from typing import Callable, Dict, List, Optional

import numpy as np
import torch

from ..automatic_mask_generator import SamAutomaticMaskGenerator
from ..build import build_sam
from ..config import KNOWN_VARIANTS
from ..testing import TINY_CONFIG, blob_state_dict, random_state_dict, synthetic_photo
from ..utils.rle import rle_to_mask

FILTERS_OFF = dict(pred_iou_thresh=0.0, stability_score_thresh=0.0)


def timed_generate(generator, image: np.ndarray) -> tuple[list, float, float]:
    """Run ``generator.generate(image)``; returns (records, total s, of which set_image s)."""
    predictor = generator.predictor
    set_image = predictor.set_image
    encoder = [0.0]

    def timed_set_image(*args, **kwargs):
        start = time.perf_counter()
        set_image(*args, **kwargs)
        encoder[0] += time.perf_counter() - start

    predictor.set_image = timed_set_image
    try:
        start = time.perf_counter()
        records = generator.generate(image)
        total = time.perf_counter() - start
    finally:
        del predictor.set_image  # back to the class's method
    return records, total, encoder[0]


def match_masks(ours: List[dict], theirs: List[dict]) -> Dict[str, float]:
    """For each of ``theirs``, the best mask IoU among ``ours`` whose box overlaps (uncompressed RLEs)."""
    if not theirs:
        return {"matched_at_0.99": 1.0 if not ours else 0.0, "min_best_iou": 1.0}
    our_masks = [rle_to_mask(r["segmentation"]).reshape(-1) for r in ours]
    our_boxes = np.array([r["bbox"] for r in ours], dtype=np.float64).reshape(-1, 4)
    best = []
    for record in theirs:
        mask = rle_to_mask(record["segmentation"]).reshape(-1)
        x, y, w, h = record["bbox"]
        near = np.flatnonzero(
            (np.abs(our_boxes[:, 0] - x) <= 2) & (np.abs(our_boxes[:, 1] - y) <= 2)
            & (np.abs(our_boxes[:, 2] - w) <= 4) & (np.abs(our_boxes[:, 3] - h) <= 4)
        )  # fmt: skip
        ious = [0.0]
        for i in near:
            union = np.count_nonzero(mask | our_masks[i])
            ious.append(1.0 if union == 0 else np.count_nonzero(mask & our_masks[i]) / union)
        best.append(max(ious))
    best = np.array(best)
    return {"matched_at_0.99": round(float((best >= 0.99).mean()), 4), "min_best_iou": round(float(best.min()), 4)}


def run_generator_bench(
    image_size: tuple[int, int],
    grids: List[int],
    crop_layers: List[int],
    reference_cases: List[tuple[int, int]],
    box_nms_thresh: float,
    reference=None,
    log: Optional[Callable[[str], None]] = None,
    encoder_size: str = "vit_b",
) -> dict:
    """Time sam_core for every (grid, crop layers) pair, and the reference for ``reference_cases``.

    Returns a report dict: per case seconds (generator part and encoder), mask counts,
    and, where the reference ran, the speedup and the mask match.
    """
    log = log or (lambda text: None)
    config = TINY_CONFIG if encoder_size == "tiny" else KNOWN_VARIANTS["vit_b"]
    state = blob_state_dict(random_state_dict(config, seed=0))
    ours_sam = build_sam(config)
    ours_sam.load_state_dict(state)
    image = synthetic_photo(*image_size, seed=1)
    ref_sam = None
    if reference is not None and reference_cases:
        from .reference import build_reference_sam

        ref_sam = build_reference_sam(config, state)
    cases = []
    for crop_n_layers in crop_layers:
        for grid in grids:
            params = dict(points_per_side=grid, crop_n_layers=crop_n_layers, crop_n_points_downscale_factor=2,
                          box_nms_thresh=box_nms_thresh, **FILTERS_OFF)  # fmt: skip
            generator = SamAutomaticMaskGenerator(ours_sam, output_mode="uncompressed_rle", **params)
            with torch.inference_mode():
                records, total, encoder = timed_generate(generator, image)
            case = {"points_per_side": grid, "crop_n_layers": crop_n_layers, "prompts": _prompts(generator, image),
                    "sam_core_s": round(total - encoder, 2), "sam_core_encoder_s": round(encoder, 2),
                    "sam_core_masks": len(records)}  # fmt: skip
            log(f"generator sam_core {grid}x{grid} crops={crop_n_layers}: {case['sam_core_s']} s")
            if ref_sam is not None and (grid, crop_n_layers) in reference_cases:
                from segment_anything.automatic_mask_generator import SamAutomaticMaskGenerator as Reference

                ref_generator = Reference(ref_sam, output_mode="uncompressed_rle", **params)
                with torch.no_grad():
                    ref_records, ref_total, ref_encoder = timed_generate(ref_generator, image)
                case.update(reference_s=round(ref_total - ref_encoder, 2), reference_encoder_s=round(ref_encoder, 2),
                            reference_masks=len(ref_records),
                            speedup=round((ref_total - ref_encoder) / max(total - encoder, 1e-9), 2),
                            **match_masks(records, ref_records))  # fmt: skip
                log(f"generator reference {grid}x{grid} crops={crop_n_layers}: {case['reference_s']} s")
            cases.append(case)
    for crop_n_layers in crop_layers:
        rows = [c for c in cases if c["crop_n_layers"] == crop_n_layers]
        for row in rows:
            row["ms_per_prompt"] = round(1000 * row["sam_core_s"] / max(1, row["prompts"]), 2)
    return {
        "what": "segment everything, generator part (without the encoder), seeded blob weights, "
                "quality filters off, crop layer 1 at points_per_side / 2",
        "encoder": "tiny (embed 64, depth 2) before vit_b's decoder" if encoder_size == "tiny" else "vit_b",
        "image": list(image_size),
        "box_nms_thresh": box_nms_thresh,
        "cases": cases,
        "scaling": "time per prompt should stay flat as the grid grows (cost linear in prompts)",
    }


def _prompts(generator: SamAutomaticMaskGenerator, image: np.ndarray) -> int:
    from ..utils.generation import generate_crop_boxes

    boxes, layers = generate_crop_boxes(image.shape[:2], generator.crop_n_layers, generator.crop_overlap_ratio)
    return int(sum(len(generator.point_grids[layer]) for layer in layers))
