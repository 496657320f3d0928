"""The import dialogs: where the labels are (and in which format), then what the import would do."""
from __future__ import annotations

from html import escape
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
    QPlainTextEdit,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from app.model.import_plan import ImportPlan
from app.model.io.readers import FORMATS
from app.model.io.skips import plural

MAX_LISTED = 200  # lines in the preview's list; the rest are counted


def _path_row(edit: QLineEdit, *buttons: QPushButton) -> QWidget:
    row = QWidget()
    layout = QHBoxLayout(row)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.addWidget(edit, 1)
    for button in buttons:
        layout.addWidget(button)
    return row


class ImportSourceDialog(QDialog):
    """Asks for a labels file or folder and its format (``automatic``: an engine output folder
    and, optionally, the engine's embeddings folder)."""

    chosen = Signal(str, str)  # path, format ("auto", "coco", ...); automatic: folder, embeddings ("" none)

    def __init__(self, start: str = "", fmt: str = "auto", automatic: bool = False, parent=None) -> None:
        super().__init__(parent)
        self.automatic = automatic
        self.setWindowTitle("Import automatic masks" if automatic else "Import labels")
        form = QFormLayout()
        self.path = QLineEdit(start)
        self.format = QComboBox()
        self.embeddings = QLineEdit()
        if automatic:
            folder = QPushButton("Folder…")
            folder.clicked.connect(lambda: self._browse(self.path, folder=True))
            form.addRow("Engine output or SA-1B folder", _path_row(self.path, folder))
            pick = QPushButton("Folder…")
            pick.clicked.connect(lambda: self._browse(self.embeddings, folder=True))
            self.embeddings.setPlaceholderText("optional: the engine's --embeddings folder")
            form.addRow("Embeddings", _path_row(self.embeddings, pick))
            self.path.textChanged.connect(self._guess_embeddings)
            self._guess_embeddings(start)
        else:
            for key, text in FORMATS.items():
                self.format.addItem(text, key)
            self.format.setCurrentIndex(max(0, self.format.findData(fmt)))
            file_button, folder_button = QPushButton("File…"), QPushButton("Folder…")
            file_button.clicked.connect(lambda: self._browse(self.path, folder=False))
            folder_button.clicked.connect(lambda: self._browse(self.path, folder=True))
            form.addRow("Labels", _path_row(self.path, file_button, folder_button))
            form.addRow("Format", self.format)
            form.addRow(QLabel("COCO and single labelme / SA-1B files are .json files; YOLO, SA-1B and labelme "
                               "folders are read with their subfolders."))
        buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        column = QVBoxLayout(self)
        column.addLayout(form)
        column.addWidget(buttons)

    def _browse(self, edit: QLineEdit, folder: bool) -> None:
        start = edit.text() or self.path.text()
        if folder:
            path = QFileDialog.getExistingDirectory(self, "Choose a folder", start)
        else:
            path, _ = QFileDialog.getOpenFileName(self, "Choose a labels file", start,
                                                  "Labels (*.json *.yaml *.yml *.txt);;All files (*)")
        if path:
            edit.setText(path)

    def _guess_embeddings(self, folder: str) -> None:
        """The engine's ``--embeddings`` folder where it usually is: inside the output or beside it."""
        if not folder or self.embeddings.text():
            return
        for candidate in (Path(folder) / "embeddings", Path(folder).parent / "embeddings"):
            if candidate.is_dir():
                self.embeddings.setText(str(candidate))
                return

    def accept(self) -> None:
        path = self.path.text().strip()
        if not path:
            return
        second = self.embeddings.text().strip() if self.automatic else self.format.currentData()
        self.chosen.emit(path, second)
        super().accept()  # last: a dialog deleted on close cannot emit afterwards


class ImportPreview(QDialog):
    """What an import would do, before it does it; ``confirmed(plan, mode)`` on Import."""

    confirmed = Signal(object, str)  # ImportPlan, "add" or "replace"

    def __init__(self, plan: ImportPlan, new_categories: list[str], with_annotations: int, parent=None) -> None:
        super().__init__(parent)
        self.plan = plan
        self.setWindowTitle(f"Import {plan.source.name}")
        column = QVBoxLayout(self)
        head = QLabel(escape(plan.summary()))
        head.setWordWrap(True)
        column.addWidget(head)
        categories = ", ".join(new_categories) if new_categories else "none (all exist in the project)"
        self.categories_label = QLabel(escape(f"New categories: {categories}"))
        column.addWidget(self.categories_label)
        lines = [f"not matched: {u}" for u in plan.unmatched] + plan.skipped.lines()
        self.listing = listing = QPlainTextEdit()
        if lines:
            listing.setReadOnly(True)
            more = len(lines) - MAX_LISTED
            listing.setPlainText("\n".join(lines[:MAX_LISTED]) + (f"\n…and {more} more" if more > 0 else ""))
            column.addWidget(QLabel(f"{len(plan.unmatched)} {plural('image entry', len(plan.unmatched))} "
                                    f"matched no image; {plan.skipped.total} {plural('part', plan.skipped.total)} "
                                    "of the file skipped:"))
            column.addWidget(listing)
        self.add = QRadioButton("Add to their annotations")
        self.replace = QRadioButton("Replace their annotations")
        self.add.setChecked(True)
        self._modes = QButtonGroup(self)
        if with_annotations:
            column.addWidget(QLabel(f"{with_annotations} of the matched images already have annotations:"))
            for button in (self.add, self.replace):
                self._modes.addButton(button)
                column.addWidget(button)
        buttons = QDialogButtonBox(QDialogButtonBox.Cancel)
        buttons.addButton("Import", QDialogButtonBox.AcceptRole)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        column.addWidget(buttons)

    @property
    def mode(self) -> str:
        return "replace" if self.replace.isChecked() else "add"

    def accept(self) -> None:
        self.confirmed.emit(self.plan, self.mode)
        super().accept()


__all__ = ["ImportPreview", "ImportSourceDialog"]
