"""Importing SA-1B JSON (one file, or a folder of them) into a project, skipping bad parts.

A folder is searched recursively for ``*.json``; a file in it that is not SA-1B
(or not JSON) is skipped and counted, a bad mask too, and the rest imports.
This reads Meta's released files, ``python -m sam_core.amg``'s and the data
engine's output (``python -m sam_core.engine``) and our own SA-1B export, whose
``"maskwright"`` fields bring categories and provenance back. Masks without a
category of ours get ``"object"``.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from app.model.annotation import Provenance
from app.model.io import extras
from app.model.io.fields import FormatError, Where, as_dict, as_int, as_numbers, as_optional_number, as_str
from app.model.io.fields import field as get
from app.model.io.fields import load_json
from app.model.io.imported import ImportedAnnotation, ImportedCategory, ImportedFile, ImportedImage, RleShape
from app.model.io.sa1b import DEFAULT_CATEGORY_NAME
from app.model.io.skips import Skipped

MANIFEST = "manifest.jsonl"


def looks_like_sa1b(top: Any) -> bool:
    return isinstance(top, dict) and isinstance(top.get("image"), dict) and isinstance(top.get("annotations"), list)


def sa1b_files(path: Path) -> list[Path]:
    """The JSON files an SA-1B import reads: ``path`` itself, or a folder's, recursively, sorted."""
    if path.is_dir():
        return sorted(p for p in path.rglob("*.json") if p.is_file() and not p.name.startswith("."))
    return [path]


def parse_sa1b(path: Path | str, files: list[Path] | None = None, progress=None) -> ImportedFile:
    """Read SA-1B JSON; ``files`` (default :func:`sa1b_files`) may narrow what is read and
    ``progress(done, total)`` hears of each file. Raises :class:`FormatError` when no file is
    SA-1B (a single file that is not is refused, naming why)."""
    path = Path(path)
    files = sa1b_files(path) if files is None else files
    if not files:
        raise FormatError(str(path), "", "no .json files in this folder")
    result = ImportedFile(path, "SA-1B", files=len(files))
    first_error: FormatError | None = None
    for done, file in enumerate(files, start=1):
        try:
            image = _file(file, result)
        except (FormatError, OSError) as exc:
            first_error = first_error or (exc if isinstance(exc, FormatError) else FormatError(str(file), "", str(exc)))
            result.skipped.add("file", _file_reason(exc), str(file))
        else:
            result.images.append(image)
        if progress is not None:
            progress(done, len(files))
    if not result.images:
        if len(files) == 1 and first_error is not None:
            raise first_error
        raise FormatError(str(path), "", f"none of its {len(files)} .json files is SA-1B")
    return result


def _file_reason(exc: Exception) -> str:
    if isinstance(exc, FormatError) and exc.problem.startswith("not SA-1B"):
        return "that are not SA-1B JSON"
    if isinstance(exc, FormatError) and exc.problem.startswith(("invalid JSON", "not UTF-8")):
        return "that are not valid JSON"
    if isinstance(exc, OSError):
        return "that could not be read"
    return "whose image entry is not valid"


def _file(file: Path, result: ImportedFile) -> ImportedImage:
    data, where = load_json(file)
    if not looks_like_sa1b(data):
        raise where.error("not SA-1B JSON (it needs an \"image\" object and an \"annotations\" list)")
    w = where["image"]
    d = data["image"]
    name = as_str(*get(d, "file_name", w), nonempty=True).replace("\\", "/")
    size = (as_int(*get(d, "height", w), minimum=1), as_int(*get(d, "width", w), minimum=1))
    categories = _categories(data.get(extras.KEY), where[extras.KEY], result)
    image = ImportedImage(name, size, where=str(file))
    for i, item in enumerate(data["annotations"]):
        annotation = _annotation(item, where["annotations"][i], categories, result.skipped)
        if annotation is not None:
            result.category(annotation.category)
            image.annotations.append(annotation)
    return image


def _categories(value: Any, where: Where, result: ImportedFile) -> dict[int, str]:
    """Our own export's category list (ids -> names); empty for foreign files."""
    if not isinstance(value, dict) or "categories" not in value:
        return {}
    try:
        categories = extras.read_categories(value["categories"], where["categories"])
    except FormatError as exc:
        result.skipped.add("category list", "unreadable (masks get \"object\")", f"{exc.file}: {exc.field}")
        return {}
    for c in categories:
        if all(known.name != c.name for known in result.categories):
            result.categories.append(ImportedCategory(c.name, c.color, c.supercategory))
    return {c.id: c.name for c in categories}


def _annotation(item: Any, where: Where, categories: dict[int, str],
                skipped: Skipped) -> ImportedAnnotation | None:
    at = f"{where.file}: {where.path}"
    try:
        d = as_dict(item, where)
        shape = RleShape(*get(d, "segmentation", where))  # decoded once matched
    except FormatError as exc:
        skipped.add("mask", "without a segmentation", f"{exc.file}: {exc.field}" if exc.field else at)
        return None
    try:
        known: dict[str, Any] = {
            "points": extras.read_points(*get(d, "point_coords", where, default=[])),
            "predicted_iou": as_optional_number(*get(d, "predicted_iou", where, default=None)),
            "stability_score": as_optional_number(*get(d, "stability_score", where, default=None)),
        }
        if d.get("crop_box") is not None:
            known["crop_box"] = as_numbers(d["crop_box"], where["crop_box"], length=4)
    except FormatError as exc:
        skipped.add("score", "unreadable (the mask is kept without its scores)", f"{exc.file}: {exc.field}")
        known = {}
    own = d.get(extras.KEY)
    category, iscrowd = DEFAULT_CATEGORY_NAME, False
    try:
        if own is not None:
            own = dict(as_dict(own, where[extras.KEY]))
            category_id = own.pop("category_id", None)
            if category_id is not None:
                category = categories.get(as_int(category_id, where[extras.KEY]["category_id"]), category)
            iscrowd = bool(own.pop("iscrowd", False))
        provenance = extras.provenance_from_json(own, where[extras.KEY], **known)
    except (FormatError, ValueError) as exc:
        problem = f"{exc.file}: {exc.field}" if isinstance(exc, FormatError) else at
        skipped.add("provenance", "unreadable (the mask is kept without it)", problem)
        provenance = Provenance(source="import", **{k: v for k, v in known.items()} if known else {})
    return ImportedAnnotation(category, shape, iscrowd, provenance)


def read_manifest(folder: Path) -> list[dict[str, Any]]:
    """The data engine's ``manifest.jsonl`` lines (``file``, ``json``, ``status``, ``error``, ...),
    unreadable lines left out; empty when there is none."""
    path = Path(folder) / MANIFEST
    lines = []
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return lines
    for line in text.splitlines():
        try:
            value = json.loads(line)
        except ValueError:
            continue
        if isinstance(value, dict) and isinstance(value.get("status"), str):
            lines.append(value)
    return lines


def manifest_json_files(folder: Path, lines: list[dict[str, Any]]) -> list[Path] | None:
    """The JSON files the manifest says were written (``ok`` or ``skipped``), or None without lines."""
    if not lines:
        return None
    files = []
    for line in lines:
        name = line.get("json")
        if line["status"] in ("ok", "skipped") and isinstance(name, str):
            candidate = (folder / name).resolve()
            if candidate.is_relative_to(folder.resolve()) and candidate.is_file():
                files.append(candidate)
    return sorted(set(files))


__all__ = ["MANIFEST", "looks_like_sa1b", "manifest_json_files", "parse_sa1b", "read_manifest", "sa1b_files"]
