"""Exports off the UI thread, through the formats module (``app.model.io``).

The dataset is only read while exporting: its records are immutable, and the
snapshot taken on the UI thread keeps a later edit from mixing into the file.
Progress is reported per image; :meth:`Exporter.cancel` stops the export at the
next image (a COCO file is then not written at all; SA-1B keeps the files
already written).
"""
from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from app.model import Dataset
from app.model.io import write_coco, write_sa1b

FORMATS = ("coco_rle", "coco_polygons", "sa1b")


def snapshot(dataset: Dataset) -> Dataset:
    """A copy sharing the immutable records, safe to read from another thread."""
    copy = Dataset()
    for image in dataset.images.values():
        copy.add_image(image)
    for category in dataset.categories.values():
        copy.add_category(category)
    for annotation in dataset.annotations():
        copy.add_annotation(annotation)
    return copy


class ExportCancelled(Exception):
    """Raised from the progress callback to stop an export."""


def export(dataset: Dataset, fmt: str, path: Path, progress: Callable[[int, int], None] | None = None) -> str:
    """Write ``dataset`` as ``fmt`` (one of :data:`FORMATS`) and say what was written;
    ``progress(images done, images)`` after each image."""
    if fmt == "sa1b":
        written = write_sa1b(dataset, path, progress=progress)
        return f"Exported SA-1B: {len(written)} files in {path}"
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}")
    kind = "rle" if fmt == "coco_rle" else "polygons"
    report = write_coco(dataset, path, segmentation=kind, progress=progress)
    text = f"Exported COCO ({kind}): {report.annotations} annotations, {report.images} images to {path}"
    if kind == "polygons" and report.polygon_iou:
        text += f" (polygon IoU mean {report.mean_iou:.3f}, min {report.min_iou:.3f})"
    return text


class _Job(QRunnable):
    def __init__(self, exporter: "Exporter", dataset: Dataset, fmt: str, path: Path, stop: threading.Event) -> None:
        super().__init__()
        self._args = exporter, dataset, fmt, path, stop

    def run(self) -> None:
        exporter, dataset, fmt, path, stop = self._args

        def progress(done: int, total: int) -> None:
            exporter.progress.emit(str(path), done, total)
            if stop.is_set():
                raise ExportCancelled(f"{done} of {total}")

        try:
            exporter.finished.emit(str(path), export(dataset, fmt, path, progress))
        except ExportCancelled as done:
            kept = f": {done} files were written" if fmt == "sa1b" else ": nothing was written"
            exporter.cancelled.emit(str(path), f"Export to {path} cancelled{kept}")
        except Exception as exc:
            exporter.failed.emit(str(path), f"Export to {path} failed: {exc}")


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

    def start(self, dataset: Dataset, fmt: str, path: Path) -> None:
        self._stop = threading.Event()  # one per export: a cancel stops the running one only
        self._pool.start(_Job(self, snapshot(dataset), fmt, Path(path), self._stop))

    def cancel(self) -> None:
        self._stop.set()

    def wait(self) -> None:
        self._pool.waitForDone()
