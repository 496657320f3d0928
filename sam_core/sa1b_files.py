"""SA-1B JSON files, one per image, as ``python -m sam_core.amg`` and the data engine write them.

Both write the same file, with the same name, for the same image and settings::

    {"maskwright": {"generator": {"checkpoint", "settings", "masks"}},
     "image": {"image_id", "width", "height", "file_name"},
     "annotations": [{"id", "segmentation": {"size": [h, w], "counts": str},
                      "bbox": XYWH, "area", "predicted_iou", "point_coords",
                      "crop_box": XYWH, "stability_score"}, ...]}

* ``file_name`` is the image's *relative name*: its path below the input folder, with
  ``/`` between folders. The JSON sits at the same relative place under the output
  folder, named ``<stem>.json``, or ``<name>.json`` where two images of one folder
  share a stem (``a.jpg``, ``a.png``), compared without case, as macOS and Windows do.
* Ids do not depend on the order images are processed in, so parallel workers and
  resumed runs give the same files. ``image_id`` comes from a hash of the relative
  name (33 bits; a clash moves the later name, in sorted order, to the next free id),
  and annotation ids are ``image_id * 1,000,000 + n`` (n = 1, 2, ...), unique across
  the folder and below 2**53, so JavaScript reads them exactly.
* The ``maskwright`` object comes first and says which checkpoint (its fingerprint) and
  generator settings (:func:`sam_core.generator_flags.settings_hash`) made the file, so a
  re-run can tell a finished image from its first bytes (:func:`finished_output`).
  Readers of SA-1B ignore it.
* Files are written atomically: a crash leaves the old file or the new one, never half.
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path, PurePosixPath
from typing import Any, Dict, List, Optional, Sequence, Tuple

ID_BITS = 33
MAX_MASKS_PER_IMAGE = 999_999
_ANNOTATION_STRIDE = MAX_MASKS_PER_IMAGE + 1
_HEAD_BYTES = 1 << 16  # enough for the header and the image record of any file name


def output_names(relative_names: Sequence[str]) -> List[str]:
    """The JSON file for each relative image name (``a/b.jpg`` -> ``a/b.json``)."""
    names = [PurePosixPath(n) for n in relative_names]
    full = [False] * len(names)
    while True:  # a name made full can clash with a stem-named one (a.jpg.png vs a.jpg + a.png)
        out = [str(n.parent / (n.name if f else n.stem)) + ".json" for n, f in zip(names, full)]
        seen: Dict[str, List[int]] = {}
        for i, name in enumerate(out):
            seen.setdefault(name.lower(), []).append(i)
        clashes = [i for group in seen.values() if len(group) > 1 for i in group if not full[i]]
        if not clashes:
            return out
        for i in clashes:
            full[i] = True


def image_ids(relative_names: Sequence[str]) -> List[int]:
    """A stable id in ``1 .. 2**33 - 1`` for each relative name (see the module docstring)."""
    taken: Dict[int, str] = {}
    by_name: Dict[str, int] = {}
    span = (1 << ID_BITS) - 1
    for name in sorted(set(relative_names)):
        digest = hashlib.blake2b(name.encode("utf-8", "surrogateescape"), digest_size=8).digest()
        candidate = int.from_bytes(digest, "little") % span
        while candidate + 1 in taken:
            candidate = (candidate + 1) % span
        taken[candidate + 1] = name
        by_name[name] = candidate + 1
    return [by_name[n] for n in relative_names]


def sa1b_document(
    image_id: int,
    file_name: str,
    size: Tuple[int, int],
    records: Sequence[Dict[str, Any]],
    checkpoint: str,
    settings: str,
) -> Dict[str, Any]:
    """Generator records (COCO RLE segmentations) -> the SA-1B document of one image.

    ``size`` is the image's (H, W); ``checkpoint`` the sam's ``checkpoint_id`` and
    ``settings`` the generator's :func:`settings_hash`.
    """
    if len(records) > MAX_MASKS_PER_IMAGE:
        raise ValueError(f"{file_name}: {len(records)} masks, more than the {MAX_MASKS_PER_IMAGE} ids of one image")
    h, w = size
    first = image_id * _ANNOTATION_STRIDE + 1
    annotations = [
        {
            "id": first + i,
            "segmentation": r["segmentation"],
            "bbox": r["bbox"],
            "area": r["area"],
            "predicted_iou": r["predicted_iou"],
            "point_coords": r["point_coords"],
            "crop_box": r["crop_box"],
            "stability_score": r["stability_score"],
        }
        for i, r in enumerate(records)
    ]
    header = {"generator": {"checkpoint": checkpoint, "settings": settings, "masks": len(records)}}
    image = {"image_id": image_id, "width": int(w), "height": int(h), "file_name": file_name}
    return {"maskwright": header, "image": image, "annotations": annotations}


def write_json_atomic(path: Path, document: Dict[str, Any]) -> None:
    """Write ``document`` to ``path`` (creating its folder) through a temporary file in the
    same folder, fsynced and renamed into place, so no reader ever sees half a file.
    Two writers of the same file (a retried task) each rename a whole one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(document, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def finished_output(path: Path, image_id: int, checkpoint: str, settings: str) -> Optional[int]:
    """The mask count of ``path`` if it was written for ``image_id`` with this checkpoint
    and these settings, else None (missing, foreign, older or other settings).

    Reads only the first bytes: the header and the image record come first.
    """
    try:
        with open(path, "rb") as handle:
            head = handle.read(_HEAD_BYTES).decode("utf-8", "replace")
    except OSError:
        return None
    decoder = json.JSONDecoder()
    try:
        if not head.startswith('{"maskwright": '):
            return None
        header, end = decoder.raw_decode(head, len('{"maskwright": '))
        if not head.startswith(', "image": ', end):
            return None
        image, _ = decoder.raw_decode(head, end + len(', "image": '))
        generator = header["generator"]
        if (generator["checkpoint"], generator["settings"], image["image_id"]) != (checkpoint, settings, image_id):
            return None
        masks = generator["masks"]
    except (ValueError, KeyError, TypeError):
        return None
    return masks if isinstance(masks, int) else None


def failure_reason(exc: BaseException) -> str:
    """Why an image failed, in one line without the file name (the caller names it)."""
    reason = getattr(exc, "reason", None)  # ImageReadError keeps its file and reason apart
    if not isinstance(reason, str):
        lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
        reason = lines[0] if lines else type(exc).__name__
        if not isinstance(exc, (ValueError, RuntimeError, OSError)) and lines:  # KeyError: 'x' says more
            reason = f"{type(exc).__name__}: {reason}"
    return reason if len(reason) <= 300 else reason[:297] + "..."


def sweep_partial_files(folder: Path, older_than: float) -> int:
    """Delete the temporary files of writes that crashed (older than the epoch time
    ``older_than``) under ``folder``; returns how many. Newer ones may be in progress."""
    removed = 0
    for parent, _dirs, files in os.walk(folder):
        for name in files:
            if name.startswith(".") and name.endswith(".part"):
                path = Path(parent) / name
                try:
                    if path.stat().st_mtime < older_than:
                        path.unlink()
                        removed += 1
                except FileNotFoundError:  # renamed into place, or swept by another run
                    pass
    return removed


__all__ = [
    "MAX_MASKS_PER_IMAGE",
    "failure_reason",
    "finished_output",
    "image_ids",
    "output_names",
    "sa1b_document",
    "sweep_partial_files",
    "write_json_atomic",
]
