"""Exports off the UI thread, through the formats modules (``app.model.io``).

The dataset is only read while exporting: its records are immutable, and the
snapshot taken on the UI thread (of all images, or of those marked done) keeps
a later edit from mixing into the file. Progress is reported per image;
:meth:`Exporter.cancel` stops the export at the next image (a COCO file is then
not written at all; the folder formats keep the files already written). The
finished message says what was written and what the format lost: polygon IoU,
masks that went out as RLE or lost their holes, boxes a format cannot hold.
"""
from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from app.model import Dataset
from app.model.io import write_coco, write_sa1b
from app.model.io.labelme import write_labelme
from app.model.io.png_masks import write_png_masks
from app.model.io.skips import plural
from app.model.io.yolo import write_yolo

FORMATS = ("coco_rle", "coco_polygons", "sa1b", "yolo", "labelme", "png")
FOLDER_FORMATS = ("sa1b", "yolo", "labelme", "png")  # written into a folder; the COCO ones are one file
HOLES = ("rle", "crowd", "drop")


@dataclass(frozen=True)
class ExportChoice:
    """What to export where: ``format`` one of :data:`FORMATS`, ``path`` a file (COCO) or a folder,
    ``holes`` the policy for COCO polygons (:data:`HOLES`), ``project_folder`` where the images are
    (labelme files point at them)."""

    format: str
    path: Path
    holes: str = "rle"
    project_folder: Path | None = None

    def __post_init__(self) -> None:
        if self.format not in FORMATS:
            raise ValueError(f"unknown export format {self.format!r}")
        if self.holes not in HOLES:
            raise ValueError(f"holes must be one of {HOLES}, got {self.holes!r}")


def snapshot(dataset: Dataset, image_ids: Iterable[int] | None = None) -> Dataset:
    """A copy sharing the immutable records (of ``image_ids`` only, when given), safe to read
    from another thread."""
    keep = None if image_ids is None else set(image_ids)
    copy = Dataset()
    for image in dataset.images.values():
        if keep is None or image.id in keep:
            copy.add_image(image)
    for category in dataset.categories.values():
        copy.add_category(category)
    for annotation in dataset.annotations():
        if annotation.image_id in copy.images:
            copy.add_annotation(annotation)
    return copy


class ExportCancelled(Exception):
    """Raised from the progress callback to stop an export."""


def export(dataset: Dataset, choice: ExportChoice, progress: Callable[[int, int], None] | None = None) -> str:
    """Write ``dataset`` as ``choice`` says and say, in one line, what was written and lost;
    ``progress(images done, images)`` after each image."""
    fmt, path = choice.format, choice.path
    images = f"{len(dataset.images)} {plural('image', len(dataset.images))}"
    boxes = sum(1 for a in dataset.annotations() if a.waits_for_sam)
    if fmt in ("coco_rle", "coco_polygons"):
        kind = "rle" if fmt == "coco_rle" else "polygons"
        report = write_coco(dataset, path, segmentation=kind, holes=choice.holes, progress=progress)
        text = f"Exported COCO ({kind}): {report.annotations} annotations, {images} to {path}"
        if kind == "polygons":
            text += _polygon_losses(report, choice.holes)
        if report.boxes:
            text += f"; {report.boxes} {plural('box', report.boxes)} waiting for SAM as box-only annotations"
        return text
    if fmt == "sa1b":
        written = write_sa1b(dataset, path, progress=progress)
        text = f"Exported SA-1B: {len(written)} files in {path}"
    elif fmt == "yolo":
        result = write_yolo(dataset, path, progress=progress)
        text = (f"Exported YOLO: {result['lines']} objects in {len(result['files'])} label files, "
                f"data.yaml and classes.txt in {path} (one keyhole polygon per mask: parts and holes kept)")
        return text + (f"; {boxes} {plural('box', boxes)} as detection lines" if boxes else "")
    elif fmt == "labelme":
        written = write_labelme(dataset, path, choice.project_folder or path, progress=progress)
        text = f"Exported labelme: {len(written)} JSON files in {path} (exact polygons; holes as __background__)"
        return text + (f"; {boxes} {plural('box', boxes)} as rectangles" if boxes else "")
    else:
        report = write_png_masks(dataset, path, progress=progress)
        text = f"Exported PNG masks: {report.masks} masks of {images} in {path}/instances and {path}/classes"
        if report.overlapped:
            lost = report.overlapped
            text += f"; {lost} {plural('mask', lost)} overlapped by later ones lost those pixels"
    if boxes:
        text += f"; {boxes} {plural('box', boxes)} waiting for SAM not written (no mask yet)"
    return text


def _polygon_losses(report, holes: str) -> str:
    parts = []
    if report.polygon_iou:
        losses = [1.0 - v for v in report.polygon_iou.values()]
        parts.append(f"polygon IoU loss mean {100 * sum(losses) / len(losses):.2f}%, "
                     f"worst {100 * max(losses):.2f}% (IoU {report.min_iou:.3f})")
    rle = len(report.rle_fallback)
    if rle:
        how = "RLE marked iscrowd" if holes == "crowd" else "RLE"
        parts.append(f"{rle} {plural('mask', rle)} went out as {how} (holes, crowd or empty)")
    dropped = len(report.holes_dropped)
    if dropped:
        parts.append(f"{dropped} {plural('mask', dropped)} lost {'its' if dropped == 1 else 'their'} holes")
    return " (" + "; ".join(parts) + ")" if parts else ""


class _Job(QRunnable):
    def __init__(self, exporter: "Exporter", dataset: Dataset, choice: ExportChoice, stop: threading.Event) -> None:
        super().__init__()
        self._args = exporter, dataset, choice, stop

    def run(self) -> None:
        exporter, dataset, choice, stop = self._args
        path = choice.path

        def progress(done: int, total: int) -> None:
            exporter.progress.emit(str(path), done, total)
            if stop.is_set():
                raise ExportCancelled(f"{done} of {total}")

        try:
            exporter.finished.emit(str(path), export(dataset, choice, progress))
        except ExportCancelled as done:
            kept = f": {done} images were written" if choice.format in FOLDER_FORMATS else ": nothing was written"
            exporter.cancelled.emit(str(path), f"Export to {path} cancelled{kept}")
        except Exception as exc:
            exporter.failed.emit(str(choice.path), f"Export to {choice.path} failed: {exc}")


class Exporter(QObject):
    """Runs one export at a time in the background."""

    progress = Signal(str, int, int)  # path, images done, images
    finished = Signal(str, str)  # path, summary
    failed = Signal(str, str)  # path, one-line reason
    cancelled = Signal(str, str)  # path, what was left

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self._stop = threading.Event()

    def start(self, dataset: Dataset, choice: ExportChoice, image_ids: Iterable[int] | None = None) -> None:
        self._stop = threading.Event()  # one per export: a cancel stops the running one only
        self._pool.start(_Job(self, snapshot(dataset, image_ids), choice, self._stop))

    def cancel(self) -> None:
        self._stop.set()

    def wait(self) -> None:
        self._pool.waitForDone()


__all__ = ["FOLDER_FORMATS", "FORMATS", "HOLES", "ExportChoice", "Exporter", "export", "snapshot"]
