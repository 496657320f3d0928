"""COCO instances JSON: export and import.

Export writes ``images``, ``categories`` and ``annotations`` with ``segmentation``
as compressed RLE (lossless; ``counts`` a string) or as polygons, plus ``bbox``
(XYWH pixels, as ``pycocotools.mask.toBbox``), ``area`` (pixel count, as
``pycocotools.mask.area``), ``iscrowd``, ``id``, ``image_id`` and
``category_id``. Provenance and category colours go in extra ``"maskwright"``
objects that other consumers ignore.

A box waiting for SAM (an empty mask with a prompt box) is written as COCO's
box-only annotation, as CVAT writes rectangles: ``"segmentation": []`` with the
box as ``bbox`` and its area; pycocotools' ``COCO`` loads it (``annToMask``
cannot: there is no mask yet). Annotation attributes go in CVAT's
``"attributes"`` object.

Polygons cannot express holes, so RLE is the lossless choice. In polygon mode,
masks with holes are written as RLE (``holes="rle"``), as RLE marked
``iscrowd=1`` (``holes="crowd"``), or as outer-boundary polygons that fill the
holes (``holes="drop"``). Crowd and empty masks are always RLE. For polygons,
``area`` and ``bbox`` are those of the mask the polygons rasterise to, which is
what consumers will see, and the :class:`ExportReport` gives each polygon's IoU
with the true mask.

Import accepts compressed RLE, uncompressed RLE and polygons and builds a new
:class:`Dataset`; nothing existing is touched until the whole file is valid.
Sizes are checked against :mod:`sam_core.limits` (file, nesting, image size, the
masks' memory); a ``file_name`` outside the project (absolute, or with ``..``) is
read as its last part, with a note.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from app.model.annotation import Annotation, ImageRecord
from app.model.dataset import Dataset
from app.model.io import extras
from app.model.io.atomic import write_json_atomic
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
    load_json,
)
from app.model.io.fields import field as get
from app.model.io.polygons import has_holes, iou, mask_to_polygons, polygons_to_rle
from app.model.io.segmentation import read_segmentation
from app.model.mask import Mask
from app.model.names import display_name, inside_name, map_into_project
from sam_core.limits import DEFAULT_LIMITS, Limits, MaskBudget

SegmentationKind = Literal["rle", "polygons"]
HolesPolicy = Literal["rle", "crowd", "drop"]

INFO = {"description": "Maskwright export", "version": "1.0"}


@dataclass
class ExportReport:
    """What an export wrote and, for polygons, what it lost.

    ``polygon_iou`` maps each annotation id written as polygons to the IoU of the
    polygons' raster with the true mask (1.0 = lossless, IoU loss = 1 - IoU).
    ``rle_fallback`` lists annotations written as RLE in polygon mode (holes,
    crowd or empty masks); ``holes_dropped`` those written as polygons that fill
    their holes (policy "drop"); ``boxes`` counts boxes waiting for SAM, written
    box-only.
    """

    path: Path
    images: int
    annotations: int
    segmentation: SegmentationKind
    polygon_iou: dict[int, float] = field(default_factory=dict)
    rle_fallback: list[int] = field(default_factory=list)
    holes_dropped: list[int] = field(default_factory=list)
    boxes: int = 0

    @property
    def mean_iou(self) -> float:
        return sum(self.polygon_iou.values()) / len(self.polygon_iou) if self.polygon_iou else 1.0

    @property
    def min_iou(self) -> float:
        return min(self.polygon_iou.values(), default=1.0)

    def summary(self) -> dict[str, Any]:
        """JSON-ready figures, e.g. for a log line or a dialog."""
        worst = sorted(self.polygon_iou.items(), key=lambda item: item[1])[:5]
        return {
            "path": str(self.path),
            "images": self.images,
            "annotations": self.annotations,
            "segmentation": self.segmentation,
            "polygons": len(self.polygon_iou),
            "rle_fallback": len(self.rle_fallback),
            "holes_dropped": len(self.holes_dropped),
            "boxes": self.boxes,
            "mean_iou": self.mean_iou,
            "min_iou": self.min_iou,
            "worst": [{"id": a, "iou": v} for a, v in worst],
        }


def write_coco(
    dataset: Dataset,
    path: Path | str,
    *,
    segmentation: SegmentationKind = "rle",
    tolerance: float = 1.0,
    holes: HolesPolicy = "rle",
    progress: Callable[[int, int], None] | None = None,
) -> ExportReport:
    """Write ``dataset`` as one COCO instances JSON file, atomically.

    ``progress(images done, images)`` is called after each image; an exception it
    raises (a cancel) stops the export before anything is written.

    ``segmentation`` picks RLE (lossless) or polygons simplified by ``tolerance``
    pixels; ``holes`` says what polygon mode does with masks that have holes (see
    the module docstring). Annotations imported from polygons reuse those
    polygons while their mask is unchanged.
    """
    if segmentation not in ("rle", "polygons"):
        raise ValueError(f"segmentation must be 'rle' or 'polygons', got {segmentation!r}")
    if holes not in ("rle", "crowd", "drop"):
        raise ValueError(f"holes must be 'rle', 'crowd' or 'drop', got {holes!r}")
    path = Path(path)
    report = ExportReport(path, len(dataset.images), dataset.annotation_count, segmentation)
    annotations = []
    for done, image in enumerate(dataset.images.values(), start=1):
        for annotation in dataset.annotations(image.id):
            if annotation.waits_for_sam:
                report.boxes += 1
                annotations.append(_box_json(annotation))
            elif segmentation == "polygons":
                annotations.append(_polygon_json(annotation, tolerance, holes, report))
            else:
                annotations.append(_rle_json(annotation, annotation.iscrowd))
        if progress is not None:
            progress(done, len(dataset.images))
    document = {
        "info": INFO,
        "licenses": [],
        "images": [_image_json(image) for image in dataset.images.values()],
        "categories": [extras.category_to_json(c) for c in dataset.categories.values()],
        "annotations": annotations,
    }
    write_json_atomic(path, document)
    return report


def _image_json(image: ImageRecord) -> dict[str, Any]:
    return {"id": image.id, "file_name": image.file_name, "width": image.width, "height": image.height}


def _annotation_json(
    annotation: Annotation, segmentation: Any, mask: Mask, iscrowd: bool
) -> dict[str, Any]:
    value = {
        "id": annotation.id,
        "image_id": annotation.image_id,
        "category_id": annotation.category_id,
        "segmentation": segmentation,
        "area": mask.area,
        "bbox": list(mask.bbox),
        "iscrowd": int(iscrowd),
        extras.KEY: extras.provenance_to_json(annotation.provenance),
    }
    if annotation.attributes:
        value["attributes"] = extras.attributes_to_json(annotation.attributes)
    return value


def _box_json(annotation: Annotation) -> dict[str, Any]:
    """A box waiting for SAM as a box-only annotation: bbox XYWH in pixels, its area, no mask."""
    value = _annotation_json(annotation, [], annotation.mask, False)
    x0, y0, x1, y1 = annotation.provenance.box
    value["bbox"] = [x0, y0, x1 - x0, y1 - y0]
    value["area"] = (x1 - x0) * (y1 - y0)
    return value


def _rle_json(annotation: Annotation, iscrowd: bool) -> dict[str, Any]:
    return _annotation_json(annotation, annotation.mask.rle(), annotation.mask, iscrowd)


def _polygon_json(annotation: Annotation, tolerance: float, holes: HolesPolicy, report: ExportReport) -> dict:
    mask = annotation.mask
    if annotation.polygons and not annotation.iscrowd and all(len(p) >= 6 and len(p) % 2 == 0
                                                                for p in annotation.polygons):
        # Imported polygons are reused while they still are the mask (a file edited by hand may
        # say otherwise): their IoU is measured, never assumed.
        kept = iou(polygons_to_rle([list(p) for p in annotation.polygons], *mask.shape), mask.rle())
        if kept == 1.0:
            report.polygon_iou[annotation.id] = kept
            return _annotation_json(annotation, [list(p) for p in annotation.polygons], mask, False)
    holed = has_holes(mask)
    if annotation.iscrowd or mask.is_empty or (holed and holes != "drop"):
        report.rle_fallback.append(annotation.id)
        return _rle_json(annotation, annotation.iscrowd or (holed and holes == "crowd"))
    if holed:
        report.holes_dropped.append(annotation.id)
    polygons = mask_to_polygons(mask, tolerance)
    raster = polygons_to_rle(polygons, *mask.shape)
    report.polygon_iou[annotation.id] = iou(raster, mask.rle())
    return _annotation_json(annotation, polygons, Mask.from_rle(raster), False)


def read_coco(path: Path | str, limits: Limits = DEFAULT_LIMITS, notes: list[str] | None = None) -> Dataset:
    """Parse a COCO instances JSON file into a new :class:`Dataset`, keeping its ids.

    Raises :class:`FormatError` naming the file and field on anything malformed or beyond
    ``limits``. One-line notes on what was read differently (a ``file_name`` mapped into the
    project) are appended to ``notes`` when given.
    """
    data, where = load_json(path, limits)
    top = as_dict(data, where)
    if "images" not in top and "image" in top:
        raise where["images"].error("missing (this looks like an SA-1B file: use read_sa1b)")
    images = _read_images(*get(top, "images", where), limits, notes)
    budget = limits.mask_budget()
    categories = extras.read_categories(*get(top, "categories", where))
    category_ids = {c.id for c in categories}
    annotations: list[Annotation] = []
    annotation_ids: set[int] = set()
    items, items_where = get(top, "annotations", where)
    for i, item in enumerate(as_list(items, items_where)):
        annotation = _read_annotation(item, items_where[i], images, category_ids, budget)
        if annotation.id in annotation_ids:
            raise items_where[i]["id"].error(f"duplicate annotation id {annotation.id}")
        annotation_ids.add(annotation.id)
        annotations.append(annotation)
    dataset = Dataset()
    for image in images.values():
        dataset.add_image(image)
    for category in categories:
        dataset.add_category(category)
    for annotation in annotations:
        dataset.add_annotation(annotation)
    return dataset


def import_coco(dataset: Dataset, path: Path | str, limits: Limits = DEFAULT_LIMITS,
                notes: list[str] | None = None) -> list[Annotation]:
    """Read a COCO file and merge it into ``dataset`` (see :meth:`Dataset.merge`).
    On any error the dataset is left as it was."""
    return dataset.merge(read_coco(path, limits, notes))


def image_name(value: Any, where: Where, notes: list[str] | None) -> str:
    """An image's ``file_name`` from an import, inside the project: one that is not (absolute,
    ``..``) is read as its last part, with a note; none at all is an error."""
    name = as_str(value, where, nonempty=True)
    if inside_name(name):
        return name
    mapped = map_into_project(name)
    if mapped is None:
        raise where.error(f"{display_name(name)!r} is not a file inside the project")
    if notes is not None:
        notes.append(f"{where.file}: {where.path}: {display_name(name)!r} is outside the project; "
                     f"read as {display_name(mapped)!r}")
    return mapped


def _read_images(value: Any, where: Where, limits: Limits, notes: list[str] | None) -> dict[int, ImageRecord]:
    images: dict[int, ImageRecord] = {}
    names: set[str] = set()
    for i, item in enumerate(as_list(value, where)):
        w = where[i]
        d = as_dict(item, w)
        image = ImageRecord(
            as_int(*get(d, "id", w), minimum=0),
            image_name(*get(d, "file_name", w), notes),
            as_side(*get(d, "width", w), limits),
            as_side(*get(d, "height", w), limits),
        )
        check_image_size(image.width, image.height, w, limits)
        if image.id in images:
            raise w["id"].error(f"duplicate image id {image.id}")
        if image.file_name in names:
            raise w["file_name"].error(f"duplicate file_name {image.file_name!r}")
        images[image.id] = image
        names.add(image.file_name)
    return images


def _read_annotation(
    value: Any, where: Where, images: dict[int, ImageRecord], category_ids: set[int], budget: MaskBudget
) -> Annotation:
    d = as_dict(value, where)
    annotation_id = as_int(*get(d, "id", where), minimum=0)
    image_id = as_int(*get(d, "image_id", where))
    if image_id not in images:
        raise where["image_id"].error(f"no image with id {image_id}")
    category_id = as_int(*get(d, "category_id", where))
    if category_id not in category_ids:
        raise where["category_id"].error(f"no category with id {category_id}")
    raw, crowd_where = get(d, "iscrowd", where, default=0)
    iscrowd = int(raw) if isinstance(raw, bool) else as_int(raw, crowd_where)
    if iscrowd not in (0, 1):
        raise crowd_where.error(f"must be 0 or 1, got {iscrowd}")
    image = images[image_id]
    segmentation, segmentation_where = get(d, "segmentation", where, default=[])
    provenance = extras.provenance_from_json(d.get(extras.KEY), where[extras.KEY])
    attributes = extras.read_attributes(d.get("attributes"), where["attributes"])
    if segmentation == [] or segmentation == [[]]:  # box-only (CVAT's rectangles): a box waiting for SAM
        x, y, w, h = as_numbers(*get(d, "bbox", where), length=4)
        if w <= 0 or h <= 0:
            raise where["bbox"].error("must have a positive width and height for a box-only annotation")
        provenance = provenance if provenance.box is not None else replace(provenance, box=(x, y, x + w, y + h))
        mask, polygons = Mask.empty(image.height, image.width), None
    else:
        mask, polygons = read_segmentation(segmentation, segmentation_where, image.height, image.width, budget)
    return Annotation(annotation_id, image_id, category_id, mask, provenance, bool(iscrowd), polygons, attributes)


__all__ = ["ExportReport", "FormatError", "import_coco", "read_coco", "write_coco"]
