"""A dense project on disk for the bench: one 4000x3000 image with N annotations, and a small one.

The annotations are written through the real sidecar writer, so the app loads them
as it loads a user's project. Shapes are seeded rectangles, ellipses and star-shaped
blobs (some with holes) as :func:`app.model.io.bench.random_crop` makes them, placed
at random, so they overlap as segment-everything output does.
"""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from app.model import Annotation, Category, ImageRecord, Mask, Provenance
from app.model.io.bench import random_crop
from app.model.io.sidecar import SidecarPaths, write_image_file, write_project_file

DENSE_NAME, SMALL_NAME = "a_dense.jpg", "b_small.jpg"
CATEGORIES = (Category(1, "thing", (230, 60, 60)), Category(2, "stuff", (60, 200, 90)), Category(3, "other", (70, 110, 240)))


def dense_annotations(count: int, height: int, width: int, seed: int = 0, max_side: int = 300) -> list[Annotation]:
    """``count`` seeded annotations of one ``height`` x ``width`` image (image id 1), ids 1..count."""
    rng = np.random.default_rng(seed)
    annotations: list[Annotation] = []
    while len(annotations) < count:
        crop = random_crop(rng, min(max_side, height, width))
        h, w = crop.shape
        x, y = int(rng.integers(0, width - w + 1)), int(rng.integers(0, height - h + 1))
        mask = Mask.from_crop(crop, x, y, (height, width))
        if mask.is_empty:
            continue
        number = len(annotations) + 1
        provenance = Provenance(points=((x + w / 2, y + h / 2),), point_labels=(1,),
                                predicted_iou=float(rng.uniform(0.8, 1.0)), stability_score=float(rng.uniform(0.9, 1)),
                                source="auto", reviewed=True)
        annotations.append(Annotation(number, 1, 1 + number % 3, mask, provenance))
    return annotations


def write_dense_project(folder: Path, count: int, height: int = 3000, width: int = 4000, seed: int = 0) -> Path:
    """Make ``folder`` with the dense image (``count`` saved annotations) and a small image; returns it."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    small = cv2.resize(rng.integers(0, 255, (30, 40, 3), dtype=np.uint8), (width, height), interpolation=cv2.INTER_CUBIC)
    cv2.imwrite(str(folder / DENSE_NAME), small, [cv2.IMWRITE_JPEG_QUALITY, 80])
    cv2.imwrite(str(folder / SMALL_NAME), rng.integers(0, 255, (480, 640, 3), dtype=np.uint8))
    paths = SidecarPaths(folder)
    write_project_file(paths, list(CATEGORIES), {"last_image": DENSE_NAME})
    image = ImageRecord(1, DENSE_NAME, width, height)
    write_image_file(paths, image, False, dense_annotations(count, height, width, seed))
    return folder


__all__ = ["CATEGORIES", "DENSE_NAME", "SMALL_NAME", "dense_annotations", "write_dense_project"]
