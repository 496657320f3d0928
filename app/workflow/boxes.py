"""*Auto > Boxes to masks*: SAM turns every box waiting for it into a mask, in the background.

A QObject on the UI thread. Boxes wait for SAM when a detection dataset is
imported (COCO box-only annotations, YOLO boxes, labelme rectangles). This
controller posts a :class:`BoxJob` (this image, or every image) to the SAM
worker and follows its progress; each image's masks arrive as one undo step on
that image's history: each waiting annotation becomes, in place and with its
category, an ``auto`` annotation with SAM's scores and its box as the prompt,
to review in the Automatic panel like segment everything's. A box SAM finds
nothing in keeps waiting, and the message says how many did.
"""
from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import QObject, Signal

from app.model.annotation import Provenance
from app.model.commands import ReplaceAnnotations
from app.model.history import History
from app.model.io.skips import plural
from app.model.labeling_state import LabelingState
from app.model.notices import Notices
from app.services.sam.boxes_to_masks import BoxItem, BoxJob, BoxMask, WaitingBox
from app.services.sam.worker import SamWorker


class BoxesToMasks(QObject):
    progress = Signal(str, int, int)  # text, done, total (total 0: idle)
    running_changed = Signal(bool)

    def __init__(self, state: LabelingState, history: History, worker: SamWorker, notices: Notices) -> None:
        super().__init__()
        self.state, self.history, self.worker, self.notices = state, history, worker, notices
        self.running = False
        self._job = 0
        self._empty = 0  # boxes SAM found nothing in, this job
        worker.boxes_progress.connect(self._on_progress)
        worker.boxed.connect(self._on_result)
        worker.boxes_finished.connect(self._on_finished)
        state.events.project_changed.connect(lambda event: self._on_project(event.value))

    def waiting(self, image_id: int | None = None) -> list:
        """The boxes waiting for SAM on one image (default: the current one)."""
        dataset = self.state.dataset
        image_id = self.state.image_id if image_id is None else image_id
        if dataset is None or image_id not in dataset.images:
            return []
        return [a for a in dataset.annotations(image_id) if a.waits_for_sam]

    # -- running -------------------------------------------------------------------------------
    def run_image(self) -> bool:
        """Boxes to masks on the current image."""
        return self.state.image_id is not None and self._start([self.state.image_id])

    def run_folder(self) -> bool:
        """Boxes to masks on every image that has waiting boxes, the current one first."""
        project = self.state.project
        if project is None:
            return False
        ids = project.present_image_ids()
        if self.state.image_id in ids:
            ids.remove(self.state.image_id)
            ids.insert(0, self.state.image_id)
        return self._start(ids)

    def _start(self, image_ids: list[int]) -> bool:
        if not self.state.sam.ready:
            self.notices.status("Boxes to masks needs a SAM checkpoint (File > Open checkpoint…)")
            return False
        project = self.state.project
        items = tuple(BoxItem(i, project.key(i), project.path(i),
                              tuple(WaitingBox(a.id, a.provenance.box) for a in self.waiting(i)))
                      for i in image_ids if i not in project.missing and self.waiting(i))
        if not items:
            self.notices.status("No boxes waiting for SAM" + (" on this image" if len(image_ids) == 1 else ""))
            return False
        self._job += 1
        self._empty = 0
        self.worker.boxes_to_masks(BoxJob(self._job, items))
        self._set_running(True)
        boxes = sum(len(i.boxes) for i in items)
        self.progress.emit(f"Boxes to masks: {boxes} {plural('box', boxes)} on {len(items)} "
                           f"{plural('image', len(items))}", 0, len(items))
        return True

    def cancel(self) -> None:
        if self.running:
            self.worker.cancel_boxes()

    def _set_running(self, running: bool) -> None:
        if running != self.running:
            self.running = running
            self.running_changed.emit(running)

    def _on_progress(self, job: int, done: int, images: int) -> None:
        if job == self._job:
            self.progress.emit(f"Boxes to masks: image {min(done + 1, images)}/{images}", done, images)

    def _on_finished(self, job: int, cancelled: bool) -> None:
        if job != self._job:
            return
        self._set_running(False)
        self.progress.emit("", 0, 0)
        text = "Boxes to masks cancelled" if cancelled else "Boxes to masks finished"
        if self._empty:
            text += f"; SAM found nothing in {self._empty} {plural('box', self._empty)}, which still wait"
        self.notices.status(text)

    def _on_result(self, job: int, image_id: int, masks: list[BoxMask]) -> None:
        dataset = self.state.dataset
        if job != self._job or dataset is None or image_id not in dataset.images:
            return  # another folder was opened meanwhile
        new = []
        for result in masks:
            try:
                annotation = dataset.annotation(result.annotation_id)
            except KeyError:
                continue  # deleted meanwhile
            if not annotation.waits_for_sam:
                continue  # painted or replaced meanwhile: the user's version stays
            if result.mask.is_empty:
                self._empty += 1
                continue
            provenance = Provenance(box=annotation.provenance.box, predicted_iou=result.predicted_iou,
                                    stability_score=result.stability_score, source="auto")
            new.append(replace(annotation, mask=result.mask, provenance=provenance, polygons=None))
        if not new:
            return
        text = f"Boxes to masks: {len(new)} {plural('mask', len(new))}"
        self.history.push(ReplaceAnnotations(dataset, new, text), image_id=image_id)
        self.notices.status(f"{text} on {dataset.images[image_id].file_name}")

    def _on_project(self, project) -> None:
        self.cancel()
        self._job += 1  # results still on their way belong to the old folder
        self._set_running(False)


__all__ = ["BoxesToMasks"]
