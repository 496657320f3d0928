"""Benchmark of the dataset formats: ``python -m app.model.io.bench``.

Builds one 1500x2250 image with 10,000 annotations (seeded: rectangles,
ellipses and star-shaped blobs, some with holes, sides log-uniform from 6 to
``--max-side`` pixels, 600 by default), then times COCO RLE and SA-1B export and import
(``--others``: YOLO, labelme and PNG masks too, each read back and checked). Exports start
with cold caches (no RLE computed yet), as the first save after a session
would. Prints one JSON report on stdout.
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from app.model.annotation import Annotation, Category, ImageRecord, Provenance
from app.model.dataset import Dataset
from app.model.io.coco import read_coco, write_coco
from app.model.io.sa1b import read_sa1b, write_sa1b
from app.model.mask import Mask


def random_crop(rng: np.random.Generator, max_side: int) -> np.ndarray:
    """A bool (h, w) shape: rectangle, ellipse or star blob, sometimes with a hole."""
    h, w = (int(np.exp(rng.uniform(np.log(6), np.log(max_side)))) for _ in range(2))
    kind = rng.choice(["rectangle", "ellipse", "blob"], p=[0.3, 0.4, 0.3])
    if kind == "rectangle":
        crop = np.ones((h, w), dtype=np.uint8)
    elif kind == "ellipse":
        crop = np.zeros((h, w), dtype=np.uint8)
        cv2.ellipse(crop, (w // 2, h // 2), (max(w // 2 - 1, 1), max(h // 2 - 1, 1)), 0, 0, 360, 1, -1)
    else:
        crop = np.zeros((h, w), dtype=np.uint8)
        n = int(rng.integers(5, 16))
        angles = np.sort(rng.uniform(0, 2 * np.pi, n))
        radii = rng.uniform(0.3, 1.0, n)
        points = np.stack([w / 2 + radii * (w / 2 - 1) * np.cos(angles), h / 2 + radii * (h / 2 - 1) * np.sin(angles)])
        cv2.fillPoly(crop, [np.round(points.T).astype(np.int32)], 1)
    if h > 20 and w > 20 and rng.random() < 0.1:
        cv2.ellipse(crop, (w // 2, h // 2), (w // 8, h // 8), 0, 0, 360, 0, -1)
    return crop.astype(bool)


def make_dataset(
    n: int = 10_000, height: int = 1500, width: int = 2250, seed: int = 0, max_side: int = 600
) -> Dataset:
    """One image of ``height`` x ``width`` with ``n`` seeded annotations whose
    sides are log-uniform in [6, ``max_side``] pixels."""
    rng = np.random.default_rng(seed)
    dataset = Dataset()
    image = dataset.add_image(ImageRecord(1, "bench.jpg", width, height))
    for i, name in enumerate(["thing", "stuff", "other"], start=1):
        dataset.add_category(Category(i, name, (40 * i, 80, 200)))
    max_side = min(max_side, height, width)
    while dataset.annotation_count < n:
        crop = random_crop(rng, max_side)
        h, w = crop.shape
        x, y = int(rng.integers(0, width - w + 1)), int(rng.integers(0, height - h + 1))
        mask = Mask.from_crop(crop, x, y, image.shape)
        if mask.is_empty:
            continue
        provenance = Provenance(
            points=[(x + w / 2, y + h / 2)],
            point_labels=[1],
            predicted_iou=float(rng.uniform(0.8, 1.0)),
            stability_score=float(rng.uniform(0.9, 1.0)),
            source="auto",
        )
        annotation_id = dataset.new_annotation_id()
        dataset.add_annotation(Annotation(annotation_id, image.id, 1 + annotation_id % 3, mask, provenance))
    return dataset


def _timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def _others(dataset: Dataset, directory: Path) -> dict[str, Any]:
    """YOLO and labelme out and back in (pixel for pixel), PNG masks out; cold caches each time."""
    from app.model.import_plan import plan_import, project_images
    from app.model.io.labelme import parse_labelme, write_labelme
    from app.model.io.png_masks import write_png_masks
    from app.model.io.yolo import parse_yolo, write_yolo

    report: dict[str, Any] = {}
    expected = [a.mask for a in dataset.annotations()]
    for name, write, parse in (("yolo", lambda d, p: write_yolo(d, p), parse_yolo),
                               ("labelme", lambda d, p: write_labelme(d, p, directory), parse_labelme)):
        fresh = _cold(dataset)
        report[f"export_{name}_s"] = round(_timed(lambda: write(fresh, directory / name))[0], 3)
        seconds, plan = _timed(lambda: plan_import(parse(directory / name), project_images(dataset)))
        report[f"import_{name}_s"] = round(seconds, 3)
        assert [a.mask for a in plan.images[0].annotations] == expected, f"{name} round trip"
    report["export_png_s"] = round(_timed(lambda: write_png_masks(_cold(dataset), directory / "png"))[0], 3)
    return report


def _cold(dataset: Dataset) -> Dataset:
    """The same records with fresh masks (no RLE, no outline cached yet)."""
    copy = Dataset()
    for image in dataset.images.values():
        copy.add_image(image)
    for category in dataset.categories.values():
        copy.add_category(category)
    for a in dataset.annotations():
        copy.add_annotation(Annotation(a.id, a.image_id, a.category_id, Mask.from_crop(a.mask.crop, *a.mask.origin,
                                                                                       a.mask.shape), a.provenance))
    return copy


def run(n: int, seed: int, max_side: int, directory: Path, polygons: bool, others: bool = False) -> dict[str, Any]:
    report: dict[str, Any] = {"masks": n, "image": [1500, 2250], "seed": seed, "max_side": max_side}
    build_s, dataset = _timed(lambda: make_dataset(n, seed=seed, max_side=max_side))
    areas = [a.area for a in dataset.annotations()]
    report["build_s"] = round(build_s, 3)
    report["mean_area_px"] = round(float(np.mean(areas)))
    report["median_area_px"] = round(float(np.median(areas)))
    coco, sa1b = directory / "coco.json", directory / "sa1b"
    report["export_coco_rle_s"] = round(_timed(lambda: write_coco(dataset, coco))[0], 3)
    report["export_coco_rle_warm_s"] = round(_timed(lambda: write_coco(dataset, coco))[0], 3)
    report["coco_mb"] = round(coco.stat().st_size / 1e6, 2)
    dataset = make_dataset(n, seed=seed, max_side=max_side)  # cold caches again
    report["export_sa1b_s"] = round(_timed(lambda: write_sa1b(dataset, sa1b))[0], 3)
    report["sa1b_mb"] = round(sum(p.stat().st_size for p in sa1b.rglob("*.json")) / 1e6, 2)
    seconds, imported = _timed(lambda: read_coco(coco))
    report["import_coco_rle_s"] = round(seconds, 3)
    assert [a.mask for a in imported.annotations()] == [a.mask for a in dataset.annotations()]
    report["import_sa1b_s"] = round(_timed(lambda: read_sa1b(sa1b))[0], 3)
    if polygons:
        seconds, result = _timed(lambda: write_coco(dataset, directory / "poly.json", segmentation="polygons"))
        report["export_coco_polygons_s"] = round(seconds, 3)
        summary = result.summary()
        report["polygons_mean_iou"] = round(summary["mean_iou"], 5)
        report["polygons_min_iou"] = round(summary["min_iou"], 5)
        report["polygons_rle_fallback"] = summary["rle_fallback"]
    if others:
        report.update(_others(dataset, directory))
    report["python"] = platform.python_version()
    report["numpy"] = np.__version__
    return report


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--masks", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-side", type=int, default=600, help="largest mask side in pixels")
    parser.add_argument("--polygons", action="store_true", help="also time a COCO polygon export")
    parser.add_argument("--others", action="store_true", help="also YOLO, labelme and PNG masks")
    parser.add_argument("--dir", type=Path, default=None, help="where to write (default: a temp dir)")
    args = parser.parse_args(argv)
    if args.dir is not None:
        args.dir.mkdir(parents=True, exist_ok=True)
        report = run(args.masks, args.seed, args.max_side, args.dir, args.polygons, args.others)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            report = run(args.masks, args.seed, args.max_side, Path(tmp), args.polygons, args.others)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
