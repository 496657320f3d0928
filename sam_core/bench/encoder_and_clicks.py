"""The SAM v1 bench: encoder, clicks, ``predict()`` and the embedding cache, beside Meta's reference.

Prints one JSON report: encoder seconds per variant and precision, click-to-mask
p50/p95 over varied prompts, embedding-cache save/restore times, peak memory,
and, when the reference ``segment_anything`` can be imported, its figures from
the same run and the ratios. Absolute times on shared machines drift from run
to run; the ratios are what to compare.

Weights are seeded random ones in Meta's format unless ``--checkpoint`` is given. The other
families' variants (SAM 2's ``hiera_*``, ``mobile_sam``, ``hq_vit_*``, ``efficientvit_*``) are
timed by :mod:`.sam2_encoder_and_clicks` and :mod:`.families_light` beside their official code.
"""
from __future__ import annotations

import argparse
import platform
import resource
import sys
import tempfile
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import torch

from ..build import build_sam, choose_device, load_sam, reduced_precision
from ..config import KNOWN_VARIANTS
from ..embedding_cache import EmbeddingCache, content_hash
from ..predictor import SamPredictor
from ..runtime import configure_threads
from ..families.sam2 import HIERA_VARIANTS
from ..testing import random_state_dict, synthetic_photo
from ..utils import gemm
from .families_light import LIGHT_VARIANTS
from .families_light import run_variant as run_light_variant
from . import sam2_encoder_and_clicks
from .reference import load_reference


def varied_prompts(h: int, w: int, count: int, seed: int = 0) -> list[dict]:
    """``count`` prompts in the original frame: points (1-4, mixed labels), boxes, box+point,
    half of them followed up with the previous best low-res logits as ``mask_input``."""
    rng = np.random.default_rng(seed)
    prompts = []
    for i in range(count):
        kind = i % 4
        prompt: dict = {}
        if kind in (0, 1, 3):
            n = 1 if kind == 0 else int(rng.integers(2, 5))
            prompt["point_coords"] = rng.uniform([0, 0], [w, h], size=(n, 2))
            labels = rng.integers(0, 2, n)
            labels[0] = 1
            prompt["point_labels"] = labels
        if kind in (2, 3):
            corners = np.sort(rng.uniform(0, [w, h, w, h]).reshape(2, 2), axis=0)
            prompt["box"] = corners.reshape(-1)
        prompt["multimask_output"] = kind == 0
        prompt["follow_up"] = bool(i % 2)
        prompts.append(prompt)
    return prompts


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def _percentiles(ms: list[float]) -> dict:
    return {"p50": round(float(np.percentile(ms, 50)), 2), "p95": round(float(np.percentile(ms, 95)), 2), "n": len(ms)}


def time_encoder(predictor, image: np.ndarray, repeats: int) -> list[float]:
    device = torch.device(predictor.device)
    seconds = []
    for _ in range(repeats):
        _sync(device)
        start = time.perf_counter()
        predictor.set_image(image)
        _sync(device)
        seconds.append(time.perf_counter() - start)
    return seconds


def time_clicks(predictor, prompts: list[dict], interactive: bool) -> list[float]:
    """Milliseconds per prompt. Interactive: ``predict_candidates`` + the best candidate at
    full resolution. Otherwise ``predict``: every candidate at full resolution."""
    device = torch.device(predictor.device)
    previous = None
    times = []
    for prompt in prompts:
        args = _plain(prompt)
        if prompt["follow_up"] and previous is not None:
            args["mask_input"] = previous
        _sync(device)
        start = time.perf_counter()
        if interactive:
            candidates = predictor.predict_candidates(**args)
            candidates.mask(candidates.best)
            low_res, best = candidates.low_res_logits, candidates.best
        else:
            _, iou, low_res = predictor.predict(**args)
            best = int(np.argmax(iou))
        _sync(device)
        times.append((time.perf_counter() - start) * 1000)
        previous = low_res[best : best + 1]
    return times


def _one_point_prompts(h: int, w: int, count: int, multimask: bool) -> list[dict]:
    rng = np.random.default_rng(7)
    points = rng.uniform([0, 0], [w, h], size=(count, 1, 2))
    return [{"point_coords": p, "point_labels": np.array([1]), "multimask_output": multimask, "follow_up": False}
            for p in points]  # fmt: skip


def time_predict_by_masks(predictor, h: int, w: int, count: int) -> dict:
    """``predict()`` on one-point prompts, three masks (``multimask_output=True``) and one, apart."""
    out = {}
    for case, multimask in (("three_masks", True), ("single_mask", False)):
        prompts = _one_point_prompts(h, w, count, multimask)
        time_clicks(predictor, prompts[:3], interactive=False)
        out[case] = _percentiles(time_clicks(predictor, prompts, interactive=False))
    return out


def time_predict_by_masks_in_turn(ours, reference, h: int, w: int, count: int, block: int = 5) -> tuple[dict, dict]:
    """:func:`time_predict_by_masks` for two predictors taking turns, ``block`` prompts each
    (after one untimed call, so each turn starts with its own data in cache, as a user's
    clicks do), so that a shared host's drift (often +-30% over a minute here) falls on both
    alike. Returns (ours, reference)."""
    out: tuple[dict, dict] = ({}, {})
    for case, multimask in (("three_masks", True), ("single_mask", False)):
        prompts = _one_point_prompts(h, w, count, multimask)
        times: tuple[list, list] = ([], [])
        for first in range(0, len(prompts), block):
            turn = prompts[first : first + block]
            for predictor, timed in zip((ours, reference), times):
                time_clicks(predictor, turn[:1], interactive=False)
                timed += time_clicks(predictor, turn, interactive=False)
        for side, timed in zip(out, times):
            side[case] = {**_percentiles(timed), "timed": f"in turns of {block} prompts with the other implementation"}
    return out


def time_predict_torch_boxes(predictor, h: int, w: int, count: int = 64, repeats: int = 2) -> dict:
    """``predict_torch`` with ``count`` boxes at once (the notebook's batched boxes), one mask
    each and three each: best of ``repeats``, in ms."""
    rng = np.random.default_rng(11)
    corners = np.sort(rng.uniform(0, [w, h], size=(count, 2, 2)), axis=1).reshape(count, 4)
    boxes = predictor.transform.apply_boxes_torch(torch.as_tensor(corners, dtype=torch.float), (h, w))
    out = {"boxes": count}
    for case, multimask in (("single_mask", False), ("three_masks", True)):
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            with torch.no_grad():
                predictor.predict_torch(None, None, boxes=boxes, multimask_output=multimask)
            times.append((time.perf_counter() - start) * 1000)
        out[case] = round(min(times), 1)
    return out


def time_clicks_by_points(predictor, h: int, w: int, counts=(1, 2, 4, 8, 16), repeats: int = 10) -> dict:
    """Interactive click p50 against the number of points in the prompt (it should stay flat)."""
    rng = np.random.default_rng(3)
    out = {}
    for n in counts:
        prompts = [{"point_coords": rng.uniform([0, 0], [w, h], size=(n, 2)), "point_labels": np.ones(n, int),
                    "follow_up": False} for _ in range(repeats)]  # fmt: skip
        out[str(n)] = _percentiles(time_clicks(predictor, prompts, interactive=True))["p50"]
    return out


def time_encoder_by_size(config, state, checkpoint, device, dtype, sizes) -> dict:
    """Encoder seconds against the image size: flat, as every image is resized to 1024."""
    model = _build(config, state, checkpoint, device, dtype)
    predictor = SamPredictor(model)
    out = {}
    for h, w in sizes:
        image = synthetic_photo(h, w, seed=2)
        out[f"{h}x{w}"] = round(min(time_encoder(predictor, image, 1)), 3)
    return out


def load_reference_package():
    """Meta's ``segment_anything`` (through the torchvision stand-in), or None when not installed."""
    try:
        return load_reference()
    except ImportError:
        return None


def peak_rss_mb() -> float:
    scale = 1 if sys.platform == "darwin" else 1024  # ru_maxrss: bytes on macOS, KiB on Linux
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale / 2**20, 1)


def masks_iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.logical_or(a, b).sum()
    return 1.0 if union == 0 else float(np.logical_and(a, b).sum() / union)


def machine_header(args: argparse.Namespace) -> dict:
    """Date, machine and image of a report."""
    threads = configure_threads(args.threads)
    device = choose_device(args.device)
    return {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d"),
        "machine": {
            "processor": platform.processor() or platform.machine(),
            "cpu": _cpu_name(),
            "threads": threads,
            "device": str(device),
            "gpu": torch.cuda.get_device_name() if device.type == "cuda" else None,
            "torch": torch.__version__,
            "cpu_fp32_gemm": gemm.cpu_backend(),  # which library the fp32 products ran on
        },
        "image": list(args.image_size),
        "weights": "checkpoint" if args.checkpoint else "seeded random (Meta's format)",
    }


def run(args: argparse.Namespace) -> dict:
    device = choose_device(args.device)
    h, w = args.image_size
    image = synthetic_photo(h, w, seed=1)
    prompts = varied_prompts(h, w, args.clicks)
    report = machine_header(args)
    report["encoder"] = []
    reference = None if args.no_reference else load_reference_package()
    first_v1 = next((v for v in args.variants if v in KNOWN_VARIANTS), None)
    for variant in args.variants:
        if variant in LIGHT_VARIANTS:
            run_light_variant(variant, args, report, device, image, prompts, _Helpers)
            continue
        if variant in HIERA_VARIANTS:
            sam2_encoder_and_clicks.run_variant(variant, args, report, device, image, prompts, _Helpers)
            continue
        config = KNOWN_VARIANTS[variant]
        state = None if args.checkpoint else random_state_dict(config, seed=0)
        precisions = ["fp32"] + [p for p in args.precisions if p != "fp32"]
        fp32_masks = None
        for precision in precisions:
            dtype = torch.float32 if precision == "fp32" else (reduced_precision(device) or torch.float32)
            if precision != "fp32" and dtype == torch.float32:
                continue
            model = _build(config, state, args.checkpoint, device, dtype)
            predictor = SamPredictor(model)
            seconds = time_encoder(predictor, image, args.repeats)
            entry = {"variant": variant, "precision": str(dtype).replace("torch.", ""), "implementation": "sam_core",
                     "seconds": round(min(seconds), 3), "all_seconds": [round(s, 3) for s in seconds]}
            masks = [predictor.predict_candidates(**_plain(p)).mask(0) for p in prompts[:12]]
            if fp32_masks is None:
                fp32_masks = masks
            else:
                ious = [masks_iou(a, b) for a, b in zip(fp32_masks, masks)]
                entry["mask_iou_vs_fp32"] = {"min": round(min(ious), 4), "mean": round(float(np.mean(ious)), 4)}
            if precision == "fp32" and variant == first_v1:
                time_clicks(predictor, prompts[:5], interactive=True)  # warm-up
                report["click_to_mask_ms"] = _percentiles(time_clicks(predictor, prompts, interactive=True))
                report["click_to_mask_ms"]["what"] = "predict_candidates + best candidate at full resolution"
                report["predict_ms"] = _percentiles(time_clicks(predictor, prompts, interactive=False))
                report["predict_ms"]["what"] = "predict(): the bench's prompt mix (one multimask per three)"
                if reference is not None and state is not None:
                    with _reference_predictor(reference, variant, state, device, image) as theirs:
                        report["predict_by_masks_ms"], report["reference_predict_by_masks_ms"] = (
                            time_predict_by_masks_in_turn(predictor, theirs, h, w, args.clicks))
                else:
                    report["predict_by_masks_ms"] = time_predict_by_masks(predictor, h, w, args.clicks)
                report["click_by_points_ms"] = time_clicks_by_points(predictor, h, w)
                report["predict_torch_boxes_ms"] = time_predict_torch_boxes(predictor, h, w)
                report["embedding_cache"] = _time_cache(predictor, image)
            report["encoder"].append(entry)
            report["peak_rss_mb_sam_core"] = peak_rss_mb()
            if device.type == "cuda":
                entry["cuda_peak_mb"] = round(torch.cuda.max_memory_allocated() / 2**20, 1)
                torch.cuda.reset_peak_memory_stats()
            del model, predictor
        if variant == args.variants[0] and args.encoder_sizes:
            report["encoder_by_image_size_s"] = time_encoder_by_size(config, state, args.checkpoint, device,
                                                                     torch.float32, args.encoder_sizes)  # fmt: skip
        if reference is not None and (state is not None or args.checkpoint):
            _time_reference(reference, report, variant, config, state, args, device, image, prompts)
    _ratios(report)
    return report


def _plain(prompt: dict) -> dict:
    """A bench prompt without its ``follow_up`` flag: the keyword arguments of ``predict``."""
    return {k: v for k, v in prompt.items() if k != "follow_up"}


def _build(config, state, checkpoint, device, dtype):
    if checkpoint:
        return load_sam(checkpoint, device=device, dtype=dtype)
    model = build_sam(config)
    model.load_state_dict(state)
    model.checkpoint_id = "bench"
    model.to(device)
    model.image_encoder.to(dtype)
    return model


def _time_cache(predictor, image) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        cache = EmbeddingCache(folder)
        key = content_hash(image)
        start = time.perf_counter()
        path = cache.store_from(predictor, key)
        saved = time.perf_counter() - start
        restored = []
        for _ in range(5):
            fresh = SamPredictor(predictor.model)
            start = time.perf_counter()
            cache.restore_into(fresh, key)
            fresh.predict_candidates(point_coords=np.array([[10, 10]]), point_labels=np.array([1]))
            restored.append(time.perf_counter() - start)
        return {"save_ms": round(saved * 1000, 1), "restore_and_first_click_ms": round(min(restored) * 1000, 1),
                "bytes": path.stat().st_size}


def _reference_sam_predictor(reference, variant, state, device):
    """Meta's ``SamPredictor`` of ``variant`` with ``state`` loaded, on ``device``."""
    model = reference.sam_model_registry[variant](checkpoint=None)
    model.load_state_dict(state)
    model.to(device).eval()
    return reference.SamPredictor(model)


@contextmanager
def _reference_predictor(reference, variant, state, device, image):
    """The reference predictor of ``variant`` with ``state``, ``image`` set; freed on exit."""
    predictor = _reference_sam_predictor(reference, variant, state, device)
    with torch.no_grad():
        predictor.set_image(image)
        yield predictor
    del predictor


def _time_reference(reference, report, variant, config, state, args, device, image, prompts) -> None:
    from ..build import read_state_dict

    state = state if state is not None else read_state_dict(Path(args.checkpoint))
    predictor = _reference_sam_predictor(reference, variant, state, device)
    with torch.no_grad():
        seconds = time_encoder(predictor, image, args.repeats)
        report["encoder"].append({"variant": variant, "precision": "float32", "implementation": "reference",
                                  "seconds": round(min(seconds), 3), "all_seconds": [round(s, 3) for s in seconds]})
        if variant == next(v for v in args.variants if v in KNOWN_VARIANTS):
            time_clicks(predictor, prompts[:5], interactive=False)
            report["reference_predict_ms"] = _percentiles(time_clicks(predictor, prompts, interactive=False))
            h, w = image.shape[:2]
            if "reference_predict_by_masks_ms" not in report:
                report["reference_predict_by_masks_ms"] = time_predict_by_masks(predictor, h, w, args.clicks)
            report["reference_predict_torch_boxes_ms"] = time_predict_torch_boxes(predictor, h, w)
    report["peak_rss_mb_with_reference"] = peak_rss_mb()


def _ratios(report: dict) -> None:
    by_key = {(e["variant"], e["implementation"], e["precision"]): e["seconds"] for e in report["encoder"]}
    ratios = {}
    for (variant, impl, precision), seconds in by_key.items():
        ref = by_key.get((variant, "reference", "float32"))
        if impl == "sam_core" and ref:
            ratios[f"{variant}_encoder_{precision}_speedup_vs_reference_fp32"] = round(ref / seconds, 2)
    if "reference_predict_ms" in report:
        ref = report["reference_predict_ms"]["p50"]
        ratios["click_to_mask_p50_speedup_vs_reference_predict"] = round(ref / report["click_to_mask_ms"]["p50"], 2)
        ratios["predict_p50_speedup_vs_reference_predict"] = round(ref / report["predict_ms"]["p50"], 2)
    ours, ref = report.get("predict_torch_boxes_ms"), report.get("reference_predict_torch_boxes_ms")
    if ours and ref:
        for case in ("single_mask", "three_masks"):
            ratios[f"predict_torch_{ours['boxes']}_boxes_{case}_speedup_vs_reference"] = round(ref[case] / ours[case], 2)
    for case in ("three_masks", "single_mask"):
        ours, ref = report.get("predict_by_masks_ms", {}), report.get("reference_predict_by_masks_ms", {})
        if case in ours and case in ref:
            ratios[f"predict_{case}_p50_speedup_vs_reference"] = round(ref[case]["p50"] / ours[case]["p50"], 2)
    ratios.update(sam2_encoder_and_clicks.ratios(report))
    report["ratios"] = ratios


class _Helpers:
    """The timing helpers the family benches share."""

    time_clicks = staticmethod(time_clicks)
    percentiles = staticmethod(_percentiles)
    sync = staticmethod(lambda device: _sync(torch.device(device)))


def _cpu_name() -> str:
    """The CPU's model name, with its family and model numbers where /proc/cpuinfo has them
    (AMD's VMs say only "AMD EPYC"; family 25 is Zen 3/4, 26 Zen 5, whose fp32 rates differ)."""
    fields = {}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            fields.setdefault(key.strip(), value.strip())
            if key.strip() == "flags":
                break
    except OSError:
        return platform.processor()
    name = fields.get("model name") or platform.processor()
    if "cpu family" in fields:
        name += f" (family {fields['cpu family']}, model {fields.get('model', '?')})"
    return name
