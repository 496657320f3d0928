"""``python -m sam_core.amg``: segment everything in images and write SA-1B-style JSON.

One ``<image stem>.json`` per image in ``--out``::

    {"image": {"image_id", "width", "height", "file_name"},
     "annotations": [{"id", "segmentation": {"size": [h, w], "counts": str},
                      "bbox": XYWH, "area", "predicted_iou", "point_coords",
                      "crop_box": XYWH, "stability_score"}, ...]}

Failures print one ``error: ...`` line on stderr (no traceback); the exit code
is 0 when every image was written, 1 when some image failed, 2 when nothing
could start (bad arguments, input or checkpoint).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from collections import Counter
from pathlib import Path
from typing import List, Optional, Sequence, TextIO

from .image_files import ImageReadError, list_images, read_image

def output_names(images: Sequence[Path]) -> List[str]:
    """``<stem>.json``, or ``<name>.json`` for inputs whose stems collide (a.jpg, a.png)."""
    stems = Counter(p.stem for p in images)
    return [f"{p.stem}.json" if stems[p.stem] == 1 else f"{p.name}.json" for p in images]


def sa1b_record(image_id: int, file_name: str, size: tuple, records: list, first_id: int) -> dict:
    """Generator records (``coco_rle`` mode) -> one SA-1B image document."""
    h, w = size
    annotations = [
        {
            "id": first_id + i,
            "segmentation": r["segmentation"],
            "bbox": r["bbox"],
            "area": r["area"],
            "predicted_iou": r["predicted_iou"],
            "point_coords": r["point_coords"],
            "crop_box": r["crop_box"],
            "stability_score": r["stability_score"],
        }
        for i, r in enumerate(records)
    ]
    image = {"image_id": image_id, "width": w, "height": h, "file_name": file_name}
    return {"image": image, "annotations": annotations}


class ProgressBar:
    """A one-line text bar redrawn in place with ``\\r``; no third-party dependency."""

    def __init__(self, label: str, stream: TextIO, width: int = 30) -> None:
        self.label, self.stream, self.width = label, stream, width
        self._last: Optional[tuple] = None
        self._drawn = 0  # length of the line currently shown

    def __call__(self, done: int, total: int) -> None:
        filled = self.width if total == 0 else self.width * done // total
        state = (filled, done == total)
        if state == self._last:
            return
        self._last = state
        bar = "#" * filled + "." * (self.width - filled)
        self._show(f"{self.label} [{bar}] {done}/{total} batches")

    def finish(self, message: str) -> None:
        self._show(f"{self.label} {message}")
        self.stream.write("\n")
        self.stream.flush()
        self._drawn = 0

    def _show(self, line: str) -> None:
        self.stream.write("\r" + line.ljust(self._drawn))
        self.stream.flush()
        self._drawn = len(line)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m sam_core.amg",
        description="Generate SAM masks for every object in images; write SA-1B-style JSON.",
    )
    parser.add_argument("input", type=Path, help="an image file or a folder of images")
    parser.add_argument("--checkpoint", type=Path, required=True, help="an official SAM checkpoint (SAM v1, SAM 2 / 2.1, ...)")
    parser.add_argument("--out", type=Path, required=True, help="folder for the JSON files (created)")
    parser.add_argument("--device", default=None, help="cpu, cuda, cuda:1, mps (default: best available)")
    gen = parser.add_argument_group("generator")
    gen.add_argument("--points-per-side", type=int, default=32)
    gen.add_argument("--points-per-batch", type=int, default=64)
    gen.add_argument("--pred-iou-thresh", type=float, default=None,
                     help="default: the family's (SAM v1 0.88, SAM 2 0.8)")
    gen.add_argument("--stability-score-thresh", type=float, default=0.95)
    gen.add_argument("--stability-score-offset", type=float, default=1.0)
    gen.add_argument("--box-nms-thresh", type=float, default=0.7)
    gen.add_argument("--crop-n-layers", type=int, default=0)
    gen.add_argument("--crop-nms-thresh", type=float, default=0.7)
    gen.add_argument("--crop-overlap-ratio", type=float, default=512 / 1500)
    gen.add_argument("--crop-n-points-downscale-factor", type=int, default=1)
    gen.add_argument("--min-mask-region-area", type=int, default=0)
    return parser


def generator_kwargs(args: argparse.Namespace) -> dict:
    names = [
        "points_per_side", "points_per_batch", "pred_iou_thresh", "stability_score_thresh",
        "stability_score_offset", "box_nms_thresh", "crop_n_layers", "crop_nms_thresh",
        "crop_overlap_ratio", "crop_n_points_downscale_factor", "min_mask_region_area",
    ]  # fmt: skip
    return {name: getattr(args, name) for name in names}


def _write_json(path: Path, document: dict) -> None:
    """Write via a temporary file so a crash never leaves a truncated JSON behind."""
    tmp = path.with_name(path.name + ".part")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(document, f)
    os.replace(tmp, path)


def run(args: argparse.Namespace, stderr: TextIO) -> int:
    from .automatic_mask_generator import SamAutomaticMaskGenerator
    from .build import CheckpointError, load_sam

    def fail(message: str) -> None:
        stderr.write(f"error: {message}\n")

    try:
        images = list_images(args.input)
    except FileNotFoundError as exc:
        fail(str(exc))
        return 2
    if not images:
        fail(f"{args.input}: no image files found")
        return 2
    try:
        model = load_sam(args.checkpoint, device=args.device)
        generator = SamAutomaticMaskGenerator(model, output_mode="coco_rle", **generator_kwargs(args))
        args.out.mkdir(parents=True, exist_ok=True)
    except (CheckpointError, ValueError, RuntimeError, OSError) as exc:
        fail(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
        return 2

    failed, next_id = 0, 1
    for index, (path, out_name) in enumerate(zip(images, output_names(images)), start=1):
        bar = ProgressBar(f"[{index}/{len(images)}] {path.name}", stderr)
        try:
            image = read_image(path)
            records = generator.generate(image, progress=bar)
            document = sa1b_record(index, path.name, image.shape[:2], records, next_id)
            _write_json(args.out / out_name, document)
        except ImageReadError as exc:
            bar.finish("failed")
            fail(f"{exc.path}: {exc.reason}")
            failed += 1
            continue
        except (OSError, ValueError, RuntimeError) as exc:
            bar.finish("failed")
            fail(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
            failed += 1
            continue
        next_id += len(records)
        bar.finish(f"{len(records)} masks -> {args.out / out_name}")
    return 1 if failed else 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return run(args, sys.stderr)
    except KeyboardInterrupt:
        sys.stderr.write("\ninterrupted\n")
        return 130


if __name__ == "__main__":
    sys.exit(main())
