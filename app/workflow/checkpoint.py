"""Loading SAM checkpoints, and following whether SAM is ready.

A QObject on the UI thread. It asks the SAM worker to load a checkpoint on the
device chosen for this session (``--device``, else the remembered one), puts
SAM's status into the labelling state (controllers that wait for SAM follow
``sam_changed``), remembers a checkpoint that loaded, and tells the user, in one
line, what failed and how to get a checkpoint. An official checkpoint of the models
folder is checked in the background before its first use (its SHA-256, or, where none is
published, that it loads as the catalogue's network), and again only
when the file changed (:mod:`app.services.checkpoints.verified`).
"""
from __future__ import annotations

from html import escape
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from app.model.labeling_state import LabelingState, SamStatus
from app.model.notices import Notices
from app.services.checkpoints.jobs import ModelJobs
from app.services.checkpoints.verified import is_verified, known_checkpoint
from app.services.sam.worker import SamWorker
from app.services.settings import Settings
from app.workflow.texts import CHECKPOINT_HELP, CHECKPOINT_HINT

TOPIC = "checkpoint"  # the notices about having no working checkpoint


class CheckpointLoader(QObject):
    sam_state = Signal(str)  # for the status bar: "SAM 2.1 hiera_t · cpu", "Loading x.pth…", "No checkpoint"
    checkpoint_failed = Signal()  # a checkpoint did not load (after the error message)

    def __init__(self, state: LabelingState, worker: SamWorker, settings: Settings, notices: Notices,
                 checks: ModelJobs | None = None) -> None:
        super().__init__()
        self.state, self.worker, self.settings, self.notices = state, worker, settings, notices
        self.device = settings.device or "auto"  # where checkpoints load: --device for this session, else remembered
        self._loading: tuple[str, str] | None = None
        self.checks = checks  # hashes official checkpoints before their first use
        self._checking: str | None = None  # the file being checked before it loads
        if checks is not None:
            checks.finished.connect(self._on_checked)
            checks.failed.connect(self._on_check_failed)
        self.loaded_any = False  # some checkpoint has loaded in this session
        worker.sam_loaded.connect(self._on_loaded)
        worker.failed.connect(self._on_failed)
        worker.fell_back.connect(self._on_fell_back)
        worker.sam_kept.connect(self._on_kept)

    def load(self, path: str | Path, device: str | None = None) -> None:
        """Load ``path`` in the background on ``device`` (default: this session's)."""
        self.device = device = device or self.device
        self._loading = (str(path), device)  # remembered once it loads
        self.state.set_sam(SamStatus(loading=True))
        entry = known_checkpoint(path, self.settings.models_dir)
        if entry is not None and self.checks is not None and not self.checks.busy \
                and not is_verified(entry, self.settings.models_dir):
            how = "SHA-256" if entry.exact_size else "size, and that it loads"
            self.sam_state.emit(f"Checking {Path(path).name} ({how})…")
            self._checking = str(Path(self.settings.models_dir) / entry.file_name)
            self.checks.verify(entry, self.settings.models_dir)
            return
        self.sam_state.emit(f"Loading {Path(path).name}…")
        self.worker.load_checkpoint(str(path), device)

    def _on_checked(self, path: str) -> None:
        if self._loading is not None and path == self._checking:
            self._checking = None
            self.sam_state.emit(f"Loading {Path(path).name}…")
            self.worker.load_checkpoint(*self._loading)

    def _on_check_failed(self, _kind: str, text: str) -> None:
        if self._checking is not None:
            self._checking = None
            self._on_failed("checkpoint", text)

    def explain_missing(self) -> None:
        self.sam_state.emit("No checkpoint")
        self.notices.warning(CHECKPOINT_HELP, topic=TOPIC)

    def _on_loaded(self, device: str, title: str) -> None:
        self.loaded_any = True
        if self._loading is not None:
            self.settings.checkpoint, self.settings.device = self._loading
        self.sam_state.emit(f"{title} · {device}")
        self.notices.resolve(TOPIC)  # "No SAM checkpoint loaded" and failed loads are over
        self.notices.status(f"Checkpoint loaded: {title} on {device}")
        self.state.set_sam(SamStatus(True, title, device))

    def _on_failed(self, kind: str, text: str) -> None:
        if kind == "checkpoint":
            self.state.set_sam(SamStatus())
            self.sam_state.emit("No checkpoint")
        hint = CHECKPOINT_HINT if kind == "checkpoint" else ""
        self.notices.error(f"SAM {kind} failed: {escape(text)}{hint}", topic=TOPIC if kind == "checkpoint" else "")
        if kind == "checkpoint":
            self.checkpoint_failed.emit()
        self.notices.status(f"SAM {kind} failed: {text}")

    def _on_kept(self, device: str, title: str) -> None:
        """A new checkpoint failed (its error came first) and the worker still holds the SAM
        that answered before: it is ready again."""
        self.sam_state.emit(f"{title} · {device}")
        self.notices.status(f"Still using {title} on {device}")
        self.state.set_sam(SamStatus(True, title, device))

    def _on_fell_back(self, text: str) -> None:
        self.notices.warning(escape(text))
        sam = self.state.sam
        self.state.set_sam(SamStatus(sam.ready, sam.title, "cpu"))
        self.sam_state.emit(f"{sam.title} · cpu")


__all__ = ["CheckpointLoader"]
