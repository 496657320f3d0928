"""Automatic pre-labelling in the app: "segment everything" and the review of its masks.

A QObject on the UI thread. It posts a :class:`PrelabelJob` (this image, or
every image of the folder) to the SAM worker and follows its progress; the
worker answers clicks between point batches, so labelling goes on meanwhile.
Each image's masks arrive as one undoable step on that image's history, as
annotations whose provenance says ``source="auto"``. Masks that now mostly
cover annotations made while the job ran are dropped on arrival; in "no
overlap" mode the new masks give way to existing annotations (and to each
other, best first).

Review: an automatic annotation is *to review* until it is accepted (Accept
all, an undoable step that sets ``provenance.reviewed``, so it is saved with
the project), edited (any mask change marks it edited) or deleted.
"""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QObject, Signal

from app.model import Annotation, Mask, Provenance, mask_ops
from app.model.commands import AddAnnotations, RemoveAnnotations, SetReviewed
from app.model.events import follow
from app.model.history import History
from app.model.labeling_state import LabelingState
from app.model.notices import Notices
from app.services.sam.segment_everything import AutoMask, PrelabelItem, PrelabelJob, PrelabelParams, covered
from app.services.sam.worker import SamWorker


class Prelabeler(QObject):
    progress = Signal(str, int, int)  # text, done, total (total 0: idle)
    running_changed = Signal(bool)
    review_changed = Signal()  # the masks to review (of any image) may have changed
    finished = Signal(bool)  # a job ended: cancelled?

    def __init__(self, state: LabelingState, history: History, worker: SamWorker, notices: Notices,
                 params: PrelabelParams | None = None) -> None:
        super().__init__()
        self.state, self.history, self.worker, self.notices = state, history, worker, notices
        self.params = params or PrelabelParams()
        self.running = False
        self._job = 0
        self._snapshots: dict[int, tuple] = {}  # image id -> masks it had when the job was posted
        self._dataset = None
        worker.prelabel_progress.connect(self._on_progress)
        worker.prelabelled.connect(self._on_result)
        worker.prelabel_finished.connect(self._on_finished)
        state.events.project_changed.connect(lambda event: self._on_project(event.value))

    # -- running -------------------------------------------------------------------------------------
    def run_image(self) -> bool:
        """Segment everything on the current image."""
        image_id = self.state.image_id
        return image_id is not None and self._start([image_id])

    def run_folder(self) -> bool:
        """Segment everything on every image of the folder, current one first."""
        project, current = self.state.project, self.state.image_id
        if project is None:
            return False
        ids = project.present_image_ids()  # a missing image has no file to segment
        if current in ids:
            ids.remove(current)
            ids.insert(0, current)
        return self._start(ids)

    def _start(self, image_ids: list[int]) -> bool:
        if not self.state.sam.ready:
            self.notices.status("Segment everything needs a SAM checkpoint (File > Open checkpoint…)")
            return False
        if not image_ids:
            self.notices.status("No images to segment")
            return False
        project = self.state.project
        dataset = project.dataset
        self._snapshots = {i: tuple(a.mask for a in dataset.annotations(i)) for i in image_ids}
        items = tuple(PrelabelItem(i, project.path(i), self._snapshots[i]) for i in image_ids)
        self._job += 1
        self.worker.prelabel(PrelabelJob(self._job, items, self.params))
        self._set_running(True)
        self.progress.emit(f"Segment everything: {len(items)} image{'s' * (len(items) != 1)} queued", 0, 1)
        return True

    def cancel(self) -> None:
        if self.running:
            self.worker.cancel_prelabel()

    def _set_running(self, running: bool) -> None:
        if running != self.running:
            self.running = running
            self.running_changed.emit(running)

    def _on_progress(self, job: int, number: int, images: int, done: int, total: int) -> None:
        if job == self._job:
            share = done / total if total else 1.0
            self.progress.emit(f"Segment everything: image {number}/{images}", (number - 1) * 100 + round(share * 100),
                               images * 100)

    def _on_finished(self, job: int, cancelled: bool) -> None:
        if job != self._job:
            return
        self._set_running(False)
        self.progress.emit("", 0, 0)
        self.notices.status("Segment everything cancelled" if cancelled else "Segment everything finished")
        self.finished.emit(cancelled)

    def _on_result(self, job: int, image_id: int, masks: list[AutoMask]) -> None:
        dataset = self.state.dataset
        if job != self._job or dataset is None or image_id not in dataset.images:
            return  # another folder was opened meanwhile
        category = self.state.current_category
        masks = self._keep(image_id, masks)
        if not masks or category is None:
            self.notices.status(f"Segment everything: no new masks on {dataset.images[image_id].file_name}")
            return
        first = dataset.new_annotation_id()
        annotations = [
            Annotation(first + n, image_id, category, m.mask, Provenance(
                points=(m.point,), point_labels=(1,), predicted_iou=m.predicted_iou,
                stability_score=m.stability_score, crop_box=m.crop_box, source="auto"))
            for n, m in enumerate(masks)
        ]
        text = f"Segment everything: {len(annotations)} mask{'s' * (len(annotations) != 1)}"
        self.history.push(AddAnnotations(dataset, annotations, text), image_id=image_id)
        self.notices.status(f"{text} on {dataset.images[image_id].file_name}")

    def _keep(self, image_id: int, masks: list[AutoMask]) -> list[AutoMask]:
        """Drop masks that mostly cover annotations made since the job was posted;
        in "no overlap" mode cut every mask out of the annotations and of better masks."""
        dataset = self.state.dataset
        now = tuple(a.mask for a in dataset.annotations(image_id))
        changed, no_overlap = not _same(now, self._snapshots.get(image_id, ())), self.state.no_overlap
        if not changed and not no_overlap:
            return masks  # the common case: no full-image union of the annotations to build
        shape = dataset.images[image_id].shape
        taken = covered(now, shape)
        if taken is not None and changed:
            limit = self.params.covered_thresh
            masks = [m for m in masks if _overlap(m, taken) <= limit * m.mask.area]
        if not no_overlap:
            return masks
        kept = []
        taken = np.zeros(shape, dtype=bool) if taken is None else taken
        for m in masks:
            x, y, w, h = m.mask.bbox
            mask = mask_ops.subtract(m.mask, Mask.from_crop(taken[y : y + h, x : x + w], x, y, shape))
            if not mask.is_empty:
                kept.append(AutoMask(mask, m.predicted_iou, m.stability_score, m.point, m.crop_box))
                taken[y : y + h, x : x + w] |= mask.region(x, y, w, h)
        return kept

    # -- review --------------------------------------------------------------------------------------
    def to_review(self, image_id: int | None = None) -> list[Annotation]:
        """Automatic annotations of the image (default: current) not yet accepted, edited or deleted."""
        dataset = self.state.dataset
        image_id = self.state.image_id if image_id is None else image_id
        if dataset is None or image_id not in dataset.images:
            return []
        return [a for a in dataset.annotations(image_id)
                if a.provenance.source == "auto" and not a.provenance.edited and not a.provenance.reviewed]

    def accept_all(self) -> None:
        """Mark this image's automatic masks still to review as accepted, in one undo step
        (saved with the project, so they stay accepted after a restart)."""
        pending = self.to_review()
        if pending:
            count = f"{len(pending)} automatic mask{'s' * (len(pending) != 1)}"
            self.history.push(SetReviewed(self.state.dataset, [a.id for a in pending], text=f"Accept {count}"))
            self.notices.status(f"Accepted {count}")

    def reject_all(self) -> None:
        """Delete the automatic masks of this image still to review, in one undo step."""
        pending = self.to_review()
        if pending:
            self.history.push(RemoveAnnotations(self.state.dataset, [a.id for a in pending],
                                                f"Delete {len(pending)} automatic masks"))
            self.notices.status(f"Deleted {len(pending)} automatic masks")

    def next(self) -> int | None:
        """Select the next automatic mask to review (after the selected one, wrapping)."""
        ids = [a.id for a in self.to_review()]
        if not ids:
            self.notices.status("No automatic masks to review on this image")
            return None
        selected = self.state.selected
        following = [i for i in ids if selected is not None and i > selected]
        target = following[0] if following else ids[0]
        self.state.select(target)
        return target

    def _on_project(self, project) -> None:
        self.cancel()
        self._job += 1  # results still on their way belong to the old folder
        self._set_running(False)
        self._dataset = follow(self._dataset, None if project is None else project.dataset, self._on_document)
        self.review_changed.emit()

    def _on_document(self, event) -> None:
        if event.type.startswith("annotation_"):
            self.review_changed.emit()


def _same(a: tuple, b: tuple) -> bool:
    return len(a) == len(b) and all(x is y for x, y in zip(a, b))


def _overlap(m: AutoMask, taken: np.ndarray) -> int:
    x, y, w, h = m.mask.bbox
    return int(np.count_nonzero(m.mask.crop & taken[y : y + h, x : x + w]))

