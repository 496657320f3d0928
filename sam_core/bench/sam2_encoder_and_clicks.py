"""The SAM 2 / 2.1 bench: encoder and clicks of sam_core beside the official ``sam2`` in one run.

For each Hiera variant: ``set_image`` seconds on the synthetic photo (sam_core in fp32
and in reduced precision, the reference in fp32), wall time and process CPU time (the
CPU time is steadier on a shared machine), the click-to-mask p50/p95 of sam_core's
interactive path and of ``predict()`` against the reference ``SAM2ImagePredictor.predict``
on the same prompts, and the ratios. Weights are seeded ones in the official layout
unless ``--checkpoint`` (a real SAM 2 file of the single variant) is given.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from ..build import load_sam, read_state_dict, reduced_precision
from ..families.sam2 import HIERA_VARIANTS, Sam2Config, build_sam2, network_weights
from ..predictor import SamPredictor
from ..testing import random_sam2_state_dict


def run_variant(variant: str, args: argparse.Namespace, report: dict, device, image, prompts, helpers) -> None:
    """Time ``variant`` (a key of HIERA_VARIANTS) and its reference; entries go into ``report``."""
    state = read_state_dict(Path(args.checkpoint)) if args.checkpoint else random_sam2_state_dict(
        Sam2Config("sam2.1", variant, HIERA_VARIANTS[variant]), seed=0)
    precisions = ["fp32"] + [p for p in args.precisions if p != "fp32"]
    for precision in precisions:
        dtype = torch.float32 if precision == "fp32" else (reduced_precision(device) or torch.float32)
        if precision != "fp32" and dtype == torch.float32:
            continue
        sam = _ours(variant, state, args.checkpoint, device, dtype)
        predictor = SamPredictor(sam)
        entry = _time_encoder(predictor, image, args.repeats, helpers)
        entry.update({"variant": variant, "precision": str(dtype).replace("torch.", ""), "implementation": "sam_core"})
        report["encoder"].append(entry)
        if precision == "fp32":
            helpers.time_clicks(predictor, prompts[:5], interactive=True)  # warm-up
            clicks = report.setdefault("sam2_clicks", {}).setdefault(variant, {})
            clicks["click_to_mask_ms"] = helpers.percentiles(helpers.time_clicks(predictor, prompts, interactive=True))
            clicks["predict_ms"] = helpers.percentiles(helpers.time_clicks(predictor, prompts, interactive=False))
        del sam, predictor
    reference = _reference(variant, state, args, device)
    if reference is None:
        return
    with torch.no_grad():
        entry = _time_encoder(reference, image, args.repeats, helpers)
        entry.update({"variant": variant, "precision": "float32", "implementation": "reference"})
        report["encoder"].append(entry)
        helpers.time_clicks(reference, prompts[:5], interactive=False)
        clicks = report["sam2_clicks"][variant]
        clicks["reference_predict_ms"] = helpers.percentiles(helpers.time_clicks(reference, prompts, interactive=False))
        ref_p50 = clicks["reference_predict_ms"]["p50"]
        clicks["click_to_mask_p50_speedup_vs_reference_predict"] = round(ref_p50 / clicks["click_to_mask_ms"]["p50"], 2)
        clicks["predict_p50_speedup_vs_reference_predict"] = round(ref_p50 / clicks["predict_ms"]["p50"], 2)


def _ours(variant, state, checkpoint, device, dtype):
    if checkpoint:
        return load_sam(checkpoint, device=device, dtype=dtype)
    sam = build_sam2(Sam2Config("sam2.1", variant, HIERA_VARIANTS[variant]))
    sam.load_state_dict(network_weights(state))
    sam.checkpoint_id = "bench"
    sam.to(device)
    sam.image_encoder.to(dtype)
    return sam


def _reference(variant, state, args, device):
    """The reference ``SAM2ImagePredictor`` on the same weights, or None without ``sam2``."""
    if args.no_reference:
        return None
    try:
        from .reference_sam2 import build_reference_sam2, reference_image_predictor

        config = Sam2Config("sam2.1" if "no_obj_embed_spatial" in state else "sam2", variant, HIERA_VARIANTS[variant])
        model = build_reference_sam2(config, state).to(device)
    except ImportError:
        return None
    return reference_image_predictor(model)


def _time_encoder(predictor, image: np.ndarray, repeats: int, helpers) -> dict:
    walls, cpus = [], []
    for _ in range(repeats):
        helpers.sync(predictor.device)
        cpu, wall = time.process_time(), time.perf_counter()
        predictor.set_image(image)
        helpers.sync(predictor.device)
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return {"seconds": round(min(walls), 3), "all_seconds": [round(s, 3) for s in walls],
            "cpu_seconds": round(min(cpus), 3)}


def ratios(report: dict) -> dict:
    """sam_core's encoder speed-ups over the reference (fp32), by wall and by CPU time."""
    found = {}
    by_key = {(e["variant"], e["implementation"], e["precision"]): e for e in report["encoder"] if "cpu_seconds" in e}
    for (variant, impl, precision), entry in by_key.items():
        ref = by_key.get((variant, "reference", "float32"))
        if impl == "sam_core" and ref:
            found[f"{variant}_encoder_{precision}_speedup_vs_reference_fp32"] = round(ref["seconds"] / entry["seconds"], 2)
            found[f"{variant}_encoder_{precision}_cpu_time_speedup_vs_reference_fp32"] = round(
                ref["cpu_seconds"] / entry["cpu_seconds"], 2)
    return found
