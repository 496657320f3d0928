"""Pre-labelling ("segment everything") jobs of :class:`app.services.sam.worker.SamWorker`.

A mixin, like :mod:`app.services.sam.precompute_mixin`: it shares the worker's lock,
queues and predictor. A job is long, so between its point batches it answers the
clicks the user waits for (see ``_prelabel_should_stop``).
"""
from __future__ import annotations

import traceback

import torch

from app.services.messages import one_line
from app.services.sam.segment_everything import PrelabelJob, run_item
from sam_core import GenerationCancelled


class PrelabelJobs:
    """Mixed into :class:`SamWorker`; runs on its thread except for the public methods."""

    def prelabel(self, job: PrelabelJob) -> None:
        """Segment everything on ``job``'s images (after the current image's encoding);
        a running job is stopped first."""
        with self._cond:
            self._prelabel, self._prelabel_stop = job, True
            self._cond.notify()

    def cancel_prelabel(self) -> None:
        """Stop the pre-label job between two point batches (or before it starts)."""
        with self._cond:
            queued, self._prelabel, self._prelabel_stop = self._prelabel, None, True
        if queued is not None:
            self.prelabel_finished.emit(queued.id, True)

    def _do_prelabel(self, job: PrelabelJob) -> None:
        with self._cond:
            self._prelabel_stop = False
        generator = job.params.generator(self._predictor.model)
        cancelled, count = False, len(job.items)
        for number, item in enumerate(job.items, start=1):
            def progress(done: int, total: int, number: int = number) -> None:
                self.prelabel_progress.emit(job.id, number, count, done, total)
            try:
                try:
                    masks = run_item(generator, item, progress, self._prelabel_should_stop)
                except torch.OutOfMemoryError as exc:  # this image again, on the CPU
                    if not self._fall_back_to_cpu(exc):
                        raise
                    generator = job.params.generator(self._predictor.model)
                    masks = run_item(generator, item, progress, self._prelabel_should_stop)
            except GenerationCancelled:
                cancelled = True
                break
            except Exception as exc:  # one bad image must not end the job; it is reported
                traceback.print_exc()
                text = one_line(exc)
                self.failed.emit("pre-label", text if item.path.name in text else f"{item.path.name}: {text}")
                continue
            self.prelabelled.emit(job.id, item.image_id, masks)
        self.prelabel_finished.emit(job.id, cancelled)

    def _prelabel_should_stop(self) -> bool:
        """Between point batches: True to stop; else first answer what the user waits for."""
        while True:
            with self._cond:
                if self._stopping or self._prelabel_stop or self._checkpoint is not None:
                    return True
                job = self._next_job(urgent=True)
            if job is None:
                return False
            self._guarded(*job)
