"""Importing COCO instances JSON into a project, keeping the good part of a damaged file.

:func:`parse_coco` accepts what pycocotools, detectron2, datumaro, supervision,
CVAT and FiftyOne write: compressed or uncompressed RLE, polygons, and box-only
annotations (``"segmentation": []``, or none, with a ``bbox``), which become
boxes waiting for SAM. CVAT's per-annotation ``attributes`` are kept. A bad
image entry, category, annotation or polygon is skipped and counted
(:class:`~app.model.io.skips.Skipped`); only a file that is not COCO at all
raises :class:`~app.model.io.fields.FormatError`.

(:func:`app.model.io.coco.read_coco` stays the strict reader of our own files.)
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from app.model.io import extras
from app.model.io.fields import FormatError, Where, as_dict, as_int, as_list, as_number, as_str, load_json
from app.model.io.fields import field as get
from app.model.io.imported import (
    BoxShape,
    ImportedAnnotation,
    ImportedCategory,
    ImportedFile,
    ImportedImage,
    PolygonShape,
    RleShape,
    coordinates,
)
from app.model.io.skips import Skipped


def looks_like_coco(top: Any) -> bool:
    return isinstance(top, dict) and isinstance(top.get("images"), list) and isinstance(top.get("annotations"), list)


def parse_coco(path: Path | str, progress: Callable[[int, int], None] | None = None) -> ImportedFile:
    """Read a COCO instances file; see the module docstring for what is skipped.
    ``progress(annotations read, annotations)`` after each annotation; an exception it raises
    stops the reading."""
    data, where = load_json(path)
    if not looks_like_coco(data):
        if isinstance(data, dict) and "image" in data and "annotations" in data:
            raise where.error("an SA-1B file, not COCO (import it as SA-1B)")
        raise where.error("not a COCO instances file: it needs an \"images\" and an \"annotations\" list")
    result = ImportedFile(Path(path), "COCO")
    skipped = result.skipped
    images = _images(data["images"], where["images"], skipped)
    names = _categories(data.get("categories", []), where["categories"], result, skipped)
    by_id = {image_id: ImportedImage(name, (h, w), where=f"{where.file}: images[{i}]")
             for i, (image_id, name, h, w) in enumerate(images)}
    result.images = list(by_id.values())
    items = data["annotations"]
    for i, item in enumerate(items):
        w = where["annotations"][i]
        annotation, image_id = _annotation(item, w, by_id, names, skipped)
        if annotation is not None:
            result.category(annotation.category)
            by_id[image_id].annotations.append(annotation)
        if progress is not None:
            progress(i + 1, len(items))
    return result


def _images(value: list, where: Where, skipped: Skipped) -> list[tuple[int, str, int, int]]:
    images, ids, names = [], set(), set()
    for i, item in enumerate(value):
        w = where[i]
        try:
            d = as_dict(item, w)
            image_id = as_int(*get(d, "id", w), minimum=0)
            name = as_str(*get(d, "file_name", w), nonempty=True).replace("\\", "/")
            width = as_int(*get(d, "width", w), minimum=1)
            height = as_int(*get(d, "height", w), minimum=1)
        except FormatError as exc:
            skipped.add("image entry", _reason(exc), f"{exc.file}: {exc.field}")
            continue
        if image_id in ids:
            skipped.add("image entry", "with an id used before", f"{w.file}: {w.path}")
        elif name in names:
            skipped.add("image entry", "with a file_name used before", f"{w.file}: {w.path}")
        else:
            ids.add(image_id)
            names.add(name)
            images.append((image_id, name, height, width))
    return images


def _categories(value: Any, where: Where, result: ImportedFile, skipped: Skipped) -> dict[int, str]:
    names: dict[int, str] = {}
    if not isinstance(value, list):
        skipped.add("category list", "that is not a list", f"{where.file}: {where.path}")
        return names
    for i, item in enumerate(value):
        try:
            category = extras.category_from_json(item, where[i])
        except FormatError as exc:
            skipped.add("category", _reason(exc), f"{exc.file}: {exc.field}")
            continue
        if category.id in names:
            skipped.add("category", "with an id used before", f"{where.file}: {where[i].path}")
            continue
        names[category.id] = category.name
        own_color = isinstance(item, dict) and isinstance(item.get(extras.KEY), dict)
        if all(c.name != category.name for c in result.categories):
            result.categories.append(
                ImportedCategory(category.name, category.color if own_color else None, category.supercategory))
    return names


def _annotation(item: Any, where: Where, images: dict[int, ImportedImage], names: dict[int, str],
                skipped: Skipped) -> tuple[ImportedAnnotation | None, int]:
    at = f"{where.file}: {where.path}"
    if not isinstance(item, dict):
        skipped.add("annotation", "that is not an object", at)
        return None, -1
    image_id, category_id = item.get("image_id"), item.get("category_id")
    if isinstance(image_id, bool) or not isinstance(image_id, int) or image_id not in images:
        skipped.add("annotation", "of an image the file does not list", at)
        return None, -1
    if isinstance(category_id, bool) or not isinstance(category_id, int) or category_id not in names:
        skipped.add("annotation", "with a category_id the file does not list", at)
        return None, -1
    image = images[image_id]
    height, width = image.size
    try:
        shape, keep = _shape(item, where, height, width, skipped)
    except FormatError as exc:
        skipped.add("annotation", _reason(exc), f"{exc.file}: {exc.field}")
        return None, -1
    if shape is None:
        skipped.add("annotation", "with neither a segmentation nor a bbox", at)
        return None, -1
    provenance = None
    if extras.KEY in item:
        try:
            provenance = extras.provenance_from_json(item[extras.KEY], where[extras.KEY])
        except FormatError as exc:
            skipped.add("provenance", "unreadable (the mask is kept without it)", f"{exc.file}: {exc.field}")
    attributes: tuple = ()
    try:
        attributes = extras.read_attributes(item.get("attributes"), where["attributes"])
    except FormatError as exc:
        skipped.add("attribute list", "unreadable (the mask is kept without it)", f"{exc.file}: {exc.field}")
    crowd = item.get("iscrowd", 0)
    return ImportedAnnotation(names[category_id], shape, bool(crowd) and crowd in (1, True), provenance, attributes,
                              keep), image_id


def _shape(item: dict, where: Where, height: int, width: int, skipped: Skipped):
    """The annotation's geometry and whether its polygons are worth keeping; (None, False) when
    it has none. Raises FormatError for a segmentation that cannot be used at all."""
    segmentation = item.get("segmentation")
    w = where["segmentation"]
    if isinstance(segmentation, dict):
        return RleShape(segmentation, w), False  # decoded once matched: see RleShape
    if segmentation is not None and not isinstance(segmentation, list):
        raise w.error("with a segmentation that is neither RLE nor polygons")
    polygons = []
    for i, polygon in enumerate(segmentation or []):
        coords = _polygon(polygon, w[i], skipped)
        if coords is not None:
            polygons.append(coords)
    if polygons:
        return PolygonShape(tuple(polygons)), True
    if any(isinstance(p, list) and p for p in segmentation or []):
        raise w.error("with no usable polygon")
    if "bbox" not in item:  # no segmentation and no box
        return None, False
    x, y, bw, bh = (as_number(v, where["bbox"][j]) for j, v in enumerate(_four(item["bbox"], where["bbox"])))
    if bw <= 0 or bh <= 0:
        raise where["bbox"].error("with an empty bbox and no segmentation")
    return BoxShape((x, y, x + bw, y + bh)), False


def _four(value: Any, where: Where) -> list:
    items = as_list(value, where)
    if len(items) != 4:
        raise where.error("with a bbox that is not 4 numbers")
    return items


def _polygon(value: Any, where: Where, skipped: Skipped) -> tuple[float, ...] | None:
    at = f"{where.file}: {where.path}"
    if not isinstance(value, list):
        skipped.add("polygon", "that is not a list of numbers", at)
        return None
    if not value:
        return None  # CVAT writes [[]] for boxes
    fast = coordinates(value)
    if fast is None:
        skipped.add("polygon", "with a coordinate that is not a finite number in range", at)
        return None
    coords = tuple(fast.tolist())
    if len(coords) % 2:
        skipped.add("polygon", "with an odd number of coordinates", at)
        return None
    if len(coords) < 6:
        skipped.add("polygon", "with fewer than 3 points", at)
        return None
    return coords


def _reason(exc: FormatError) -> str:
    """A skip reason that groups alike problems: the field's name and what is wrong with it."""
    problem = exc.problem.split(", got ")[0]
    if problem.startswith("with "):
        return problem
    name = exc.field.rsplit(".", 1)[-1].split("[", 1)[0] or "entry"
    if name == "size" and exc.field.endswith("segmentation.size"):
        return "with an RLE of another size than its image"
    if problem == "missing":
        return f"without {name}"
    if problem.startswith("must be"):
        return f"whose {name} is not valid ({problem})"
    if "RLE" in problem or name == "counts":
        return "with invalid RLE counts"
    return f"whose {name} {problem}" if problem[:2] in ("is", "ha") else f"with a bad {name} ({problem})"


__all__ = ["looks_like_coco", "parse_coco"]
