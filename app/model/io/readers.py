"""Which import format a file or folder is in, and reading it (no Qt).

``read_labels(path, "auto")`` looks at what ``path`` is: a ``.json`` file is COCO
(``images`` + ``annotations``), SA-1B (``image`` + ``annotations``) or labelme
(``shapes``); a folder with ``data.yaml``, ``classes.txt`` or a ``labels/``
folder of ``.txt`` files is YOLO; another folder is SA-1B or labelme, by its
first JSON files. Anything else is refused with one line saying so.
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from app.model.io.coco_import import looks_like_coco, parse_coco
from app.model.io.fields import FormatError, load_json
from app.model.io.imported import ImportedFile
from app.model.io.labelme import looks_like_labelme, parse_labelme
from app.model.io.sa1b_import import looks_like_sa1b, parse_sa1b, sa1b_files
from app.model.io.yolo import looks_like_yolo, parse_yolo

FORMATS = {"auto": "Detect", "coco": "COCO", "sa1b": "SA-1B", "labelme": "labelme / X-AnyLabeling", "yolo": "YOLO"}
_SNIFF = 20  # JSON files of a folder looked at to tell SA-1B from labelme

Progress = Callable[[int, int], None]


def detect_format(path: Path | str) -> str:
    """"coco", "sa1b", "labelme" or "yolo"; :class:`FormatError` when it is none of them."""
    path = Path(path)
    if not path.exists():
        raise FormatError(str(path), "", "no such file or folder")
    if path.is_file():
        if path.suffix.lower() in (".yaml", ".yml") or path.name == "classes.txt":
            return "yolo"
        if path.suffix.lower() != ".json":
            raise FormatError(str(path), "", "not a format Maskwright imports (COCO, SA-1B or labelme .json, "
                                             "or a YOLO folder)")
        return _json_format(path)
    if looks_like_yolo(path):
        return "yolo"
    kinds = []
    for file in sa1b_files(path)[:_SNIFF]:
        try:
            kinds.append(_json_format(file))
        except (FormatError, OSError):
            continue
    for kind in ("sa1b", "labelme", "coco"):
        if kinds and kinds.count(kind) * 2 >= len(kinds):
            return kind
    raise FormatError(str(path), "", "holds no SA-1B, labelme or YOLO labels Maskwright can import")


def _json_format(path: Path) -> str:
    data, where = load_json(path)
    if looks_like_coco(data):
        return "coco"
    if looks_like_sa1b(data):
        return "sa1b"
    if looks_like_labelme(data):
        return "labelme"
    raise where.error("not COCO (images, annotations), SA-1B (image, annotations) or labelme (shapes) JSON")


def read_labels(path: Path | str, fmt: str = "auto", progress: Progress | None = None) -> ImportedFile:
    """Read ``path`` as ``fmt`` (one of :data:`FORMATS`), skipping its bad parts."""
    path = Path(path)
    if fmt not in FORMATS:
        raise ValueError(f"unknown import format {fmt!r}")
    if fmt == "auto":
        fmt = detect_format(path)
    if fmt == "coco":
        if path.is_dir():
            raise FormatError(str(path), "", "a folder: choose the COCO .json file itself")
        return parse_coco(path, progress=progress)
    if fmt == "sa1b":
        return parse_sa1b(path, progress=progress)
    if fmt == "labelme":
        return parse_labelme(path, progress=progress)
    return parse_yolo(path, progress=progress)


__all__ = ["FORMATS", "detect_format", "read_labels"]
