"""Dataset formats: COCO instances JSON and SA-1B, with atomic writes and checked reads."""

from app.model.io.coco import ExportReport, import_coco, read_coco, write_coco
from app.model.io.fields import FormatError
from app.model.io.sa1b import import_sa1b, read_sa1b, write_sa1b

__all__ = [
    "ExportReport",
    "FormatError",
    "import_coco",
    "import_sa1b",
    "read_coco",
    "read_sa1b",
    "write_coco",
    "write_sa1b",
]
