"""The project sidecar's JSON documents, version 1: to and from the model's records.

Two kinds of file, both plain JSON that any tool can read (see the README,
"Projects and autosave"):

* ``project.json``: ``{"format": "maskwright-project", "version": 1,
  "categories": [{"id", "name", "color": [r, g, b], "supercategory"}],
  "settings": {"last_image", "view", "current_category"}}``.
* one file per image: ``{"format": "maskwright-image", "version": 1,
  "file_name", "width", "height", "status": "todo" | "done",
  "annotations": [{"id", "category_id", "segmentation": {"size": [H, W],
  "counts": str}, "area", "bbox", "iscrowd", "provenance": {...}}]}``;
  optional per annotation: ``polygons`` (imported COCO polygons) and
  ``attributes`` (an object of named bool, number or string values).

``segmentation`` is COCO compressed RLE (column-major, lossless), exactly what
``pycocotools.mask.decode`` takes; ``bbox`` (XYWH) and ``area`` are written for
other readers and ignored on reading (the mask is the truth). ``provenance``
holds the prompts and scores (image pixel frame). Readers raise
:class:`FormatError` naming the file and field; a file from a newer format
version raises :class:`NewerVersionError` so it can be left untouched. Sizes are
checked against :mod:`sam_core.limits` (the image's size, the masks' memory), a
``file_name`` must name a file inside the project, and imported ``polygons`` must be
polygons our own COCO reader accepts.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from app.model.annotation import Annotation, Category, ImageRecord
from app.model.io import extras
from app.model.io.fields import (
    FormatError,
    Where,
    as_dict,
    as_int,
    as_list,
    as_numbers,
    as_side,
    as_str,
    check_image_size,
    field,
)
from app.model.io.segmentation import check_polygons, read_rle
from app.model.names import display_name, inside_name
from sam_core.limits import DEFAULT_LIMITS, Limits

VERSION = 1
PROJECT_FORMAT = "maskwright-project"
IMAGE_FORMAT = "maskwright-image"
STATUSES = ("todo", "done")
SETTINGS = ("last_image", "view", "current_category")
UNATTACHED = -1  # image id of annotations read from a file, until the project attaches them


class NewerVersionError(FormatError):
    """The file was written by a newer Maskwright; this one must neither read nor overwrite it."""


@dataclass(frozen=True)
class StoredImage:
    """One image file's content. Annotations carry ``image_id`` :data:`UNATTACHED`."""

    file_name: str
    width: int
    height: int
    done: bool
    annotations: tuple[Annotation, ...]

    @property
    def shape(self) -> tuple[int, int]:
        return self.height, self.width


# -- writing -----------------------------------------------------------------------------------------


def project_to_json(categories: list[Category], settings: dict[str, Any]) -> dict[str, Any]:
    """``project.json``: categories in their order, and the project's settings."""
    return {
        "format": PROJECT_FORMAT,
        "version": VERSION,
        "categories": [
            {"id": c.id, "name": c.name, "color": list(c.color), "supercategory": c.supercategory}
            for c in categories
        ],
        "settings": {key: settings.get(key) for key in SETTINGS},
    }


def image_to_json(image: ImageRecord, done: bool, annotations: list[Annotation]) -> dict[str, Any]:
    """One image's file: its size, status and annotations in drawing order."""
    return {
        "format": IMAGE_FORMAT,
        "version": VERSION,
        "file_name": image.file_name,
        "width": image.width,
        "height": image.height,
        "status": "done" if done else "todo",
        "annotations": [_annotation_to_json(a) for a in annotations],
    }


def _annotation_to_json(annotation: Annotation) -> dict[str, Any]:
    mask = annotation.mask
    value = {
        "id": annotation.id,
        "category_id": annotation.category_id,
        "segmentation": mask.rle(),
        "area": mask.area,
        "bbox": list(mask.bbox),
        "iscrowd": int(annotation.iscrowd),
        "provenance": extras.provenance_to_json(annotation.provenance),
    }
    if annotation.polygons is not None:  # imported polygons, kept for polygon export
        value["polygons"] = [list(p) for p in annotation.polygons]
    if annotation.attributes:  # another tool's flags or attributes, kept for export
        value["attributes"] = extras.attributes_to_json(annotation.attributes)
    return value


def document_bytes(document: dict[str, Any]) -> bytes:
    """ASCII JSON with one top-level key per line and one list item (a category, an
    annotation) per line: small, diff-friendly and easy to fix by hand."""
    def dump(value: Any) -> str:
        return json.dumps(value, separators=(",", ":"), allow_nan=False)

    lines = []
    for key, value in document.items():
        if isinstance(value, list) and value:
            items = ",\n".join(f"  {dump(item)}" for item in value)
            lines.append(f" {dump(key)}: [\n{items}\n ]")
        else:
            lines.append(f" {dump(key)}: {dump(value)}")
    return ("{\n" + ",\n".join(lines) + "\n}\n").encode("ascii")


def annotation_line(annotation: Annotation) -> str:
    """One annotation as the image file writes it (one line, without the indent)."""
    return json.dumps(_annotation_to_json(annotation), separators=(",", ":"), allow_nan=False)


def image_bytes(image: ImageRecord, done: bool, lines: list[str]) -> bytes:
    """``document_bytes(image_to_json(image, done, annotations))`` from the annotations' lines
    (:func:`annotation_line`, which a caller may keep between saves): the same bytes."""
    head = image_to_json(image, done, [])
    del head["annotations"]
    parts = [f" {json.dumps(key)}: {json.dumps(value, separators=(',', ':'), allow_nan=False)}"
             for key, value in head.items()]
    parts.append(' "annotations": [\n' + ",\n".join(f"  {line}" for line in lines) + "\n ]" if lines
                 else ' "annotations": []')
    return ("{\n" + ",\n".join(parts) + "\n}\n").encode("ascii")


# -- reading -----------------------------------------------------------------------------------------


def _check_header(top: dict[str, Any], where: Where, expected: str) -> None:
    kind = as_str(*field(top, "format", where))
    if kind != expected:
        raise where["format"].error(f"must be {expected!r}, got {kind!r}")
    version = as_int(*field(top, "version", where), minimum=1)
    if version > VERSION:
        raise NewerVersionError(
            where.file, "version", f"is {version}, written by a newer Maskwright (this one reads {VERSION})"
        )


def _category_from_json(value: Any, w: Where) -> Category:
    d = as_dict(value, w)
    color = tuple(as_int(c, w["color"][j], minimum=0) for j, c in enumerate(as_list(*field(d, "color", w))))
    if len(color) != 3 or max(color) > 255:
        raise w["color"].error(f"must be three integers in 0..255, got {list(color)}")
    return Category(
        as_int(*field(d, "id", w), minimum=0),
        as_str(*field(d, "name", w), nonempty=True),
        color,  # type: ignore[arg-type]
        as_str(*field(d, "supercategory", w, default="")),
    )


def project_from_json(value: Any, where: Where) -> tuple[list[Category], dict[str, Any]]:
    """Categories (unique ids and names) and settings of a ``project.json`` document."""
    top = as_dict(value, where)
    _check_header(top, where, PROJECT_FORMAT)
    categories = extras.read_categories(*field(top, "categories", where), parse=_category_from_json)
    raw, settings_where = field(top, "settings", where, default={})
    raw = as_dict(raw, settings_where)
    settings: dict[str, Any] = {}
    if isinstance(raw.get("last_image"), str) and raw["last_image"]:
        settings["last_image"] = raw["last_image"]
    if raw.get("view") is not None:
        try:
            view = as_numbers(raw["view"], settings_where["view"], length=4)
        except FormatError:
            view = (0.0, 0.0, 0.0, 0.0)  # only where the window looked: dropped, the image is fitted instead
        if view[2] > 0 and view[3] > 0:  # whether it suits the image is checked when it is shown
            settings["view"] = view
    if raw.get("current_category") is not None:
        settings["current_category"] = as_int(raw["current_category"], settings_where["current_category"])
    return categories, settings


def image_from_json(value: Any, where: Where, limits: Limits = DEFAULT_LIMITS) -> StoredImage:
    """A per-image document, every annotation checked (mask size, ids, provenance), within ``limits``."""
    top = as_dict(value, where)
    _check_header(top, where, IMAGE_FORMAT)
    file_name = as_str(*field(top, "file_name", where), nonempty=True)
    if not inside_name(file_name):
        raise where["file_name"].error(f"{display_name(file_name)!r} is not a file inside the project")
    width = as_side(*field(top, "width", where), limits)
    height = as_side(*field(top, "height", where), limits)
    check_image_size(width, height, where, limits)
    budget = limits.mask_budget()
    status = as_str(*field(top, "status", where, default="todo"))
    if status not in STATUSES:
        raise where["status"].error(f"must be one of {', '.join(STATUSES)}, got {status!r}")
    annotations: list[Annotation] = []
    ids: set[int] = set()
    items, items_where = field(top, "annotations", where, default=[])
    for i, item in enumerate(as_list(items, items_where)):
        w = items_where[i]
        d = as_dict(item, w)
        annotation_id = as_int(*field(d, "id", w), minimum=0)
        if annotation_id in ids:
            raise w["id"].error(f"duplicate annotation id {annotation_id}")
        ids.add(annotation_id)
        iscrowd = as_int(*field(d, "iscrowd", w, default=0))
        if iscrowd not in (0, 1):
            raise w["iscrowd"].error(f"must be 0 or 1, got {iscrowd}")
        polygons = None
        if d.get("polygons") is not None:
            polygons = check_polygons(d["polygons"], w["polygons"], height, width) or None
        annotations.append(
            Annotation(
                annotation_id,
                UNATTACHED,
                as_int(*field(d, "category_id", w), minimum=0),
                read_rle(*field(d, "segmentation", w), height, width, budget),
                extras.provenance_from_json(d.get("provenance", {}), w["provenance"]),
                bool(iscrowd),
                polygons,
                extras.read_attributes(d.get("attributes"), w["attributes"]),
            )
        )
    return StoredImage(file_name, width, height, status == "done", tuple(annotations))


__all__ = [
    "IMAGE_FORMAT",
    "PROJECT_FORMAT",
    "VERSION",
    "NewerVersionError",
    "document_bytes",
    "StoredImage",
    "image_from_json",
    "image_to_json",
    "project_from_json",
    "project_to_json",
]
