"""``python -m sam_core.bench.engine``: the data engine's throughput with 1 and 2 sam workers, and sizing.

Prints one JSON report:

* ``per_image``: one image's encoder seconds and automatic-mask-generator seconds
  (the grid's decoding, filtering and RLE, without the encoder), timed in this
  process with the same sam and settings the engine uses;
* ``engine``: for each worker count, images per minute through the real pipeline
  on a local Ray (read tasks -> sam actors -> JSON writers), in steady state (from
  the moment every worker has finished its first image, so actor start-up and
  warm-up are left out) and over the whole run, with the torch threads per worker;
* ``ratio``: the last worker count's steady rate over the first's;
* ``sizing``: days for a million images with N workers like the measured one,
  from the per-image times (``1e6 * (encode + generator) / N``).

Weights are seeded random ones in Meta's format unless ``--checkpoint`` is given.
With random weights few candidates pass SAM's default thresholds, so the default
here keeps every candidate (thresholds 0), which is the expensive case: each one is
upscaled, scored and encoded. Shared machines drift by 30% or more between runs;
compare the ratio, measured in one run.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Dict, List

import numpy as np
import torch

from ..automatic_mask_generator import SamAutomaticMaskGenerator
from ..build import load_sam
from ..config import KNOWN_VARIANTS
from ..predictor import SamPredictor
from ..runtime import available_cores, configure_threads
from ..sa1b_files import image_ids, output_names
from ..testing import TINY_CONFIG, synthetic_photo, write_random_checkpoint


def write_ppm(path: Path, image: np.ndarray) -> None:
    """An HxWx3 uint8 RGB image as binary PPM, which the engine's reader decodes (no codec needed here)."""
    h, w = image.shape[:2]
    path.write_bytes(f"P6\n{w} {h}\n255\n".encode() + np.ascontiguousarray(image).tobytes())


def per_image_seconds(checkpoint: Path, image: np.ndarray, kwargs: Dict[str, Any], device: str) -> Dict[str, float]:
    """Encoder and generator seconds for one image, all cores: the generator first (which also
    warms up the encoder's workspaces), then the encoder alone; the generator's own share is
    the difference."""
    configure_threads(available_cores())
    sam = load_sam(checkpoint, device=device)
    generator = SamAutomaticMaskGenerator(sam, output_mode="uncompressed_rle", **kwargs)
    start = time.perf_counter()
    masks = len(generator.generate(image))
    total = time.perf_counter() - start
    predictor = SamPredictor(sam)
    start = time.perf_counter()
    predictor.set_image(image)
    encode = time.perf_counter() - start
    return {"encode_s": round(encode, 3), "generator_s": round(max(total - encode, 0.0), 3), "masks": masks}


def engine_rate(
    rows: List[Dict[str, Any]], workers: int, checkpoint: Path, kwargs: Dict[str, Any], out: Path, device: str
) -> Dict[str, Any]:
    """Images per minute through the engine's pipeline with ``workers`` sam actors."""
    from ..engine.cluster import plan_for_cluster
    from ..engine.pipeline import run_pipeline
    from ..generator_flags import settings_hash

    sam = load_sam(checkpoint, device="cpu")
    plan = plan_for_cluster(device, (workers, workers), None)
    start = time.time()
    finished = []
    results = run_pipeline(rows, plan, str(checkpoint), sam.checkpoint_id, kwargs, settings_hash(kwargs), str(out),
                           None)  # fmt: skip
    for row in results:
        if row["status"] != "ok":
            raise RuntimeError(f"{row['name']}: {row['error']}")
        finished.append(row["written_at"] - start)  # when the worker's JSON landed, not when we heard
    finished.sort()
    warm = finished[workers - 1]  # every worker has finished one image
    steady = (len(finished) - workers) / (finished[-1] - warm) * 60 if finished[-1] > warm else float("nan")
    return {
        "workers": workers,
        "threads_per_worker": plan.threads,
        "images": len(finished),
        "steady_images_per_minute": round(steady, 3),
        "overall_images_per_minute": round(len(finished) / finished[-1] * 60, 3),
        "wall_s": round(finished[-1], 2),
    }


def run(args: argparse.Namespace) -> Dict[str, Any]:
    from ..engine.cluster import start_local_ray, stop_ray

    kwargs = {"points_per_side": args.points_per_side, "pred_iou_thresh": args.pred_iou_thresh,
              "stability_score_thresh": args.stability_score_thresh}  # fmt: skip
    h, w = args.size
    with tempfile.TemporaryDirectory(prefix="maskwright-bench-engine-") as tmp:
        tmp = Path(tmp)
        checkpoint = args.checkpoint
        if checkpoint is None:
            config = TINY_CONFIG if args.variant == "tiny" else KNOWN_VARIANTS[args.variant]
            checkpoint = write_random_checkpoint(tmp / f"random_{args.variant}.pth", config)
        folder = tmp / "images"
        folder.mkdir()
        names = [f"img_{i:03d}.ppm" for i in range(args.images)]
        for seed, name in enumerate(names):
            write_ppm(folder / name, synthetic_photo(h, w, seed=seed))
        per_image = per_image_seconds(checkpoint, synthetic_photo(h, w, seed=0), kwargs, args.device)
        rows = [{"source": str(folder / n), "name": n, "out_name": o, "image_id": i}
                for n, o, i in zip(names, output_names(names), image_ids(names))]  # fmt: skip
        start_local_ray(available_cores())
        try:
            engine = [engine_rate(rows, workers, checkpoint, kwargs, tmp / f"out_{workers}", args.device)
                      for workers in args.workers]  # fmt: skip
        finally:
            stop_ray()
    seconds = per_image["encode_s"] + per_image["generator_s"]
    sizing = [{"workers": n, "days_per_million_images": round(1e6 * seconds / n / 86400, 2)}
              for n in (1, 8, 64, 512)]  # fmt: skip
    first, last = engine[0]["steady_images_per_minute"], engine[-1]["steady_images_per_minute"]
    return {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": {"cpu": platform.processor() or platform.machine(), "cores": available_cores(),
                    "load_average_1m": round(os.getloadavg()[0], 2), "torch": torch.__version__,
                    "device": args.device},  # fmt: skip
        "variant": args.variant if args.checkpoint is None else str(args.checkpoint),
        "image_size": [h, w],
        "settings": kwargs,
        "per_image": per_image,
        "engine": engine,
        "ratio": round(last / first, 3) if first else None,
        "sizing": sizing,
    }


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m sam_core.bench.engine", description=__doc__.split("\n")[0])
    parser.add_argument("--variant", default="vit_b", choices=["tiny", *KNOWN_VARIANTS])
    parser.add_argument("--checkpoint", type=Path, default=None, help="real weights instead of random ones")
    parser.add_argument("--device", default="cpu", help="cpu, or cuda for GPU workers (one GPU each)")
    parser.add_argument("--size", type=lambda s: tuple(int(v) for v in s.lower().split("x")), default=(768, 1024),
                        help="image HxW (default 768x1024)")
    parser.add_argument("--images", type=int, default=6, help="images per worker count (default 6)")
    parser.add_argument("--workers", type=lambda s: [int(v) for v in s.split(",")], default=[1, 2],
                        help="worker counts to compare, e.g. 1,2 (default)")
    parser.add_argument("--points-per-side", type=int, default=32)
    parser.add_argument("--pred-iou-thresh", type=float, default=0.0)
    parser.add_argument("--stability-score-thresh", type=float, default=0.0)
    return parser


def main(argv: List[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.images < 2 * max(args.workers):
        print("error: --images must be at least twice the largest worker count", file=sys.stderr)
        return 2
    print(json.dumps(run(args), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
