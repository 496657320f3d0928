"""Dynamic int8 on the image encoder's linear layers, measured against bf16 and fp32.

``torch.ao.quantization.quantize_dynamic`` replaces every ``nn.Linear`` of the encoder (qkv,
attention output, the MLPs: nearly all of its FLOPs) by one that quantises its input per
call and multiplies in int8 (oneDNN / fbgemm use VNNI and AMX where the CPU has them).
Quantised layers have no float ``weight`` for the encoder's in-place inference path, so the
int8 encoder runs the plain module path; bf16 is timed on that same path too, and on the
app's path, so that the comparison is like for like.

The gate for offering int8 as a precision: full-resolution masks (``predict``, all three
candidates, over varied prompts on a real-looking photo) keep IoU >= 0.97 against fp32 on
seeded weights, *and* the int8 encoder is faster than the bf16 one.
"""
from __future__ import annotations

import copy
import time
import warnings

import numpy as np
import torch

from ..build import build_sam, reduced_precision
from ..config import KNOWN_VARIANTS
from ..predictor import SamPredictor
from ..testing import random_state_dict, synthetic_photo

IOU_GATE = 0.97


def _encode_seconds(predictor: SamPredictor, image: np.ndarray, module_path: bool, repeats: int) -> float:
    """Best of ``repeats`` image embeddings. ``module_path``: the plain module code, which the
    encoder runs when autograd is on (no parameter requires a gradient, so none is recorded)."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        if module_path:
            _embed_by_modules(predictor, image)
        else:
            predictor.set_image(image)
        best = min(best, time.perf_counter() - start)
    return best


def _embed_by_modules(predictor: SamPredictor, image: np.ndarray) -> None:
    sam, encoder = predictor.model, predictor.model.image_encoder
    resized = predictor.transform.apply_image(image)
    tensor = torch.as_tensor(resized).permute(2, 0, 1)[None].float()
    for parameter in sam.parameters():
        parameter.requires_grad_(False)
    with torch.enable_grad():
        pixels = sam.preprocess(tensor).to(sam.pixel_mean.dtype)
        embedding = encoder(pixels.to(torch.bfloat16) if _is_bf16(encoder) else pixels).float()
    predictor.set_image_embedding(embedding, image.shape[:2], resized.shape[:2])


def _is_bf16(encoder) -> bool:
    return any(p.dtype == torch.bfloat16 for p in encoder.parameters())


def _masks(predictor: SamPredictor, prompts: list[np.ndarray]) -> list[np.ndarray]:
    out = []
    for point in prompts:
        masks, _, _ = predictor.predict(point_coords=point, point_labels=np.array([1]), multimask_output=True)
        out.extend(masks)
    return out


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.logical_or(a, b).sum()
    return 1.0 if union == 0 else float(np.logical_and(a, b).sum() / union)


def run_int8_bench(image_size: tuple[int, int], repeats: int = 2, prompts: int = 12, config=None) -> dict:
    from torch.ao.quantization import quantize_dynamic

    config = config or KNOWN_VARIANTS["vit_b"]
    state = random_state_dict(config, seed=0)
    image = synthetic_photo(*image_size, seed=1)
    rng = np.random.default_rng(0)
    points = [rng.uniform([0, 0], [image_size[1], image_size[0]], size=(1, 2)) for _ in range(prompts)]

    fp32 = build_sam(config)
    fp32.load_state_dict(state)
    predictor = SamPredictor(fp32)
    fp32_s = _encode_seconds(predictor, image, module_path=False, repeats=repeats)
    reference_masks = _masks(predictor, points)
    report: dict = {"what": f"{config.name} seeded weights, encoder linears only", "image": list(image_size),
                    "fp32_s": round(fp32_s, 3)}  # fmt: skip

    int8 = copy.deepcopy(fp32)
    with warnings.catch_warnings():  # torch's note that quantized tensor types are deprecated
        warnings.simplefilter("ignore")
        int8.image_encoder = quantize_dynamic(int8.image_encoder, {torch.nn.Linear}, dtype=torch.qint8)
    int8_predictor = SamPredictor(int8)
    int8_s = _encode_seconds(int8_predictor, image, module_path=True, repeats=repeats)
    ious = [_iou(a, b) for a, b in zip(reference_masks, _masks(int8_predictor, points))]
    report.update(int8_module_path_s=round(int8_s, 3),
                  int8_mask_iou_vs_fp32={"min": round(min(ious), 4), "mean": round(float(np.mean(ious)), 4)})
    del int8, int8_predictor

    dtype = reduced_precision("cpu")
    bf16_s = None
    if dtype is not None:
        reduced = copy.deepcopy(fp32)
        reduced.image_encoder.to(dtype)
        reduced_predictor = SamPredictor(reduced)
        bf16_module_s = _encode_seconds(reduced_predictor, image, module_path=True, repeats=repeats)
        bf16_s = _encode_seconds(reduced_predictor, image, module_path=False, repeats=repeats)
        ious = [_iou(a, b) for a, b in zip(reference_masks, _masks(reduced_predictor, points))]
        name = str(dtype).replace("torch.", "")
        report.update({f"{name}_module_path_s": round(bf16_module_s, 3), f"{name}_app_path_s": round(bf16_s, 3),
                       f"{name}_mask_iou_vs_fp32": {"min": round(min(ious), 4), "mean": round(float(np.mean(ious)), 4)},
                       f"int8_vs_{name}_same_path": round(bf16_module_s / int8_s, 2),
                       f"int8_vs_{name}_app_path": round(bf16_s / int8_s, 2)})  # fmt: skip
    keeps_masks = report["int8_mask_iou_vs_fp32"]["min"] >= IOU_GATE
    faster = bf16_s is None or int8_s < bf16_s
    report["offer_int8"] = bool(keeps_masks and faster)
    report["verdict"] = (
        "offered" if report["offer_int8"]
        else "left out: " + " and ".join(
            reason for reason, failed in ((f"masks below IoU {IOU_GATE} vs fp32", not keeps_masks),
                                          ("not faster than the app's bf16 encoder", not faster)) if failed)
    )  # fmt: skip
    return report
