"""Bench rows for MobileSAM, HQ-SAM and EfficientViT-SAM, each beside its official code in the same run.

For every variant: the encoder (``set_image`` on the photo, fp32 and the reduced
precision), the click-to-mask path (``predict_candidates`` plus the best candidate at full
resolution) and ``predict()`` for sam_core, and ``set_image`` / ``predict`` of the family's
official predictor on the same weights: seeded ones in the official layout, or the
``--checkpoint`` file (of the single variant asked for).
"""
from __future__ import annotations

import torch

from pathlib import Path

from ..build import load_sam, read_state_dict, reduced_precision
from ..config import KNOWN_VARIANTS
from ..families.hq_sam import HQSamConfig
from ..modeling.efficientvit import EFFICIENTVIT_SAM_VARIANTS
from ..modeling.tiny_vit_config import MOBILE_SAM_TINY_VIT
from ..predictor import SamPredictor
from ..testing import MOBILE_SAM_CONFIG, build_network, random_family_state_dict
from .sam2_encoder_and_clicks import _time_encoder as time_encoder  # wall and CPU seconds, as SAM 2's rows

LIGHT_VARIANTS = {
    "mobile_sam": MOBILE_SAM_CONFIG,
    **{f"hq_{name}": HQSamConfig(KNOWN_VARIANTS[name]) for name in ("vit_b", "vit_l", "vit_h")},
    "hq_vit_tiny": HQSamConfig(MOBILE_SAM_TINY_VIT),
    **{f"efficientvit_{name}": config for name, config in EFFICIENTVIT_SAM_VARIANTS.items()},
}


def reference_predictor(config, state):
    """The family's official predictor around its official network, loaded with ``state``;
    None when the reference package is not installed."""
    from . import references_light as refs

    try:
        if isinstance(config, HQSamConfig):
            hq = refs.load_hq_reference()
            return hq.SamPredictor(refs.build_reference_hq_sam(config.encoder, state))
        if hasattr(config, "tiny_vit"):
            from .reference import load_reference

            return load_reference().SamPredictor(refs.build_reference_mobile_sam(config.tiny_vit, state))
        refs.load_efficientvit_reference()
        from efficientsam.models.efficientvit.sam import EfficientViTSamPredictor

        return EfficientViTSamPredictor(refs.build_reference_efficientvit_sam(config, state))
    except ImportError:
        return None


def run_variant(variant: str, args, report: dict, device, image, prompts, helpers) -> None:
    """Time ``variant`` (a key of LIGHT_VARIANTS) and its reference; entries go into ``report``:
    encoder rows (wall and CPU seconds) into ``encoder``, clicks into ``family_clicks[variant]``."""
    config = LIGHT_VARIANTS[variant]
    state = read_state_dict(Path(args.checkpoint)) if args.checkpoint else random_family_state_dict(config, seed=0)
    clicks = report.setdefault("family_clicks", {}).setdefault(variant, {})
    for precision in ["fp32"] + [p for p in args.precisions if p != "fp32"]:
        dtype = torch.float32 if precision == "fp32" else (reduced_precision(device) or torch.float32)
        if precision != "fp32" and dtype == torch.float32:
            continue
        if args.checkpoint:
            sam = load_sam(args.checkpoint, device=device, dtype=dtype)
        else:
            sam = build_network(config)
            sam.load_state_dict(state)
            sam.to(device)
            sam.image_encoder.to(dtype)
        predictor = SamPredictor(sam)
        entry = time_encoder(predictor, image, args.repeats, helpers)
        entry.update({"variant": variant, "precision": str(dtype).replace("torch.", ""), "implementation": "sam_core"})
        report["encoder"].append(entry)
        if precision == "fp32":
            helpers.time_clicks(predictor, prompts[:5], interactive=True)  # warm-up
            clicks["click_to_mask_ms"] = helpers.percentiles(helpers.time_clicks(predictor, prompts, interactive=True))
            clicks["predict_ms"] = helpers.percentiles(helpers.time_clicks(predictor, prompts, interactive=False))
        del sam, predictor
    reference = None if args.no_reference else reference_predictor(config, state)
    if reference is None:
        return
    reference.model.to(device)
    with torch.no_grad():
        entry = time_encoder(reference, image, args.repeats, helpers)
        entry.update({"variant": variant, "precision": "float32", "implementation": "reference"})
        report["encoder"].append(entry)
        helpers.time_clicks(reference, prompts[:5], interactive=False)
        clicks["reference_predict_ms"] = helpers.percentiles(helpers.time_clicks(reference, prompts, interactive=False))
    ref_p50 = clicks["reference_predict_ms"]["p50"]
    clicks["click_to_mask_p50_speedup_vs_reference_predict"] = round(ref_p50 / clicks["click_to_mask_ms"]["p50"], 2)
    clicks["predict_p50_speedup_vs_reference_predict"] = round(ref_p50 / clicks["predict_ms"]["p50"], 2)
