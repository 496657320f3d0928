"""Shared builders: a small dataset with the awkward masks exports must survive."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from app.model import Annotation, Category, Dataset, ImageRecord, Mask, Provenance

H, W = 48, 64  # image "a.jpg"; rows x columns


def rectangle(shape: tuple[int, int], x: int, y: int, w: int, h: int) -> np.ndarray:
    full = np.zeros(shape, dtype=bool)
    full[y : y + h, x : x + w] = True
    return full


def jagged(shape: tuple[int, int], seed: int = 0) -> np.ndarray:
    """A rotated ellipse with a ragged, noisy outline and no holes."""
    full = np.zeros(shape, dtype=np.uint8)
    cv2.ellipse(full, (shape[1] // 2, shape[0] // 2), (shape[1] // 3, shape[0] // 4), 30, 0, 360, 1, -1)
    rng = np.random.default_rng(seed)
    edge = cv2.dilate(full, np.ones((3, 3), np.uint8)) - full
    full[(edge > 0) & (rng.random(shape) < 0.5)] = 1
    # Fill any background the noise enclosed, so the mask stays hole-free.
    filled = full.copy()
    flood = np.zeros((shape[0] + 2, shape[1] + 2), np.uint8)
    cv2.floodFill(filled, flood, (0, 0), 2)
    full[filled == 0] = 1
    return full.astype(bool)


def holed_two_parts(shape: tuple[int, int]) -> np.ndarray:
    """Two parts, the first a ring with a hole, the second with two holes."""
    full = rectangle(shape, 2, 2, 20, 16)
    full[6:12, 8:14] = False
    full |= rectangle(shape, 30, 20, 25, 20)
    full[24:27, 34:38] = False
    full[30:35, 44:50] = False
    return full


def touching_top_and_bottom(shape: tuple[int, int]) -> np.ndarray:
    """Full-height columns: RLE runs wrap from one column into the next."""
    full = rectangle(shape, 40, 0, 3, shape[0])
    full[0, 50] = full[-1, 49] = True
    return full


@pytest.fixture
def dataset() -> Dataset:
    ds = Dataset()
    a = ds.add_image(ImageRecord(1, "a.jpg", W, H))
    b = ds.add_image(ImageRecord(7, "nested/b.png", 30, 20))
    ds.add_image(ImageRecord(9, "empty.jpg", 10, 10))
    ds.add_category(Category(1, "cat", (255, 0, 0)))
    ds.add_category(Category(3, "dog", (0, 128, 255), supercategory="animal"))
    sam = Provenance(points=[(10.5, 20.0), (3, 4)], point_labels=[1, 0], box=(1, 2, 30, 40), predicted_iou=0.93125,
                     stability_score=0.97, source="sam")
    auto = Provenance(points=[(32.0, 16.0)], point_labels=[1], predicted_iou=0.88, stability_score=0.91,
                      crop_box=(0, 0, 32, 24), source="auto")
    masks = [
        (a, 1, rectangle(a.shape, 5, 6, 20, 10), sam),
        (a, 3, jagged(a.shape), auto),
        (a, 1, holed_two_parts(a.shape), Provenance(source="brush", edited=True)),
        (a, 3, touching_top_and_bottom(a.shape), Provenance(source="import")),
        (a, 1, rectangle(a.shape, 63, 47, 1, 1), Provenance()),  # one pixel, bottom-right corner
        (b, 3, np.ones(b.shape, dtype=bool), Provenance(source="sam", predicted_iou=1.0)),
        (b, 1, rectangle(b.shape, 0, 0, 1, 20), Provenance()),  # one full column
    ]
    for image, category_id, full, provenance in masks:
        ds.add_annotation(Annotation(ds.new_annotation_id(), image.id, category_id, Mask.from_full(full), provenance))
    return ds
