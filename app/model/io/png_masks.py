"""PNG masks: for each image an instance-id PNG and a class-id PNG, for semantic and panoptic tools.

Layout under the export folder::

    instances/<image path without suffix>.png   16-bit: 0 = no annotation, n = the image's n-th
                                                annotation (its drawing order)
    classes/<image path without suffix>.png     8-bit (16-bit past 255 categories): 0 = background,
                                                c = the c-th category of categories.json
    categories.json                             [{"value", "id", "name", "color"}, ...]
    .maskwright-export                          a marker: a folder scan leaves this folder out

Where annotations overlap the later one (drawn on top) owns the pixel; the
report says how many annotations lost pixels so. Boxes waiting for SAM have no
pixels and are left out (and counted).
"""
from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import cv2
import numpy as np

from app.model.dataset import Dataset
from app.model.io.atomic import write_bytes_atomic
from sam_core.image_files import EXPORT_MARKER


@dataclass
class PngReport:
    files: list[Path] = field(default_factory=list)
    masks: int = 0
    overlapped: int = 0  # annotations that lost pixels to a later one
    boxes: int = 0  # boxes waiting for SAM, not written


def png_name(file_name: str) -> PurePosixPath:
    name = PurePosixPath(file_name.replace("\\", "/"))
    if name.is_absolute() or ".." in name.parts or not name.name:
        raise ValueError(f"image file_name {file_name!r} would be written outside the export folder")
    return name.with_suffix(".png")


def write_png_masks(dataset: Dataset, folder: Path | str,
                    progress: Callable[[int, int], None] | None = None) -> PngReport:
    """Write ``folder/instances/<name>.png`` (16-bit instance ids in drawing order, 0 background)
    and ``folder/classes/<name>.png`` (category values of ``categories.json``) per image, each
    atomically; ``progress(images done, images)`` after each image."""
    folder = Path(folder)
    report = PngReport()
    categories = list(dataset.categories.values())
    value_of = {c.id: n for n, c in enumerate(categories, start=1)}
    class_dtype = np.uint8 if len(categories) < 256 else np.uint16
    folder.mkdir(parents=True, exist_ok=True)
    write_bytes_atomic(folder / EXPORT_MARKER, b"Masks exported by Maskwright: a folder scan inside an image folder "
                                               b"leaves this folder out.\n")
    table = [{"value": 0, "id": None, "name": "background", "color": [0, 0, 0]}] + [
        {"value": value_of[c.id], "id": c.id, "name": c.name, "color": list(c.color)} for c in categories]
    write_bytes_atomic(folder / "categories.json", json.dumps(table, indent=1).encode("utf-8"))
    for done, image in enumerate(dataset.images.values(), start=1):
        annotations = [a for a in dataset.annotations(image.id) if not a.mask.is_empty]
        report.boxes += sum(1 for a in dataset.annotations(image.id) if a.waits_for_sam)
        if len(annotations) > 65535:
            raise ValueError(f"{image.file_name}: {len(annotations)} annotations do not fit a 16-bit instance PNG")
        instances = np.zeros(image.shape, dtype=np.uint16)
        classes = np.zeros(image.shape, dtype=class_dtype)
        for n, annotation in enumerate(annotations, start=1):
            x, y, w, h = annotation.mask.bbox
            crop = annotation.mask.crop
            instances[y : y + h, x : x + w][crop] = n
            classes[y : y + h, x : x + w][crop] = value_of[annotation.category_id]
        owned = np.bincount(instances.ravel(), minlength=len(annotations) + 1)
        report.overlapped += sum(1 for n, a in enumerate(annotations, start=1) if owned[n] < a.mask.area)
        report.masks += len(annotations)
        name = png_name(image.file_name)
        for kind, pixels in (("instances", instances), ("classes", classes)):
            target = folder / kind / name
            target.parent.mkdir(parents=True, exist_ok=True)
            ok, data = cv2.imencode(".png", pixels)
            if not ok:
                raise ValueError(f"{image.file_name}: OpenCV could not encode the {kind} PNG")
            write_bytes_atomic(target, data.tobytes())
            report.files.append(target)
        if progress is not None:
            progress(done, len(dataset.images))
    return report


__all__ = ["PngReport", "png_name", "write_png_masks"]
