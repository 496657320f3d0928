"""The labelling workflow: folder -> image -> prompts -> candidates -> annotations.

A QObject on the UI thread that connects the project (document), the prompt
session, the image loader and the SAM worker. It never waits on the model or the
disk: it posts requests and reacts to their signals. Widgets observe it and the
model; they do not hold document state.
"""
from __future__ import annotations

import time
from collections import OrderedDict
from html import escape
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, Signal

from app.model import edits
from app.workflow.categories import Categories
from app.workflow.folder_scan import FolderScan
from app.workflow.history import History
from app.model import Annotation, Dataset
from app.model.events import follow
from app.workflow.prelabeling import Prelabeler
from app.model.project import Project
from app.workflow.brush import Refiner
from app.services.exporter import Exporter
from app.services.image_loader import ImageLoader
from app.services.sam.worker import DecodeRequest, SamWorker
from app.services.settings import Settings
from app.model.prompts import BoxCandidates, PromptSession
from app.workflow.texts import CHECKPOINT_HELP, CHECKPOINT_HINT

class Labeler(QObject):
    project_changed = Signal(object)  # Project or None
    image_changed = Signal(int)  # image id, -1 for none
    image_shown = Signal(object, object, float)  # display copy (or None), (H, W), display factor
    overlay_changed = Signal()  # annotation visibility changed
    selection_changed = Signal(int)  # selected annotation id, -1 for none
    message = Signal(str, str)  # level ("info", "warning", "error"), html
    status = Signal(str)
    encode_state = Signal(str, int, int)  # text, blocks done, blocks in all (0 = idle)
    sam_state = Signal(str)
    checkpoint_failed = Signal()  # a checkpoint did not load (after the error message)
    click_ms = Signal(float)
    exported = Signal(str)  # path

    def __init__(self, worker: SamWorker, loader: ImageLoader, exporter: Exporter, settings: Settings) -> None:
        super().__init__()
        self.worker, self.loader, self.exporter, self.settings = worker, loader, exporter, settings
        self.session = PromptSession()
        self.history = History()
        self.categories = Categories(self.history)
        self.categories.status.connect(self.status)
        self.session.use_mask_input = settings.use_mask_input
        self.project: Project | None = None
        self.image_id: int | None = None
        self.selected_annotation: int | None = None
        self.hidden: set[int] = set()
        self.sam_ready = False
        self.sam_name = ""
        self.device = settings.device or "auto"  # where checkpoints load: --device for this session, else remembered
        self._images: OrderedDict[str, tuple[np.ndarray, np.ndarray, float]] = OrderedDict()
        self._request_id = 0
        self._request_started = 0.0
        self._loading: tuple[str, str] | None = None
        worker.sam_loaded.connect(self._on_model_loaded)
        worker.encode_started.connect(self._on_encode_started)
        worker.encode_progress.connect(self._on_encode_progress)
        worker.encoded.connect(self._on_encoded)
        worker.decoded.connect(self._on_decoded)
        worker.failed.connect(self._on_worker_failed)
        loader.loaded.connect(self._on_loaded)
        loader.load_failed.connect(self._on_load_failed)
        exporter.finished.connect(self._on_exported)
        exporter.failed.connect(lambda _path, text: self.message.emit("error", escape(text)))
        self.history.note.connect(self.status)
        self.history.failed.connect(lambda text: self.message.emit("error", escape(text)))
        self.scan = FolderScan(self)  # the open folder's images, as the loader finds them
        self.refine, self.prelabel = Refiner(self), Prelabeler(self)  # brush and mask operations; segment everything
        self._dataset: Dataset | None = None  # the project's document, watched for removed annotations
        self.project_changed.connect(self._watch_document)

    # -- checkpoint ----------------------------------------------------------------------------------
    def load_checkpoint(self, path: str | Path, device: str | None = None) -> None:
        self.device = device = device or self.device
        self._loading = (str(path), device)  # remembered once it loads
        self.sam_ready = False
        self.sam_state.emit(f"Loading {Path(path).name}…")
        self.worker.load_checkpoint(str(path), device)

    def explain_missing_checkpoint(self) -> None:
        self.sam_state.emit("No checkpoint")
        self.message.emit("warning", CHECKPOINT_HELP)

    def _on_model_loaded(self, device: str, name: str) -> None:
        self.sam_ready, self.sam_name = True, name
        if self._loading is not None:
            self.settings.checkpoint, self.settings.device = self._loading
        self.sam_state.emit(f"SAM {name} · {device}")
        self.status.emit(f"Checkpoint loaded: SAM {name} on {device}")
        key = self._current_key()
        if key in self._images:
            self.worker.encode(key, self._images[key][0])
            self._prefetch_next()
        if self.session.prompts:  # points given while the checkpoint was loading
            self._request_decode()

    def _on_worker_failed(self, kind: str, text: str) -> None:
        if kind == "checkpoint":
            self.sam_ready = False
            self.sam_state.emit("No checkpoint")
            self.encode_state.emit("", 0, 0)
        hint = CHECKPOINT_HINT if kind == "checkpoint" else ""
        self.message.emit("error", f"SAM {kind} failed: {escape(text)}{hint}")
        if kind == "checkpoint":
            self.checkpoint_failed.emit()
        self.status.emit(f"SAM {kind} failed: {text}")

    # -- folder and images ---------------------------------------------------------------------------
    def open_folder(self, folder: str | Path) -> bool:
        folder = Path(folder)
        if not folder.is_dir():
            self.message.emit("error", f"Not a folder: {escape(str(folder))}")
            return False
        self.settings.last_folder = str(folder)
        self.project = Project(folder)
        self.history.clear()
        self.hidden.clear()
        self._images.clear()
        self.close_image()
        self.project_changed.emit(self.project)
        self.categories.set_dataset(self.project.dataset)
        self.scan.start(folder)
        self.status.emit(f"Opening {folder}…")
        return True

    def _current_key(self) -> str | None:
        return None if self.image_id is None or self.project is None else self.project.key(self.image_id)

    def open_image(self, image_id: int) -> None:
        if self.project is None or image_id not in self.project.dataset.images:
            return
        record = self.project.dataset.images[image_id]
        self.image_id = image_id
        self.history.set_image(image_id)
        self.worker.cancel_decodes()
        self.session.reset(image_id, record.shape)
        self._request_decode()  # the prompts this image kept from an earlier visit, if any
        self.select_annotation(-1)
        self.image_changed.emit(image_id)
        key = self.project.key(image_id)
        if key in self._images:
            self._show(key)
        else:
            self.image_shown.emit(None, None, 1.0)
            self.status.emit(f"Loading {record.file_name}…")
            self.loader.load(key, self.project.path(image_id))

    def close_image(self) -> None:
        """Show no image (another folder opens, or none of this one is left); forgets every prompt."""
        self.image_id = None
        self.worker.cancel_decodes()
        self.session.reset(None, None)
        self.select_annotation(-1)
        self.image_changed.emit(-1)
        self.image_shown.emit(None, None, 1.0)

    def go(self, step: int) -> None:
        """Move ``step`` images forward (or back) in folder order."""
        if self.project is None:
            return
        target = self.project.neighbour(self.image_id, step)
        if target is None:
            self.status.emit("Last image" if step > 0 else "First image")
        else:
            self.open_image(target)

    def _on_loaded(self, key: str, image: np.ndarray, display: np.ndarray, factor: float) -> None:
        self._images[key] = (image, display, factor)
        self._images.move_to_end(key)
        while len(self._images) > 3:  # previous, current, next
            self._images.popitem(last=False)
        if key == self._current_key():
            self._show(key)
        elif self.sam_ready:
            self.worker.prefetch(key, image)

    def _on_load_failed(self, key: str, reason: str) -> None:
        self.message.emit("error", escape(reason))
        if key == self._current_key():
            self.status.emit(reason)

    def _show(self, key: str) -> None:
        image, display, factor = self._images[key]
        self._images.move_to_end(key)
        self.image_shown.emit(display, image.shape[:2], factor)
        if self.sam_ready:
            self.worker.encode(key, image)
        self._prefetch_next()

    def _prefetch_next(self) -> None:
        """Load and pre-encode the next image so moving forward is instant."""
        next_id = self.project.neighbour(self.image_id, 1) if self.project else None
        if next_id is None or not self.sam_ready:
            return
        key = self.project.key(next_id)
        if key in self._images:
            self.worker.prefetch(key, self._images[key][0])
        else:
            self.loader.load(key, self.project.path(next_id))

    # -- encoding progress ---------------------------------------------------------------------------
    def _on_encode_started(self, key: str, device: str) -> None:
        if key == self._current_key():
            self.encode_state.emit(f"Encoding on {device}…", 0, 1)

    def _on_encode_progress(self, key: str, done: int, total: int) -> None:
        if key == self._current_key():
            self.encode_state.emit(f"Encoding {done}/{total}", done, total)

    def _on_encoded(self, key: str, seconds: float) -> None:
        if key == self._current_key():
            text = f"Encoded in {seconds:.1f} s" if seconds else "Embedding ready"
            self.encode_state.emit(text, 0, 0)
        else:
            self.status.emit(f"Pre-encoded {Path(key).name}")

    # -- prompts and candidates ----------------------------------------------------------------------
    def add_point(self, x: float, y: float, positive: bool) -> None:
        if self.image_id is None:
            return
        self.history.push(edits.add_point(self.session, x, y, positive))
        self._request_decode()

    def set_box(self, x0: float, y0: float, x1: float, y1: float) -> None:
        if self.image_id is None:
            return
        self.history.push(edits.set_box(self.session, x0, y0, x1, y1))
        self._request_decode()

    def remove_last_prompt(self) -> None:
        if self._push(edits.remove_last_prompt(self.session)):
            self._request_decode()

    def clear_prompts(self) -> None:
        self._push(edits.clear_prompts(self.session))
        self.worker.cancel_decodes()

    def set_use_mask_input(self, on: bool) -> None:
        self.session.use_mask_input = self.settings.use_mask_input = bool(on)

    @property
    def latest_request(self) -> int:
        """Id of the newest decode request; results of older ones are dropped."""
        return self._request_id

    def _request_decode(self) -> None:
        session = self.session
        if not session.prompts:
            self.worker.cancel_decodes()
            return
        if not self.sam_ready:
            if session.box is not None:
                session.set_candidates(BoxCandidates(tuple(session.box), session.shape))
            else:
                self.status.emit("Points need a SAM checkpoint (File > Open checkpoint…); a dragged box works without.")
            return
        self._request_id += 1
        self._request_started = time.perf_counter()
        self.worker.decode(
            DecodeRequest(
                self._request_id, self._current_key(), session.points, session.labels,
                session.box, session.mask_input, session.multimask,
            )
        )

    def _on_decoded(self, request_id: int, candidates) -> None:
        if request_id != self._request_id or not self.session.prompts:
            return  # stale: a newer prompt (or another image) has been asked for since
        self.session.set_candidates(candidates)
        ms = (time.perf_counter() - self._request_started) * 1000
        self.click_ms.emit(ms)

    def pick(self, rank: int) -> None:
        if not self.session.select_rank(rank):
            self.status.emit(f"There is no candidate {rank + 1}")

    def cycle(self) -> None:
        self.session.cycle()

    def accept(self) -> Annotation | None:
        """Add the shown candidate as an annotation of the current category."""
        project = self.project
        if project is None:
            return None
        dataset, category_id = project.dataset, self.categories.current()
        annotation = edits.annotation_from_session(self.session, dataset.new_annotation_id(), category_id)
        if annotation is None:
            self.status.emit("Nothing to accept: click an object first")
            return None
        self.history.push(edits.accept(dataset, self.session, annotation, self.refine.no_overlap))
        self.worker.cancel_decodes()
        self.status.emit(f"Accepted {dataset.categories[category_id].name}: {annotation.area} px")
        return annotation

    # -- annotations ---------------------------------------------------------------------------------
    def select_annotation(self, annotation_id: int) -> None:
        self.selected_annotation = None if annotation_id < 0 else annotation_id
        self.selection_changed.emit(annotation_id)

    def delete_annotation(self, annotation_id: int | None = None) -> None:
        annotation_id = self.selected_annotation if annotation_id is None else annotation_id
        if self.project is None or annotation_id is None:
            return
        self.history.push(edits.remove_annotation(self.project.dataset, annotation_id))

    def _watch_document(self, project: Project | None) -> None:
        self._dataset = follow(self._dataset, None if project is None else project.dataset, self._on_document)

    def _on_document(self, event) -> None:
        # Deleted, erased away, rejected or undone: however it went, it can't stay selected.
        if event.type == "annotation_removed" and event.value.id == self.selected_annotation:
            self.select_annotation(-1)

    def set_visible(self, annotation_id: int, visible: bool) -> None:
        (self.hidden.discard if visible else self.hidden.add)(annotation_id)
        self.overlay_changed.emit()

    def toggle_done(self) -> None:
        if self.project is not None and self.image_id is not None:
            self.project.set_done(self.image_id, not self.project.is_done(self.image_id))

    def category_by_number(self, number: int) -> None:
        """Shortcut k: make the k-th category current, and give it to the selected annotation."""
        category_id = self.categories.select_number(number)
        if category_id is not None and self.selected_annotation is not None:
            self._push(edits.assign_category(self.project.dataset, self.selected_annotation, category_id))

    # -- undo ----------------------------------------------------------------------------------------
    def _push(self, command) -> bool:
        if command is None:
            return False
        self.history.push(command)
        return True

    def undo(self) -> None:
        prompts = list(self.session.prompts)
        text = self.history.undo()
        self.status.emit(f"Undid: {text}" if text else "Nothing to undo")
        self._after_history_step(prompts)

    def redo(self) -> None:
        prompts = list(self.session.prompts)
        text = self.history.redo()
        self.status.emit(f"Redid: {text}" if text else "Nothing to redo")
        self._after_history_step(prompts)

    def _after_history_step(self, prompts: list) -> None:
        if self.session.prompts != prompts:  # undo or redo changed the prompts: decode them
            self._request_decode()
        self.categories.current()

    # -- export --------------------------------------------------------------------------------------
    def export(self, fmt: str, path: str | Path) -> None:
        if self.project is None:
            self.status.emit("Open a folder first")
            return
        self.status.emit(f"Exporting to {path}…")
        self.exporter.start(self.project.dataset, fmt, Path(path))

    def _on_exported(self, path: str, text: str) -> None:
        self.message.emit("info", escape(text))
        self.status.emit(text)
        self.exported.emit(path)

    def shutdown(self) -> None:
        self.worker.stop()
        self.loader.shutdown()
        self.exporter.wait()
