"""The model manager: pick an official checkpoint of any SAM family Maskwright loads (size,
licence, what it is good for), download it (progress, speed, ETA, cancel, resume) or use a
file already on disk. Every file is checked first: against its SHA-256 where one is known
(SAM v1), else by its size and by loading it as the model listed (the others publish none).

A non-modal dialog: it never blocks labelling. The work runs in :class:`ModelJobs`;
this widget only shows state and emits ``chosen(path)`` for a verified checkpoint.
"""
from __future__ import annotations

import html
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.services.checkpoints import catalog as model_catalog
from app.services.checkpoints.catalog import CheckpointEntry
from app.services.checkpoints.download import Progress
from app.services.checkpoints.jobs import ModelJobs
from app.services.checkpoints.verified import installed, present

NETWORK_KINDS = ("network", "http", "size", "interrupted")


class ModelManager(QDialog):
    chosen = Signal(str)  # path of a verified checkpoint the app should load

    def __init__(self, models_dir: Path, base_url: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.models_dir, self.base_url = Path(models_dir), base_url
        self.entries: tuple[CheckpointEntry, ...] = model_catalog.CATALOG
        self.setWindowTitle("SAM models")
        self.setModal(False)
        self.jobs = ModelJobs(self)
        self.jobs.progress.connect(self._on_progress)
        self.jobs.finished.connect(self._on_finished)
        self.jobs.failed.connect(self._on_failed)

        intro = QLabel("Click-to-mask needs a Segment Anything checkpoint: SAM, SAM 2.1, MobileSAM, EfficientViT-SAM "
                       "or HQ-SAM. Pick one to download. SAM v1 files are checked against their SHA-256 before "
                       "Maskwright uses them; the other projects publish no SHA-256, so Maskwright checks the size "
                       "and that the file loads as the model listed (a cut-off or wrong file is caught, a changed "
                       "weight inside a whole file is not).")
        intro.setWordWrap(True)
        self.list = QListWidget()
        self.list.currentRowChanged.connect(lambda _row: self._update_buttons())
        self.about = QLabel("")  # the selected entry: file, size, licence, how it is checked
        self.about.setWordWrap(True)
        self.list.itemDoubleClicked.connect(lambda _item: self.primary.click())
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)  # permille: vit_h's byte count does not fit an int
        self.progress.hide()
        self.detail = QLabel("")
        self.message = QLabel("")
        self.message.setWordWrap(True)
        self.message.setTextFormat(Qt.RichText)
        self.message.setOpenExternalLinks(True)
        self.message.setTextInteractionFlags(Qt.TextBrowserInteraction)
        where = QLabel(f"Models are kept in {html.escape(str(self.models_dir))}")
        where.setTextInteractionFlags(Qt.TextSelectableByMouse)
        where.setWordWrap(True)
        self.primary = QPushButton("Download")
        self.primary.clicked.connect(self.start_selected)
        self.cancel_button = QPushButton("Cancel download")
        self.cancel_button.clicked.connect(self.jobs.cancel)
        self.local_button = QPushButton("Use a file I already have…")
        self.local_button.clicked.connect(self.ask_local_file)
        close = QPushButton("Close")
        close.clicked.connect(self.close)
        buttons = QHBoxLayout()
        for button in (self.primary, self.cancel_button, self.local_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        buttons.addWidget(close)
        column = QVBoxLayout(self)
        for widget in (intro, self.list, self.about, self.progress, self.detail, self.message, where):
            column.addWidget(widget)
        column.addLayout(buttons)
        self.resize(680, 520)
        self.refresh()

    # -- state ----------------------------------------------------------------------------------------
    def refresh(self) -> None:
        """List the checkpoints, marking those already downloaded and verified."""
        row = max(self.list.currentRow(), 0)
        self.list.clear()
        for entry in self.entries:
            text = entry.label + ("  ✓ downloaded" if installed(entry, self.models_dir) else "")
            item = QListWidgetItem(text)
            item.setToolTip(_tooltip(entry, self.base_url))
            self.list.addItem(item)
        self.list.setCurrentRow(min(row, len(self.entries) - 1))
        self._update_buttons()

    @property
    def selected(self) -> CheckpointEntry:
        return self.entries[max(self.list.currentRow(), 0)]

    def _update_buttons(self) -> None:
        entry = self.selected
        self.about.setText(f"{entry.file_name} · {entry.size_text} · {entry.licence} · {entry.check}")
        busy = self.jobs.busy
        have = installed(self.selected, self.models_dir) is not None
        unchecked = not have and present(self.selected, self.models_dir) is not None  # its check comes first
        part = (self.models_dir / (self.selected.file_name + ".part")).exists()
        self.primary.setText("Use this model" if have else "Check and use" if unchecked
                             else ("Resume download" if part else "Download"))
        self.primary.setEnabled(not busy)
        self.local_button.setEnabled(not busy)
        self.list.setEnabled(not busy)
        self.cancel_button.setEnabled(busy)

    def _say(self, text: str, level: str = "info") -> None:
        colour = {"error": "#c0392b", "warning": "#b7791f"}.get(level)
        self.message.setText(f"<span style='color:{colour}'>{text}</span>" if colour else text)

    # -- actions --------------------------------------------------------------------------------------
    def start_selected(self) -> None:
        """Use the selected checkpoint if it is here, else download (or resume) it."""
        entry = self.selected
        path = installed(entry, self.models_dir)
        if path is not None:
            self._say(f"Loading {html.escape(entry.file_name)}…")
            self.chosen.emit(str(path))
            return
        self.jobs.download(entry, self.models_dir, self.base_url)
        self._begin(f"Downloading {html.escape(entry.url(self.base_url))}…")

    def ask_local_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Use a SAM checkpoint I already have", str(Path.home()),
                                              "SAM checkpoint (*.pth *.pt);;All files (*)")
        if path:
            self.use_local_file(Path(path))

    def use_local_file(self, path: Path) -> None:
        """Check ``path`` against the catalogue's sizes and SHA-256, then link or copy it in."""
        self.jobs.adopt(path, self.models_dir, self.entries)
        self._begin(f"Checking {html.escape(path.name)}…")

    def _begin(self, text: str) -> None:
        self._say(text)
        self.progress.setValue(0)
        self.progress.show()
        self.detail.setText("")
        self._update_buttons()

    # -- job reports ----------------------------------------------------------------------------------
    def _on_progress(self, progress: Progress) -> None:
        self.progress.setValue(int(1000 * progress.done / max(progress.total, 1)))
        self.detail.setText(progress.text)

    def _on_finished(self, path: str) -> None:
        self.progress.hide()
        self.detail.setText("")
        entry = next((e for e in self.entries if e.file_name == Path(path).name), None)
        passed = ("SHA-256 matches" if entry is None or entry.exact_size
                  else f"its size is right and it loads as {html.escape(entry.title)}; no SHA-256 is published")
        self._say(f"{html.escape(Path(path).name)} is verified ({passed}). Loading it…")
        self.refresh()
        self.chosen.emit(path)

    def _on_failed(self, kind: str, text: str) -> None:
        self.progress.hide()
        self.detail.setText("")
        self.refresh()
        if kind == "cancelled":
            self._say("Download paused. Press Resume download to continue where it stopped.", "warning")
            return
        message = html.escape(text)
        if kind in NETWORK_KINDS:
            url = html.escape(self.selected.url(self.base_url))
            message += (f"<br>You can also download <a href='{url}'>{html.escape(self.selected.file_name)}</a> "
                        "with a browser, then use <b>Use a file I already have…</b>")
        self._say(message, "error")

    def shutdown(self) -> None:
        """Stop a running job (a download keeps its .part file for next time)."""
        self.jobs.shutdown()

    def closeEvent(self, event) -> None:
        self.jobs.cancel()
        super().closeEvent(event)


def _tooltip(entry: CheckpointEntry, base_url: str) -> str:
    size = f"{entry.size:,} bytes" if entry.exact_size else f"about {entry.size_text} (the tensors' size; " \
        "no exact size is published)"
    check = f"SHA-256 {entry.sha256}" if entry.exact_size else entry.check
    return f"{entry.file_name}, {size}, {entry.licence}; {check}; from {entry.url(base_url)}"
