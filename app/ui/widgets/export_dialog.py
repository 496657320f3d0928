"""*File > Export…*: one dialog for every format, with what each consumer accepts, and a scope."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

FORMAT_NAMES = {
    "coco_rle": "COCO, masks as RLE (lossless)",
    "coco_polygons": "COCO, masks as polygons",
    "sa1b": "SA-1B (one JSON per image)",
    "yolo": "YOLO segmentation (Ultralytics)",
    "labelme": "labelme / X-AnyLabeling JSON",
    "png": "PNG masks (instance-id and class-id per image)",
}
HOLE_NAMES = {
    "rle": "Masks with holes as RLE (the file mixes polygons and RLE)",
    "crowd": "Masks with holes as RLE marked iscrowd",
    "drop": "Fill the holes: polygons only",
}
# Which consumers read what (checked against the tools named; see the README's "Formats").
NOTES = {
    "coco_rle": "pycocotools, datumaro, FiftyOne, mmdetection read it; detectron2 needs "
                "<code>INPUT.MASK_FORMAT=bitmask</code> (its default, polygon, fails on RLE).",
    ("coco_polygons", "rle"): "Polygons, and RLE for masks with holes: detectron2 with its default "
                              "<code>MASK_FORMAT=polygon</code> fails on those; use <code>bitmask</code>, or fill the "
                              "holes. pycocotools, datumaro and FiftyOne read the mixed file.",
    ("coco_polygons", "crowd"): "Holed masks become <code>iscrowd</code> RLE: detectron2 and mmdetection skip crowd "
                                "regions in training (they are ignored, not learnt).",
    ("coco_polygons", "drop"): "Polygons only: every COCO reader takes it, detectron2's default included; holes "
                               "are filled (the finished message counts them). supervision fills polygons one "
                               "pixel larger on the right and bottom than pycocotools.",
    "sa1b": "As Meta released SA-1B: compressed RLE, <code>bbox</code> in SAM's convention (width = last minus "
            "first column). Boxes waiting for SAM are left out.",
    "yolo": "<code>data.yaml</code>, <code>classes.txt</code> and <code>labels/</code> for Ultralytics; one "
            "polygon per object, parts and holes joined by zero-width bridges (exact when read back here; "
            "Ultralytics draws the bridges as thin lines). Boxes waiting for SAM become detection lines.",
    "labelme": "labelme 5 and X-AnyLabeling open it; exact polygons, holes as <code>__background__</code> shapes "
               "of the same group, boxes as rectangles, attributes as flags.",
    "png": "16-bit instance ids and 8-bit class ids (see <code>categories.json</code>); where masks overlap, "
           "the later one owns the pixel.",
}
FILE_FORMATS = ("coco_rle", "coco_polygons")


def note(fmt: str, holes: str) -> str:
    return NOTES[(fmt, holes)] if fmt == "coco_polygons" else NOTES[fmt]


class ExportDialog(QDialog):
    chosen = Signal(str, str, str, str)  # format, path, holes, scope

    def __init__(self, choices: dict, folder: Path, images: int, done: int, parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export")
        self.folder = Path(folder)
        self.format = QComboBox()
        for key, text in FORMAT_NAMES.items():
            self.format.addItem(text, key)
        self.format.setCurrentIndex(max(0, self.format.findData(choices.get("format", "coco_rle"))))
        self.holes = {key: QRadioButton(text) for key, text in HOLE_NAMES.items()}
        self.holes.get(choices.get("holes"), self.holes["rle"]).setChecked(True)
        self.scope_all = QRadioButton(f"All images ({images})")
        self.scope_done = QRadioButton(f"Images marked done ({done})")
        (self.scope_done if choices.get("scope") == "done" and done else self.scope_all).setChecked(True)
        self.scope_done.setEnabled(done > 0)
        self.notes = QLabel()
        self.notes.setWordWrap(True)
        self.path = QLineEdit(choices.get("path", ""))
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)

        form = QFormLayout()
        form.addRow("Format", self.format)
        holes = QWidget()
        holes_layout = QVBoxLayout(holes)
        holes_layout.setContentsMargins(0, 0, 0, 0)
        group = QButtonGroup(self)
        for button in self.holes.values():
            group.addButton(button)
            holes_layout.addWidget(button)
            button.toggled.connect(self._update)
        form.addRow("Holes", holes)
        form.addRow("", self.notes)
        scope = QWidget()
        scope_layout = QHBoxLayout(scope)
        scope_layout.setContentsMargins(0, 0, 0, 0)
        scopes = QButtonGroup(self)
        for button in (self.scope_all, self.scope_done):
            scopes.addButton(button)
            scope_layout.addWidget(button)
        form.addRow("Images", scope)
        row = QWidget()
        row_layout = QHBoxLayout(row)
        row_layout.setContentsMargins(0, 0, 0, 0)
        row_layout.addWidget(self.path, 1)
        row_layout.addWidget(browse)
        form.addRow("To", row)
        buttons = QDialogButtonBox(QDialogButtonBox.Cancel)
        buttons.addButton("Export", QDialogButtonBox.AcceptRole)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        column = QVBoxLayout(self)
        column.addLayout(form)
        column.addWidget(buttons)
        self.format.currentIndexChanged.connect(self._on_format)
        self._on_format()

    @property
    def fmt(self) -> str:
        return self.format.currentData()

    @property
    def hole_policy(self) -> str:
        return next(key for key, button in self.holes.items() if button.isChecked())

    def _default_path(self, fmt: str) -> str:
        return str(self.folder / (f"annotations_{fmt}.json" if fmt in FILE_FORMATS else f"export_{fmt}"))

    def _on_format(self) -> None:
        text = self.path.text()
        is_file = text.endswith(".json")
        if not text or is_file != (self.fmt in FILE_FORMATS):  # the kind of destination changed
            self.path.setText(self._default_path(self.fmt))
        self._update()

    def _update(self) -> None:
        for button in self.holes.values():
            button.setEnabled(self.fmt == "coco_polygons")
        self.notes.setText(note(self.fmt, self.hole_policy))

    def _browse(self) -> None:
        if self.fmt in FILE_FORMATS:
            path, _ = QFileDialog.getSaveFileName(self, "Export COCO", self.path.text(), "COCO JSON (*.json)")
        else:
            path = QFileDialog.getExistingDirectory(self, "Export into folder", self.path.text() or str(self.folder))
        if path:
            self.path.setText(path)

    def accept(self) -> None:
        path = self.path.text().strip()
        if not path:
            return
        self.chosen.emit(self.fmt, path, self.hole_policy, "done" if self.scope_done.isChecked() else "all")
        super().accept()  # last: a dialog deleted on close cannot emit afterwards


__all__ = ["ExportDialog", "FORMAT_NAMES", "NOTES", "note"]
