"""YOLO (Ultralytics) segmentation and detection labels: a ``.txt`` per image, class names apart.

Layout, read and written::

    data.yaml            names: {0: cat, 1: dog}   (or a list; dataset.yaml and classes.txt too)
    classes.txt          cat / dog, one per line
    labels/train/x.txt   one object per line, coordinates divided by the image's width and height:
                         "c x1 y1 x2 y2 ..." a polygon (segmentation), "c xc yc w h" a box (detection)

A label file names its image by its path below ``labels/`` without the suffix
(``train/x`` for ``images/train/x.jpg``), so an import matches images by stem.
A box becomes a box waiting for SAM. A bad line (not numbers, an unknown class,
fewer than 3 points) is skipped and counted; a ``.txt`` that is no label file at
all (an image list) is skipped too.

One line holds one polygon, so :func:`write_yolo` joins a mask's parts and holes
into one *keyhole* polygon (:func:`app.model.io.polygons.keyhole`): read back here
(or by pycocotools' even-odd fill) it gives the mask pixel for pixel. Ultralytics
draws polygons with OpenCV, which also fills the zero-width bridges: a line of
pixels more on masks with several parts or holes.
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from app.model.dataset import Dataset
from app.model.io.atomic import write_bytes_atomic
from app.model.io.fields import FormatError
from app.model.io.imported import BoxShape, ImportedAnnotation, ImportedFile, ImportedImage, PolygonShape
from app.model.io.polygons import keyhole, trace_rings

YAML_NAMES = ("data.yaml", "dataset.yaml", "data.yml", "dataset.yml")
CLASSES = "classes.txt"
_MAX_NAMES_FILE = 1 << 20  # a class list is small; a huge YAML file is not one
_MAX_LABEL_FILE = 1 << 28  # 256 MB: millions of objects; anything bigger is not one image's labels


def class_names(root: Path) -> tuple[list[str] | None, Path | None]:
    """Class names from ``data.yaml`` (or the like) in ``root``, else ``classes.txt`` in ``root`` or
    ``root/labels``; (None, None) when there is neither."""
    for name in YAML_NAMES:
        path = root / name
        if path.is_file():
            return _yaml_names(path), path
    for path in (root / CLASSES, root / "labels" / CLASSES):
        if path.is_file():
            return _read_small(path).splitlines(), path
    return None, None


def _read_small(path: Path) -> str:
    if path.stat().st_size > _MAX_NAMES_FILE:
        raise FormatError(str(path), "", f"is larger than {_MAX_NAMES_FILE // 1024} KB: not a class list")
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FormatError(str(path), "", f"not UTF-8 text (byte {exc.start})") from None


def _yaml_names(path: Path) -> list[str]:
    try:
        data = yaml.safe_load(_read_small(path))
    except yaml.YAMLError as exc:
        raise FormatError(str(path), "", f"invalid YAML ({' '.join(str(exc).split())[:120]})") from None
    names = data.get("names") if isinstance(data, dict) else None
    if isinstance(names, dict) and all(isinstance(k, int) for k in names):
        size = max(names, default=-1) + 1
        return [str(names.get(i, f"class {i}")) for i in range(size)]
    if isinstance(names, list):
        return [str(n) for n in names]
    raise FormatError(str(path), "names", "missing, or neither a list nor a mapping of class ids to names")


def _label_root(root: Path) -> Path:
    return root / "labels" if (root / "labels").is_dir() else root


def looks_like_yolo(path: Path) -> bool:
    """A folder with class names, or with a ``labels`` folder of ``.txt`` files."""
    if not path.is_dir():
        return False
    if class_names_exist(path):
        return True
    labels = path / "labels"
    return labels.is_dir() and any(labels.rglob("*.txt"))


def class_names_exist(root: Path) -> bool:
    return any((root / n).is_file() for n in (*YAML_NAMES, CLASSES)) or (root / "labels" / CLASSES).is_file()


def parse_yolo(path: Path | str, progress=None) -> ImportedFile:
    """Read a YOLO dataset folder (or its ``data.yaml``); see the module docstring."""
    path = Path(path)
    root = path.parent if path.is_file() else path
    if not root.is_dir():
        raise FormatError(str(path), "", "not a folder")
    names, names_file = class_names(root)
    labels = _label_root(root)
    files = sorted(p for p in labels.rglob("*.txt") if p.is_file() and p.name != CLASSES)
    if not files:
        raise FormatError(str(path), "", "no .txt label files (in it or in its labels/ folder)")
    result = ImportedFile(path, "YOLO", files=len(files))
    if names is None:
        result.skipped.add("class name file", "(no data.yaml or classes.txt): classes are named \"class N\"",
                           str(root))
    for name in names or []:
        result.category(name)
    for done, file in enumerate(files, start=1):
        image = _file(file, labels, names, result)
        if image is not None:
            result.images.append(image)
        if progress is not None:
            progress(done, len(files))
    if not result.images:
        raise FormatError(str(path), "", f"none of its {len(files)} .txt files holds YOLO labels")
    return result


def _file(file: Path, labels: Path, names: list[str] | None, result: ImportedFile) -> ImportedImage | None:
    try:
        if file.stat().st_size > _MAX_LABEL_FILE:
            result.skipped.add("file", f"larger than {_MAX_LABEL_FILE >> 20} MB (no label file is)", str(file))
            return None
        text = file.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError):
        result.skipped.add("file", "that could not be read as text", str(file))
        return None
    lines = [(n, line.split()) for n, line in enumerate(text.splitlines(), start=1) if line.strip()]
    if lines and not _numbers(lines[0][1]):
        result.skipped.add("file", "that are not YOLO labels (an image list?)", str(file))
        return None
    image = ImportedImage(file.relative_to(labels).with_suffix("").as_posix(), stem=True, where=str(file))
    for n, values in lines:
        annotation = _line(values, names, result, f"{file}: line {n}")
        if annotation is not None:
            image.annotations.append(annotation)
    return image


def _numbers(values: list[str]) -> list[float] | None:
    try:
        numbers = [float(v) for v in values]
    except ValueError:
        return None
    return numbers if all(abs(v) != float("inf") and v == v for v in numbers) else None


def _line(values: list[str], names: list[str] | None, result: ImportedFile, at: str) -> ImportedAnnotation | None:
    skipped = result.skipped
    numbers = _numbers(values)
    if numbers is None:
        skipped.add("line", "that is not numbers", at)
        return None
    if not numbers[0].is_integer() or numbers[0] < 0 or (names is not None and numbers[0] >= len(names)):
        skipped.add("line", "with a class id the class names do not have", at)
        return None
    klass = int(numbers[0])
    category = names[klass] if names is not None else f"class {klass}"
    result.category(category)
    coords = numbers[1:]
    if len(coords) == 4:
        xc, yc, w, h = coords
        if w <= 0 or h <= 0:
            skipped.add("box", "with no width or height", at)
            return None
        return ImportedAnnotation(category, BoxShape((xc - w / 2, yc - h / 2, xc + w / 2, yc + h / 2), normalized=True))
    if len(coords) % 2:
        skipped.add("line", "with an odd number of coordinates", at)
        return None
    if len(coords) < 6:
        skipped.add("polygon", "with fewer than 3 points", at)
        return None
    return ImportedAnnotation(category, PolygonShape((tuple(coords),), normalized=True))


# -- writing ------------------------------------------------------------------------------------
def yolo_label_name(file_name: str) -> PurePosixPath:
    """``train/x.jpg`` -> ``labels/train/x.txt``; ``ValueError`` for names leaving the folder."""
    name = PurePosixPath(file_name.replace("\\", "/"))
    if name.is_absolute() or ".." in name.parts or not name.name:
        raise ValueError(f"image file_name {file_name!r} would be written outside the export folder")
    return PurePosixPath("labels") / name.with_suffix(".txt")


def write_yolo(dataset: Dataset, folder: Path | str,
               progress: Callable[[int, int], None] | None = None) -> dict[str, Any]:
    """Write ``data.yaml``, ``classes.txt`` and one label file per image (empty for an image
    without annotations, which tells Ultralytics it is background) into ``folder``, atomically;
    ``progress(images done, images)`` after each image. Returns ``{"files": [paths], "lines": n, "boxes": n}``."""
    folder = Path(folder)
    index = {c.id: i for i, c in enumerate(dataset.categories.values())}
    names = [c.name for c in dataset.categories.values()]
    folder.mkdir(parents=True, exist_ok=True)
    written, lines_written, boxes = [], 0, 0
    document = {"path": ".", "names": dict(enumerate(names))}
    write_bytes_atomic(folder / "data.yaml", yaml.safe_dump(document, allow_unicode=True, sort_keys=False).encode())
    write_bytes_atomic(folder / CLASSES, "".join(f"{n}\n" for n in names).encode("utf-8"))
    for image in dataset.images.values():
        lines = []
        for annotation in dataset.annotations(image.id):
            c = index[annotation.category_id]
            if annotation.waits_for_sam:
                x0, y0, x1, y1 = annotation.provenance.box
                values = [(x0 + x1) / 2 / image.width, (y0 + y1) / 2 / image.height,
                          (x1 - x0) / image.width, (y1 - y0) / image.height]
                boxes += 1
            elif not annotation.mask.is_empty:
                polygon = keyhole([ring for _, ring in trace_rings(annotation.mask)])
                values = [v / (image.width if i % 2 == 0 else image.height) for i, v in enumerate(polygon)]
            else:
                continue
            lines.append(" ".join([str(c), *(_number(v) for v in values)]))
        target = folder / yolo_label_name(image.file_name)
        target.parent.mkdir(parents=True, exist_ok=True)
        write_bytes_atomic(target, "".join(f"{line}\n" for line in lines).encode("ascii"))
        written.append(target)
        lines_written += len(lines)
        if progress is not None:
            progress(len(written), len(dataset.images))
    return {"files": written, "lines": lines_written, "boxes": boxes}


def _number(value: float) -> str:
    """Seven decimals: under a thousandth of a pixel on images up to 10,000 pixels wide, so the
    pixel-edge vertices land where they were."""
    return f"{value:.7f}".rstrip("0").rstrip(".") or "0"


__all__ = ["class_names", "looks_like_yolo", "parse_yolo", "write_yolo", "yolo_label_name"]
