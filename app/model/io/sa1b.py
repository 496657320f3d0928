"""SA-1B JSON: one file per image, as released with Segment Anything.

Each file is::

    {"image": {"image_id", "width", "height", "file_name"},
     "annotations": [{"id", "segmentation": {"size": [H, W], "counts": str},
                      "bbox", "area", "predicted_iou", "point_coords",
                      "crop_box", "stability_score"}, ...]}

``segmentation`` is compressed column-major COCO RLE, ``bbox`` and ``crop_box``
are XYWH and ``point_coords`` lists [x, y] pairs, all in the image pixel frame.
Scores are ``null`` for masks SAM did not make; ``crop_box`` is the whole image
when unknown.

``bbox`` follows SAM's generator, which made the released SA-1B masks:
``segment_anything``'s ``batched_mask_to_box`` takes the first and last
column and row that hold the mask, and ``box_xyxy_to_xywh`` gives
``[x0, y0, x_last - x0, y_last - y0]``, one pixel less than COCO's pixel-count
width and height (``[0, 0, 0, 0]`` for an empty mask). ``python -m
sam_core.amg`` and the data engine write the same. Readers take the mask as
the truth and ignore ``bbox``.

Reading applies :mod:`sam_core.limits` to every file (size, nesting, the image's
size, the masks' memory); a ``file_name`` outside the project is read as its last
part, with a note.

Categories and the rest of the provenance ride in extra ``"maskwright"`` objects
(the category list at the top of every file, ``category_id`` etc. per
annotation), so our own round trip keeps them. Foreign files get one category,
``"object"``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import Any

from app.model.annotation import Annotation, Category, ImageRecord, default_color
from app.model.dataset import Dataset
from app.model.io import extras
from app.model.io.atomic import write_json_atomic
from app.model.io.fields import (
    FormatError,
    Where,
    as_bool,
    as_dict,
    as_int,
    as_list,
    as_numbers,
    as_optional_number,
    as_side,
    check_image_size,
    load_json,
)
from app.model.io.fields import field as get
from app.model.io.coco import image_name
from app.model.io.segmentation import read_rle
from sam_core.limits import DEFAULT_LIMITS, Limits, MaskBudget

DEFAULT_CATEGORY_NAME = "object"


def sa1b_file_name(image: ImageRecord) -> PurePosixPath:
    """Where an image's JSON goes, relative to the export directory: its
    ``file_name`` with the suffix replaced by ``.json`` (``a/sa_1.jpg`` ->
    ``a/sa_1.json``). ``ValueError`` for names that would leave the directory."""
    name = PurePosixPath(image.file_name.replace("\\", "/"))
    if name.is_absolute() or ".." in name.parts or not name.name:
        raise ValueError(f"image file_name {image.file_name!r} would be written outside the export directory")
    return name.with_suffix(".json")


def sam_bbox(mask) -> list[int]:
    """SAM's XYWH box of a mask (see the module docstring): width and height are the last
    column and row minus the first, so a one-pixel mask is ``[x, y, 0, 0]``."""
    x, y, w, h = mask.bbox
    return [x, y, max(w - 1, 0), max(h - 1, 0)] if w and h else [0, 0, 0, 0]


def write_sa1b(dataset: Dataset, directory: Path | str,
               progress: Callable[[int, int], None] | None = None) -> list[Path]:
    """Write one SA-1B JSON file per image into ``directory`` (created if needed),
    each atomically. Returns the written paths. Files already there that no
    image maps to are left alone. ``progress(files written, files)`` is called
    after each file; an exception it raises (a cancel) stops the export there."""
    directory = Path(directory)
    targets: dict[PurePosixPath, ImageRecord] = {}
    for image in dataset.images.values():
        target = sa1b_file_name(image)
        if target in targets:
            raise ValueError(f"images {targets[target].file_name!r} and {image.file_name!r} would both write {target}")
        targets[target] = image
    categories = [extras.category_to_json(c) for c in dataset.categories.values()]
    written = []
    for target, image in targets.items():
        path = directory / target
        path.parent.mkdir(parents=True, exist_ok=True)
        document = {
            "image": {
                "image_id": image.id,
                "width": image.width,
                "height": image.height,
                "file_name": image.file_name,
            },
            "annotations": [_annotation_json(a, image) for a in dataset.annotations(image.id) if not a.waits_for_sam],
            extras.KEY: {"categories": categories},
        }
        write_json_atomic(path, document)
        written.append(path)
        if progress is not None:
            progress(len(written), len(targets))
    return written


def _annotation_json(annotation: Annotation, image: ImageRecord) -> dict[str, Any]:
    p = annotation.provenance
    mask = annotation.mask
    crop_box = p.crop_box if p.crop_box is not None else (0.0, 0.0, float(image.width), float(image.height))
    return {
        "id": annotation.id,
        "segmentation": mask.rle(),
        "bbox": sam_bbox(mask),
        "area": mask.area,
        "predicted_iou": p.predicted_iou,
        "point_coords": [[x, y] for x, y in p.points],
        "crop_box": list(crop_box),
        "stability_score": p.stability_score,
        extras.KEY: {
            "category_id": annotation.category_id,
            "iscrowd": annotation.iscrowd,
            "source": p.source,
            "edited": p.edited,
            "reviewed": p.reviewed,
            "point_labels": list(p.point_labels),
            "box": None if p.box is None else list(p.box),
        },
    }


def read_sa1b(path: Path | str, limits: Limits = DEFAULT_LIMITS, notes: list[str] | None = None) -> Dataset:
    """Parse SA-1B JSON into a new :class:`Dataset`, keeping image and annotation ids.

    ``path`` is one file or a directory, whose ``*.json`` files (recursively,
    in sorted order) must all be SA-1B. Raises :class:`FormatError` naming the
    file and field on anything malformed, beyond ``limits`` or inconsistent between
    files. Notes on names mapped into the project go to ``notes`` when given.
    """
    path = Path(path)
    files = sorted(p for p in path.rglob("*.json") if p.is_file()) if path.is_dir() else [path]
    if not files:
        raise FormatError(str(path), "", "no .json files in this directory")
    images: list[ImageRecord] = []
    categories: dict[int, Category] = {}
    parsed: list[tuple[dict[str, Any], Where, int | None]] = []  # annotation, where, category id
    image_ids: set[int] = set()
    names: set[str] = set()
    annotation_ids: set[int] = set()
    for file in files:
        data, where = load_json(file, limits)
        top = as_dict(data, where)
        if "image" not in top and "images" in top:
            raise where["image"].error("missing (this looks like a COCO file: use read_coco)")
        image = _read_image(*get(top, "image", where), limits, notes)
        budget = limits.mask_budget()
        if image.id in image_ids:
            raise where["image"]["image_id"].error(f"duplicate image id {image.id} (also in another file)")
        if image.file_name in names:
            raise where["image"]["file_name"].error(f"duplicate file_name {image.file_name!r}")
        image_ids.add(image.id)
        names.add(image.file_name)
        images.append(image)
        if extras.KEY in top:
            top_extras, extras_where = as_dict(top[extras.KEY], where[extras.KEY]), where[extras.KEY]
            if "categories" in top_extras:
                for i, category in enumerate(extras.read_categories(*get(top_extras, "categories", extras_where))):
                    if categories.setdefault(category.id, category) != category:
                        raise extras_where["categories"][i].error(
                            f"category {category.id} differs from the one in another file"
                        )
        items, items_where = get(top, "annotations", where)
        for i, item in enumerate(as_list(items, items_where)):
            annotation, category_id = _read_annotation(item, items_where[i], image, budget)
            if annotation.id in annotation_ids:
                raise items_where[i]["id"].error(f"duplicate annotation id {annotation.id}")
            annotation_ids.add(annotation.id)
            parsed.append((annotation, items_where[i], category_id))
    default_id = None
    if any(category_id is None for *_, category_id in parsed):
        fallback = next((c for c in categories.values() if c.name == DEFAULT_CATEGORY_NAME), None)
        if fallback is None:
            fallback_id = max(categories, default=0) + 1
            fallback = Category(fallback_id, DEFAULT_CATEGORY_NAME, default_color(fallback_id))
            categories[fallback_id] = fallback
        default_id = fallback.id
    dataset = Dataset()
    for image in images:
        dataset.add_image(image)
    for category in categories.values():
        dataset.add_category(category)
    for annotation, where, category_id in parsed:
        if category_id is not None and category_id not in categories:
            raise where[extras.KEY]["category_id"].error(f"no category with id {category_id}")
        dataset.add_annotation(annotation.with_category(category_id if category_id is not None else default_id))
    return dataset


def import_sa1b(dataset: Dataset, path: Path | str, limits: Limits = DEFAULT_LIMITS,
                notes: list[str] | None = None) -> list[Annotation]:
    """Read SA-1B files and merge them into ``dataset`` (see :meth:`Dataset.merge`).
    On any error the dataset is left as it was."""
    return dataset.merge(read_sa1b(path, limits, notes))


def _read_image(value: Any, where: Where, limits: Limits, notes: list[str] | None) -> ImageRecord:
    d = as_dict(value, where)
    image = ImageRecord(
        as_int(*get(d, "image_id", where), minimum=0),
        image_name(*get(d, "file_name", where), notes),
        as_side(*get(d, "width", where), limits),
        as_side(*get(d, "height", where), limits),
    )
    check_image_size(image.width, image.height, where, limits)
    return image


def _read_annotation(value: Any, where: Where, image: ImageRecord,
                     budget: MaskBudget) -> tuple[Annotation, int | None]:
    """The annotation (category id -1 as a placeholder) and its category id, if recorded."""
    d = as_dict(value, where)
    annotation_id = as_int(*get(d, "id", where), minimum=0)
    mask = read_rle(*get(d, "segmentation", where), image.height, image.width, budget)
    known: dict[str, Any] = {
        "points": extras.read_points(*get(d, "point_coords", where, default=[])),
        "predicted_iou": as_optional_number(*get(d, "predicted_iou", where, default=None)),
        "stability_score": as_optional_number(*get(d, "stability_score", where, default=None)),
    }
    if d.get("crop_box") is not None:
        known["crop_box"] = as_numbers(d["crop_box"], where["crop_box"], length=4)
    category_id, iscrowd, own = None, False, None
    if extras.KEY in d:
        own = dict(as_dict(d[extras.KEY], where[extras.KEY]))
        ext_where = where[extras.KEY]
        if "category_id" in own:
            category_id = as_int(own.pop("category_id"), ext_where["category_id"])
        if "iscrowd" in own:
            iscrowd = as_bool(own.pop("iscrowd"), ext_where["iscrowd"])
    provenance = extras.provenance_from_json(own, where[extras.KEY], **known)
    return Annotation(annotation_id, image.id, -1, mask, provenance, iscrowd), category_id


__all__ = ["FormatError", "import_sa1b", "read_sa1b", "sa1b_file_name", "write_sa1b"]
