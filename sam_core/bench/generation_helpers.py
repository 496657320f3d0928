"""The generator's helpers against their simple or OpenCV versions, same inputs, one run.

* Box NMS: :func:`sam_core.utils.nms.batched_nms` against a plain greedy loop in torch
  (the reference's stand-in for torchvision's), at several box counts.
* Small-region cleanup (8-connected components, as the generator's
  ``min_mask_region_area`` uses them): :func:`sam_core.utils.regions.remove_small_regions`
  against Meta's OpenCV-based one (OpenCV is reached only through Meta's package: sam_core
  never imports it), at several image sizes; :func:`label_components` alone is timed too.
"""
from __future__ import annotations

import time
from typing import Callable, List

import numpy as np
import torch

from ..utils.nms import batched_nms
from ..utils.regions import label_components, remove_small_regions
from .reference import reference_batched_nms


def _best_of(fn: Callable[[], object], repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def generator_like_boxes(n: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """n XYXY int boxes of varied size on a 1024x768 image, with clusters of near-duplicates
    (three candidates per prompt, neighbouring prompts), and random scores."""
    g = torch.Generator().manual_seed(seed)
    centres = torch.rand(n // 3 + 1, 2, generator=g) * torch.tensor([1024.0, 768.0])
    sizes = torch.rand(n // 3 + 1, 2, generator=g) * 400 + 8
    jitter = torch.randn(n // 3 + 1, 3, 4, generator=g) * 6
    boxes = torch.cat([centres - sizes / 2, centres + sizes / 2], dim=1)[:, None, :] + jitter
    boxes = boxes.reshape(-1, 4)[:n].round().clamp(min=0)
    return boxes.to(torch.int64), torch.rand(n, generator=g)


def blob_mask(h: int, w: int, seed: int) -> np.ndarray:
    """An HxW bool mask of smooth blobs with small islands and holes (thresholded smooth noise)."""
    rng = np.random.default_rng(seed)
    coarse = torch.from_numpy(rng.standard_normal((1, 1, max(2, h // 24), max(2, w // 24))).astype(np.float32))
    fine = torch.from_numpy(rng.standard_normal((1, 1, max(2, h // 3), max(2, w // 3))).astype(np.float32))
    field = torch.nn.functional.interpolate(coarse, (h, w), mode="bilinear", align_corners=False)
    field += 0.35 * torch.nn.functional.interpolate(fine, (h, w), mode="bilinear", align_corners=False)
    return (field[0, 0] > 0.3).numpy()


def run_helpers_bench(box_counts: List[int], image_sizes: List[tuple[int, int]], area: int = 100) -> dict:
    nms_rows = []
    for n in box_counts:
        boxes, scores = generator_like_boxes(n)
        ours = _best_of(lambda: batched_nms(boxes, scores, None, 0.7))
        simple = _best_of(lambda: reference_batched_nms(boxes.float(), scores, torch.zeros(n), 0.7))
        same = batched_nms(boxes, scores, None, 0.7).tolist() == reference_batched_nms(
            boxes.float(), scores, torch.zeros(n), 0.7).tolist()  # fmt: skip
        nms_rows.append({"boxes": n, "sam_core_ms": round(ours * 1e3, 2), "greedy_loop_ms": round(simple * 1e3, 2),
                         "speedup": round(simple / ours, 2), "same_result": same})  # fmt: skip
    report = {"nms": nms_rows, "nms_scaling": "ms against the number of boxes"}
    try:
        from .reference import load_reference

        load_reference()
        from segment_anything.utils.amg import remove_small_regions as reference_remove
    except ImportError:
        report["regions"] = "skipped: needs opencv and the bench extra"
        return report
    region_rows = []
    for h, w in image_sizes:
        mask = blob_mask(h, w, seed=h)

        def ours_cleanup():
            remove_small_regions(remove_small_regions(mask, area, "holes")[0], area, "islands")

        def cv2_cleanup():
            reference_remove(reference_remove(mask, area, "holes")[0], area, "islands")

        ours_labels = _best_of(lambda: label_components(mask))
        ours_clean, cv2_clean = _best_of(ours_cleanup), _best_of(cv2_cleanup)
        a = remove_small_regions(remove_small_regions(mask, area, "holes")[0], area, "islands")[0]
        b = reference_remove(reference_remove(mask, area, "holes")[0], area, "islands")[0]
        region_rows.append({
            "image": [h, w],
            "cleanup_sam_core_ms": round(ours_clean * 1e3, 1), "cleanup_opencv_ms": round(cv2_clean * 1e3, 1),
            "cleanup_vs_opencv": round(cv2_clean / ours_clean, 2), "cleanup_same_result": bool(np.array_equal(a, b)),
            "labels_sam_core_ms": round(ours_labels * 1e3, 1),
        })  # fmt: skip
    report["regions"] = region_rows
    report["regions_scaling"] = "ms against the image size (pixels); min_mask_region_area = %d" % area
    return report
