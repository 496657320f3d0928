"""Prompting SAM: points and boxes in, three candidates out, accept one as an annotation.

A QObject on the UI thread. Every prompt change is an undoable command on the
prompt session of the labelling state; whenever the prompts change (a click, a
box, Backspace, Esc, undo, redo, another image) it asks the SAM worker for a
decode of all prompts so far, with the previous mask as a mask prompt when
refining is on. "Latest wins": each request has an id, and a result for an older
one (or for prompts since cleared) is dropped. Without a checkpoint, a dragged
box still gives one rectangular candidate (saved with source "box"); prompts given while
a checkpoint is loading are decoded once it is ready.
"""
from __future__ import annotations

import time

from PySide6.QtCore import QObject, Signal

from app.model import Annotation, edits
from app.model.history import History
from app.model.labeling_state import LabelingState
from app.model.notices import Notices
from app.model.prompts import BoxCandidates
from app.services.sam.worker import DecodeRequest, SamWorker
from app.services.settings import Settings


class Prompting(QObject):
    click_ms = Signal(float)  # from a prompt change to its candidates

    def __init__(self, state: LabelingState, history: History, worker: SamWorker, settings: Settings,
                 notices: Notices) -> None:
        super().__init__()
        self.state, self.history, self.worker, self.settings, self.notices = state, history, worker, settings, notices
        self.session = state.prompts
        self.session.use_mask_input = settings.use_mask_input
        self._request_id = 0
        self._request_started = 0.0
        self.session.events.prompts_changed.connect(lambda _e: self._request_decode())
        state.events.image_changed.connect(self._on_image)
        state.events.project_changed.connect(lambda _e: self.session.reset(None, None))
        state.events.sam_changed.connect(self._on_sam)
        worker.decoded.connect(self._on_decoded)

    # -- prompts -------------------------------------------------------------------------------------
    def add_point(self, x: float, y: float, positive: bool) -> None:
        if self.state.image_id is not None:
            self.history.push(edits.add_point(self.session, x, y, positive))

    def set_box(self, x0: float, y0: float, x1: float, y1: float) -> None:
        if self.state.image_id is not None:
            self.history.push(edits.set_box(self.session, x0, y0, x1, y1))

    def remove_last_prompt(self) -> None:
        self.history.push(edits.remove_last_prompt(self.session))

    def clear_prompts(self) -> None:
        self.history.push(edits.clear_prompts(self.session))

    def set_use_mask_input(self, on: bool) -> None:
        self.session.use_mask_input = self.settings.use_mask_input = bool(on)

    # -- candidates ----------------------------------------------------------------------------------
    def pick(self, rank: int) -> None:
        if not self.session.select_rank(rank):
            self.notices.status(f"There is no candidate {rank + 1}")

    def cycle(self) -> None:
        self.session.cycle()

    def accept(self) -> Annotation | None:
        """Add the shown candidate as an annotation of the current category; clears the prompts."""
        dataset, category_id = self.state.dataset, self.state.current_category
        if dataset is None:
            return None
        annotation = edits.annotation_from_session(self.session, dataset.new_annotation_id(), category_id)
        if annotation is None:
            self.notices.status("Nothing to accept: click an object first")
            return None
        self.history.push(edits.accept(dataset, self.session, annotation, self.state.no_overlap))
        self.notices.status(f"Accepted {dataset.categories[category_id].name}: {annotation.area} px")
        return annotation

    # -- decoding ------------------------------------------------------------------------------------
    def _on_image(self, event) -> None:
        """This image's prompts from an earlier visit come back (and are decoded again)."""
        image_id = event.value
        self.worker.cancel_decodes()
        shape = None if image_id is None else self.state.dataset.images[image_id].shape
        self.session.reset(image_id, shape)

    def _on_sam(self, event) -> None:
        if event.value.ready and self.session.prompts:  # points given while the checkpoint was loading
            self._request_decode()

    def _request_decode(self) -> None:
        session = self.session
        if not session.prompts:
            self.worker.cancel_decodes()
            return
        if not self.state.sam.ready:
            if self.state.sam.loading:  # _on_sam decodes them once it is ready
                self.notices.status("SAM is still loading the checkpoint: your prompts are decoded as soon as it is ready")
            elif session.box is not None:
                session.set_candidates(BoxCandidates(tuple(session.box), session.shape))
            else:
                self.notices.status("Points need a SAM checkpoint (File > Open checkpoint…); a dragged box works "
                                    "without. Your points are kept and decoded when one loads.")
            return
        self._request_id += 1
        self._request_started = time.perf_counter()
        self.worker.decode(DecodeRequest(
            self._request_id, self.state.image_key, session.points, session.labels,
            session.box, session.mask_input, session.multimask,
        ))

    def _on_decoded(self, request_id: int, candidates) -> None:
        if request_id != self._request_id or not self.session.prompts:
            return  # stale: a newer prompt (or another image) has been asked for since
        self.session.set_candidates(candidates)
        self.click_ms.emit((time.perf_counter() - self._request_started) * 1000)


__all__ = ["Prompting"]
