"""Exports off the UI thread, through the formats module (``app.model.io``).

The dataset is only read while exporting: its records are immutable, and the
snapshot taken on the UI thread keeps a later edit from mixing into the file.
"""
from __future__ import annotations

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


def export(dataset: Dataset, fmt: str, path: Path) -> str:
    """Write ``dataset`` as ``fmt`` (one of :data:`FORMATS`) and say what was written."""
    if fmt == "sa1b":
        written = write_sa1b(dataset, path)
        return f"Exported SA-1B: {len(written)} files in {path}"
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}")
    kind = "rle" if fmt == "coco_rle" else "polygons"
    report = write_coco(dataset, path, segmentation=kind)
    text = f"Exported COCO ({kind}): {report.annotations} annotations, {report.images} images to {path}"
    if kind == "polygons" and report.polygon_iou:
        text += f" (polygon IoU mean {report.mean_iou:.3f}, min {report.min_iou:.3f})"
    return text


class _Job(QRunnable):
    def __init__(self, exporter: "Exporter", dataset: Dataset, fmt: str, path: Path) -> None:
        super().__init__()
        self._args = exporter, dataset, fmt, path

    def run(self) -> None:
        exporter, dataset, fmt, path = self._args
        try:
            exporter.finished.emit(str(path), export(dataset, fmt, path))
        except Exception as exc:
            exporter.failed.emit(str(path), f"Export to {path} failed: {exc}")


class Exporter(QObject):
    """Runs one export at a time in the background."""

    finished = Signal(str, str)  # path, summary
    failed = Signal(str, str)  # path, one-line reason

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)

    def start(self, dataset: Dataset, fmt: str, path: Path) -> None:
        self._pool.start(_Job(self, snapshot(dataset), fmt, Path(path)))

    def wait(self) -> None:
        self._pool.waitForDone()
