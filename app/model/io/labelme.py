"""labelme and X-AnyLabeling JSON: one file per image, read into a project and written from one.

Reading (:func:`parse_labelme`, a file or a folder searched recursively):

- ``polygon`` (and X-AnyLabeling's 4-point ``rotation``), ``circle``, ``rectangle`` and
  labelme's ``mask`` shapes (a base64 PNG of the pixels inside ``points``' box) become
  masks; points, lines and line strips are skipped (they have no area).
- Shapes of one label and one ``group_id`` are one object, as labelme's own converters
  make them. A rectangle alone is a *box waiting for SAM* (a detection label).
- Holes: a shape labelled ``__background__`` (or labelme's ``_background_``) erases its
  pixels, from its group's objects when it has a ``group_id``, else from every object
  drawn before it (the painter's order labelme renders labels in). In a group without
  such shapes, a polygon that lies inside another of the group is a hole (nested ones
  alternate, even-odd): under labelme's union it would add nothing.
- Shape ``flags``, X-AnyLabeling's ``attributes``, ``difficult`` and a non-empty
  ``description`` become the object's attributes. Image-level flags are counted as not
  kept (Maskwright's attributes belong to annotations).
- Polygons are filled by pixel centres, as pycocotools fills COCO polygons (what
  ``labelme2coco`` users train on); labelme's own drawing (PIL) also fills the pixels its
  outline touches, about one pixel more on the right and bottom.

Writing (:func:`write_labelme`): one JSON per image at ``<out>/<image path without
suffix>.json``, with ``imagePath`` relative to it. Each part of a mask is a ``polygon``
along its pixel edges (exact), holes are ``__background__`` polygons of the same
``group_id``, written after the parts they cut; a box waiting for SAM is a ``rectangle``.
Reading the files back gives the masks pixel for pixel.
"""
from __future__ import annotations

import base64
import os
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import Any

import cv2
import numpy as np
import shapely

from app.model.annotation import Annotation, AttributeValue, ImageRecord
from app.model.dataset import Dataset
from app.model.io.atomic import write_json_atomic
from app.model.io.fields import FormatError, Where, as_dict, as_int, as_list, as_number, as_str, load_json
from app.model.io.imported import (
    MAX_COORDINATE,
    BoxShape,
    CircleShape,
    ImportedAnnotation,
    ImportedFile,
    ImportedImage,
    LayeredShape,
    PatchShape,
    PolygonShape,
    Shape,
    coordinates,
)
from app.model.io.polygons import trace_rings
from app.model.io.skips import Skipped

BACKGROUND_LABELS = ("__background__", "_background_")
HOLE_LABEL = "__background__"
VERSION = "5.5.0"  # the labelme file version we write (mask shapes exist since 5.3)
_AREA_TYPES = ("polygon", "rotation", "rectangle", "circle", "mask")
MAX_PATCH_PIXELS = 500_000_000  # the largest image the app opens (sam_core's default pixel limit)


def looks_like_labelme(top: Any) -> bool:
    return isinstance(top, dict) and isinstance(top.get("shapes"), list)


# -- reading ------------------------------------------------------------------------------------
def parse_labelme(path: Path | str, progress=None) -> ImportedFile:
    """Read labelme / X-AnyLabeling JSON; a folder's files are found recursively and a file in
    it that is not labelme JSON is skipped. Raises :class:`FormatError` when none is."""
    path = Path(path)
    files = sorted(p for p in path.rglob("*.json") if p.is_file()) if path.is_dir() else [path]
    root = path if path.is_dir() else path.parent
    if not files:
        raise FormatError(str(path), "", "no .json files in this folder")
    result = ImportedFile(path, "labelme", files=len(files))
    first_error = None
    for done, file in enumerate(files, start=1):
        try:
            result.images.append(_file(file, root, result))
        except (FormatError, OSError) as exc:
            first_error = first_error or exc
            reason = "that are not labelme JSON" if isinstance(exc, FormatError) else "that could not be read"
            result.skipped.add("file", reason, str(file))
        if progress is not None:
            progress(done, len(files))
    if not result.images:
        if len(files) == 1 and isinstance(first_error, FormatError):
            raise first_error
        raise FormatError(str(path), "", f"none of its {len(files)} .json files is labelme JSON")
    return result


def _file(file: Path, root: Path, result: ImportedFile) -> ImportedImage:
    data, where = load_json(file)
    if not looks_like_labelme(data):
        raise where.error("not labelme JSON (it needs a \"shapes\" list)")
    name, stem = _image_name(file, root, data.get("imagePath"))
    image = ImportedImage(name, stem=stem, where=str(file))
    height, width = data.get("imageHeight"), data.get("imageWidth")
    if _positive_int(height) and _positive_int(width):
        image.size = (height, width)
    flags = data.get("flags")
    if isinstance(flags, dict) and any(v is True for v in flags.values()):
        result.skipped.add("image flag", "(Maskwright keeps attributes per annotation, not per image)", str(file),
                           count=sum(v is True for v in flags.values()))
    shapes = [_shape(item, where["shapes"][i], result.skipped) for i, item in enumerate(data["shapes"])]
    for annotation in _objects([s for s in shapes if s is not None], result.skipped, str(file)):
        result.category(annotation.category)
        image.annotations.append(annotation)
    return image


def _positive_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _image_name(file: Path, root: Path, image_path: Any) -> tuple[str, bool]:
    """The image's name relative to the import root (``imagePath`` is relative to the JSON's
    folder, Windows separators included), or the JSON's stem when it names none."""
    folder = file.parent.relative_to(root).as_posix()
    if isinstance(image_path, str) and image_path.strip():
        joined = os.path.normpath(os.path.join(folder, image_path.replace("\\", "/"))).replace("\\", "/")
        parts = joined.split("/")
        while parts and parts[0] == "..":  # the image lies outside the import: its path's tail still matches
            parts.pop(0)
        return "/".join(parts), False
    return file.relative_to(root).with_suffix("").as_posix(), True  # a stem: the suffix is unknown


class _Drawn:
    """One shape as read: its label, group, geometry, kind and attributes."""

    def __init__(self, label: str, group: int | None, kind: str, shape: Shape | None, box, attributes: dict,
                 at: str) -> None:
        self.label, self.group, self.kind, self.shape, self.box = label, group, kind, shape, box
        self.attributes, self.at = attributes, at

    @property
    def is_background(self) -> bool:
        return self.label in BACKGROUND_LABELS


def _shape(item: Any, where: Where, skipped: Skipped) -> _Drawn | None:
    at = f"{where.file}: {where.path}"
    try:
        d = as_dict(item, where)
        label = as_str(d.get("label"), where["label"], nonempty=True)
        kind = d.get("shape_type") or "polygon"
        if kind not in _AREA_TYPES:
            skipped.add("shape", f"of type {kind!r} (no area)" if isinstance(kind, str) else "of no known type", at)
            return None
        group = d.get("group_id")
        group = None if group is None else as_int(group, where["group_id"])
        points = _points(d.get("points"), where["points"])
        shape, box = _geometry(kind, points, d, where)
    except FormatError as exc:
        skipped.add("shape", exc.problem if exc.problem.startswith("with ") else "that is not valid", at)
        return None
    return _Drawn(label, group, kind, shape, box, _attributes(d), at)


def _points(value: Any, where: Where) -> list[tuple[float, float]]:
    """A list of [x, y] pairs (a fast path for the common case; the slow one names the bad value)."""
    fast = coordinates(value, pairs=True)
    if fast is not None:
        return [tuple(p) for p in fast.tolist()]
    points = [tuple(as_number(v, where[i][j]) for j, v in enumerate(as_list(p, where[i])))
              for i, p in enumerate(as_list(value, where))]
    if any(len(p) != 2 for p in points):
        raise where.error("with points that are not [x, y] pairs")
    if any(abs(v) > MAX_COORDINATE for p in points for v in p):
        raise where.error("with a point far outside any image")
    return points


def _geometry(kind: str, points: list[tuple[float, float]], d: dict, where: Where):
    """(shape, None), or (None, XYXY box) for a rectangle, which may stay a box."""
    if kind in ("polygon", "rotation"):
        if len(points) < 3:
            raise where["points"].error("with fewer than 3 points")
        return PolygonShape((tuple(v for p in points for v in p),)), None
    if kind == "circle":
        if len(points) != 2:
            raise where["points"].error("with a circle not given as 2 points")
        (cx, cy), (px, py) = points
        return CircleShape(cx, cy, float(np.hypot(px - cx, py - cy))), None
    if kind == "rectangle":
        if len(points) not in (2, 4):  # X-AnyLabeling writes the four corners
            raise where["points"].error("with a rectangle not given as 2 or 4 points")
        xs, ys = [p[0] for p in points], [p[1] for p in points]
        box = (min(xs), min(ys), max(xs), max(ys))
        if box[2] - box[0] <= 0 or box[3] - box[1] <= 0:
            raise where["points"].error("with an empty rectangle")
        return None, box
    if len(points) != 2 or not isinstance(d.get("mask"), str):  # kind == "mask"
        raise where["mask"].error("with a mask shape lacking its 2 points or its base64 PNG")
    try:
        raw = base64.b64decode(d["mask"], validate=True)
        if _png_pixels(raw) > MAX_PATCH_PIXELS:  # a few bytes of PNG can unpack to gigabytes
            raise where["mask"].error("with a mask PNG larger than any image")
        data = np.frombuffer(raw, dtype=np.uint8)
        patch = cv2.imdecode(data, cv2.IMREAD_UNCHANGED) if data.size else None
    except (ValueError, cv2.error) as exc:
        if isinstance(exc, FormatError):
            raise
        patch = None
    if patch is None:
        raise where["mask"].error("with a mask that is not a base64 PNG")
    patch = patch[..., 0] if patch.ndim == 3 else patch
    (x1, y1), _ = points
    return PatchShape(int(round(x1)), int(round(y1)), patch > 0), None


def _png_pixels(data: bytes) -> int:
    """Width x height from a PNG's IHDR (before decoding it); 0 when it is not a PNG."""
    if len(data) < 24 or data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR":
        return 0
    return int.from_bytes(data[16:20], "big") * int.from_bytes(data[20:24], "big")


def _attributes(d: dict) -> dict[str, AttributeValue]:
    values: dict[str, AttributeValue] = {}
    flags = d.get("flags")
    if isinstance(flags, dict):
        values.update({k: v for k, v in flags.items() if isinstance(k, str) and k and isinstance(v, bool)})
    extra = d.get("attributes")  # X-AnyLabeling
    if isinstance(extra, dict):
        values.update({k: v for k, v in extra.items() if isinstance(k, str) and k
                       and isinstance(v, (bool, int, float, str)) and not (isinstance(v, float) and not np.isfinite(v))})
    if d.get("difficult") is True:
        values["difficult"] = True
    if isinstance(d.get("description"), str) and d["description"].strip():
        values["description"] = d["description"]
    return values


def _objects(shapes: list[_Drawn], skipped: Skipped, file: str) -> list[ImportedAnnotation]:
    """Group the shapes into objects, apply the holes, and make each object's annotation."""
    objects: dict[tuple, list[tuple[Shape, bool]]] = {}
    firsts: dict[tuple, _Drawn] = {}
    attributes: dict[tuple, dict] = {}
    for n, drawn in enumerate(shapes):
        if drawn.is_background:
            shape = drawn.shape or PolygonShape((_box_polygon(drawn.box),))
            targets = [k for k in objects if drawn.group is None or k[1] == drawn.group]
            if not targets:
                skipped.add("hole", "with nothing under it to cut", drawn.at)
            for key in targets:
                objects[key].append((shape, False))
            continue
        key = (drawn.label, drawn.group) if drawn.group is not None else (drawn.label, None, n)
        shape = drawn.shape if drawn.shape is not None else PolygonShape((_box_polygon(drawn.box),))
        objects.setdefault(key, []).append((shape, True))
        firsts.setdefault(key, drawn)
        attributes.setdefault(key, {}).update({k: v for k, v in drawn.attributes.items()
                                               if k not in attributes.get(key, {})})
    out = []
    for key, layers in objects.items():
        first = firsts[key]
        if len(layers) == 1 and first.box is not None:  # a rectangle alone: a detection box
            out.append(ImportedAnnotation(first.label, BoxShape(first.box), attributes=tuple(attributes[key].items())))
            continue
        if all(adds for _, adds in layers):
            layers = _nested_holes(layers)
        shape = layers[0][0] if len(layers) == 1 else LayeredShape(tuple(layers))
        out.append(ImportedAnnotation(first.label, shape, attributes=tuple(sorted(attributes[key].items()))))
    return out


def _box_polygon(box: tuple[float, float, float, float]) -> tuple[float, ...]:
    x0, y0, x1, y1 = box
    return (x0, y0, x1, y0, x1, y1, x0, y1)


def _nested_holes(layers: list[tuple[Shape, bool]]) -> list[tuple[Shape, bool]]:
    """A group's polygons by nesting depth: a polygon inside an odd number of the others is a hole."""
    polygons = [s for s, _ in layers if isinstance(s, PolygonShape) and len(s.polygons) == 1]
    if len(polygons) < 2 or len(polygons) != len(layers):
        return layers
    rings = [shapely.Polygon(np.asarray(s.polygons[0]).reshape(-1, 2)) for s in polygons]
    if not all(r.is_valid for r in rings):
        return layers
    depths = [sum(other.contains(ring) for other in rings if other is not ring) for ring in rings]
    order = sorted(range(len(polygons)), key=lambda i: depths[i])
    return [(polygons[i], depths[i] % 2 == 0) for i in order]


# -- writing ------------------------------------------------------------------------------------
def labelme_file_name(image: ImageRecord) -> PurePosixPath:
    """``a/b.jpg`` -> ``a/b.json``; ``ValueError`` for names that would leave the export folder."""
    name = PurePosixPath(image.file_name.replace("\\", "/"))
    if name.is_absolute() or ".." in name.parts or not name.name:
        raise ValueError(f"image file_name {image.file_name!r} would be written outside the export folder")
    return name.with_suffix(".json")


def labelme_document(image: ImageRecord, annotations: list[Annotation], names: dict[int, str],
                     image_path: str) -> dict[str, Any]:
    """One image's labelme JSON; ``names`` maps category ids to labels."""
    shapes: list[dict[str, Any]] = []
    group = 0
    for annotation in annotations:
        label = names[annotation.category_id]
        flags = {k: v for k, v in annotation.attributes if isinstance(v, bool)}
        others = {k: v for k, v in annotation.attributes if not isinstance(v, bool)}
        if annotation.waits_for_sam:
            x0, y0, x1, y1 = annotation.provenance.box
            shapes.append(_shape_json(label, [[x0, y0], [x1, y1]], "rectangle", None, flags, others))
            continue
        rings = trace_rings(annotation.mask)
        group_id = None
        if len(rings) > 1:
            group += 1
            group_id = group
        for depth, vertices in rings:
            points = [[float(x), float(y)] for x, y in vertices]
            shapes.append(_shape_json(label if depth % 2 == 0 else HOLE_LABEL, points, "polygon", group_id,
                                      flags if depth == 0 else {}, others if depth == 0 else {}))
    return {
        "version": VERSION,
        "flags": {},
        "shapes": shapes,
        "imagePath": image_path,
        "imageData": None,
        "imageHeight": image.height,
        "imageWidth": image.width,
    }


def _shape_json(label: str, points: list, kind: str, group_id: int | None, flags: dict, others: dict) -> dict:
    shape = {"label": label, "points": points, "group_id": group_id, "description": "", "shape_type": kind,
             "flags": flags, "mask": None}
    if others:
        shape["attributes"] = others  # X-AnyLabeling reads these; labelme keeps them as extra data
    return shape


def write_labelme(dataset: Dataset, folder: Path | str, project_folder: Path | str,
                  progress: Callable[[int, int], None] | None = None) -> list[Path]:
    """Write one labelme JSON per image of ``dataset`` into ``folder``, each atomically, with
    ``imagePath`` pointing at the image in ``project_folder``; ``progress(images done, images)``
    after each image (an exception it raises stops the export there). Returns the written paths."""
    folder, project_folder = Path(folder), Path(project_folder)
    names = {c.id: c.name for c in dataset.categories.values()}
    written = []
    for image in dataset.images.values():
        target = folder / labelme_file_name(image)
        target.parent.mkdir(parents=True, exist_ok=True)
        image_path = Path(os.path.relpath(project_folder / image.file_name, target.parent)).as_posix()
        write_json_atomic(target, labelme_document(image, dataset.annotations(image.id), names, image_path))
        written.append(target)
        if progress is not None:
            progress(len(written), len(dataset.images))
    return written


__all__ = ["BACKGROUND_LABELS", "looks_like_labelme", "labelme_document", "parse_labelme", "write_labelme"]
