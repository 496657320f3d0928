"""Bench rows for MobileSAM, HQ-SAM and EfficientViT-SAM, each beside its official code in the same run.

For every variant: the encoder (``set_image`` on the photo, fp32 and the reduced
precision), the click-to-mask path (``predict_candidates`` plus the best candidate at full
resolution) and ``predict()`` for sam_core, and ``set_image`` / ``predict`` of the family's
official predictor on the same seeded weights (the official files' layout).
"""
from __future__ import annotations

import torch

from ..build import reduced_precision
from ..config import KNOWN_VARIANTS
from ..families.hq_sam import HQSamConfig
from ..modeling.efficientvit import EFFICIENTVIT_SAM_VARIANTS
from ..modeling.tiny_vit_config import MOBILE_SAM_TINY_VIT
from ..predictor import SamPredictor
from ..testing import MOBILE_SAM_CONFIG, build_network, random_family_state_dict

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


def run_variant(variant: str, report: dict, args, device, image, prompts, timers) -> None:
    """Append the variant's encoder rows to ``report["encoder"]`` and its click rows to
    ``report["clicks"]``. ``timers``: (time_encoder, time_clicks, percentiles) of the v1 bench."""
    time_encoder, time_clicks, percentiles = timers
    config = LIGHT_VARIANTS[variant]
    state = random_family_state_dict(config, seed=0)
    clicks = report.setdefault("clicks", [])
    for precision in ["fp32"] + [p for p in args.precisions if p != "fp32"]:
        dtype = torch.float32 if precision == "fp32" else (reduced_precision(device) or torch.float32)
        if precision != "fp32" and dtype == torch.float32:
            continue
        sam = build_network(config)
        sam.load_state_dict(state)
        sam.to(device)
        sam.image_encoder.to(dtype)
        predictor = SamPredictor(sam)
        seconds = time_encoder(predictor, image, args.repeats)
        report["encoder"].append({"variant": variant, "precision": str(dtype).replace("torch.", ""),
                                  "implementation": "sam_core", "seconds": round(min(seconds), 3),
                                  "all_seconds": [round(s, 3) for s in seconds]})
        if precision == "fp32":
            time_clicks(predictor, prompts[:5], interactive=True)  # warm-up
            clicks.append({"variant": variant, "implementation": "sam_core", "what": "click_to_mask",
                           **percentiles(time_clicks(predictor, prompts, interactive=True))})
            clicks.append({"variant": variant, "implementation": "sam_core", "what": "predict",
                           **percentiles(time_clicks(predictor, prompts, interactive=False))})
        del sam, predictor
    if args.no_reference:
        return
    reference = reference_predictor(config, state)
    if reference is None:
        return
    reference.model.to(device)
    with torch.no_grad():
        seconds = time_encoder(reference, image, args.repeats)
        report["encoder"].append({"variant": variant, "precision": "float32", "implementation": "reference",
                                  "seconds": round(min(seconds), 3), "all_seconds": [round(s, 3) for s in seconds]})
        time_clicks(reference, prompts[:5], interactive=False)
        clicks.append({"variant": variant, "implementation": "reference", "what": "predict",
                       **percentiles(time_clicks(reference, prompts, interactive=False))})


def click_ratios(report: dict) -> dict:
    """Reference ``predict`` p50 over sam_core's click-to-mask and ``predict`` p50, per variant."""
    rows = {(c["variant"], c["implementation"], c["what"]): c["p50"] for c in report.get("clicks", [])}
    ratios = {}
    for (variant, impl, what), p50 in rows.items():
        ref = rows.get((variant, "reference", "predict"))
        if impl == "sam_core" and ref:
            ratios[f"{variant}_{what}_p50_speedup_vs_reference_predict"] = round(ref / p50, 2)
    return ratios
