"""*Boxes to masks* jobs of :class:`app.services.sam.worker.SamWorker`.

A mixin, like :mod:`app.services.sam.prelabel_mixin`: it shares the worker's lock,
queues and predictors. Each image is encoded (or restored from memory or the disk
cache) on the background predictor, so the image on screen keeps its embedding;
clicks are answered between two encoder blocks and between two boxes, and an
image the user opens that needs the encoder goes first (this one is retried).
"""
from __future__ import annotations

import traceback

from app.services.messages import one_line
from app.services.sam.boxes_to_masks import BoxesCancelled, BoxJob, BoxItem, masks_for_boxes
from app.services.sam.precompute_mixin import _Cancelled
from sam_core.image_files import read_image


class BoxJobs:
    """Mixed into :class:`SamWorker`; runs on its thread except for the public methods."""

    def boxes_to_masks(self, job: BoxJob) -> None:
        """Decode ``job``'s waiting boxes in the background; a running job is stopped first."""
        with self._cond:
            self._boxes, self._boxes_stop = job, True
            self._cond.notify()

    def cancel_boxes(self) -> None:
        """Stop the boxes job between two boxes (or before it starts)."""
        with self._cond:
            queued, self._boxes, self._boxes_stop = self._boxes, None, True
        if queued is not None:
            self.boxes_finished.emit(queued.id, True)

    def _do_boxes(self, job: BoxJob) -> None:
        with self._cond:
            self._boxes_stop = False
        cancelled = False
        for number, item in enumerate(job.items, start=1):
            self.boxes_progress.emit(job.id, number - 1, len(job.items))
            try:
                masks = self._boxes_of(item)
            except BoxesCancelled:
                cancelled = True
                break
            except Exception as exc:  # one bad image must not end the job; it is reported
                traceback.print_exc()
                text = one_line(exc)
                self.failed.emit("boxes", text if item.path.name in text else f"{item.path.name}: {text}")
                continue
            self.boxed.emit(job.id, item.image_id, masks)
        self.boxes_progress.emit(job.id, len(job.items), len(job.items))
        self.boxes_finished.emit(job.id, cancelled)

    def _boxes_of(self, item: BoxItem):
        image = read_image(item.path)
        predictor = self._background_predictor()
        while True:
            if self._boxes_should_stop():
                raise BoxesCancelled()
            with self._cond:
                self._encoding = item.key  # the user's image cancels it (then it is done again)
            try:
                self._embed(item.key, image, predictor, lambda image: self._encode_in_background(predictor, image))
                break
            except _Cancelled:
                continue
        if predictor.original_size != image.shape[:2]:
            raise ValueError(f"{item.path.name}: the file changed size since it was annotated")
        return masks_for_boxes(predictor, item, self._boxes_should_stop)

    def _boxes_should_stop(self) -> bool:
        """Between steps: True to stop; else first answer what the user waits for."""
        while True:
            with self._cond:
                if self._stopping or self._boxes_stop or self._checkpoint is not None:
                    return True
                job = self._next_job(urgent=True)
            if job is None:
                return False
            self._guarded(*job)
