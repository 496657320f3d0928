"""Long jobs the user can see and cancel: encoding, segment everything, precompute, export,
import… (no Qt).

:class:`Jobs` is the one place the status bar reads progress from. A controller
never needs to know it: the bindings feed a controller's progress signal into
it with :meth:`Jobs.feeder`, which takes the common shape ``(text, done, total)``:

* ``total > 0``: running, ``done`` of ``total`` steps (blocks, images, batches…);
* ``total < 0``: running, amount unknown (a busy bar);
* ``total == 0``: finished (``text``, if any, is the last word).

``cancel`` is what the job's Cancel button calls. Each running job gets an ETA
from :class:`EtaEstimator`, a moving average over its recent steps, so one slow
step (a pause while the user's own image is encoded) moves it a little, not
tenfold.

Events: ``started``, ``progressed``, ``ended`` (value: the :class:`Job`).
"""
from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from app.model.events import EmitterGroup

Clock = Callable[[], float]


class EtaEstimator:
    """Seconds left from the last ``window`` progress samples: remaining steps over the
    recent rate (steps per second between the oldest and newest sample kept)."""

    def __init__(self, window: int = 10, clock: Clock = time.monotonic) -> None:
        self.clock = clock
        self._samples: deque[tuple[float, float]] = deque(maxlen=window + 1)

    def reset(self) -> None:
        self._samples.clear()

    def add(self, done: float, now: float | None = None) -> None:
        now = self.clock() if now is None else now
        if self._samples and done < self._samples[-1][1]:
            self._samples.clear()  # started again
        if not self._samples or done > self._samples[-1][1]:
            self._samples.append((now, float(done)))

    def eta(self, total: float) -> float:
        """Seconds until ``total``; -1 while unknown (fewer than two samples)."""
        if len(self._samples) < 2:
            return -1.0
        (t0, d0), (t1, d1) = self._samples[0], self._samples[-1]
        if t1 <= t0 or d1 <= d0:
            return -1.0
        return max(0.0, (total - d1) * (t1 - t0) / (d1 - d0))


@dataclass(frozen=True)
class Job:
    """One long job as the status bar shows it. ``total`` < 0: amount unknown;
    ``eta`` in seconds, -1 while unknown; ``cancellable``: it has a Cancel button."""

    id: str
    title: str
    text: str = ""
    done: int = 0
    total: int = -1
    eta: float = -1.0
    cancellable: bool = False
    started: float = field(default_factory=time.monotonic)

    @property
    def fraction(self) -> float | None:
        return None if self.total <= 0 else min(1.0, self.done / self.total)


class Jobs:
    def __init__(self, clock: Clock = time.monotonic) -> None:
        self.events = EmitterGroup(self, ("started", "progressed", "ended"))
        self.clock = clock
        self.running: dict[str, Job] = {}
        self._cancel: dict[str, Callable[[], object]] = {}
        self._eta: dict[str, EtaEstimator] = {}

    def report(self, job_id: str, title: str, text: str = "", done: int = 0, total: int = -1,
               cancel: Callable[[], object] | None = None, eta: float | None = None) -> Job:
        """Start ``job_id`` or move it on (see the module docstring for ``total``); ``eta``
        (seconds, -1 unknown) when the job estimates its own, else the moving average."""
        estimator = self._eta.setdefault(job_id, EtaEstimator(clock=self.clock))
        if total > 0:
            estimator.add(done)
        if eta is None:
            eta = estimator.eta(total) if total > 0 else -1.0
        old = self.running.get(job_id)
        job = Job(job_id, title, text, int(done), int(total), float(eta), cancel is not None)
        if cancel is not None:
            self._cancel[job_id] = cancel
        if old is None:
            self.running[job_id] = job
            self.events.started.emit(job)
        else:
            self.running[job_id] = job = replace(job, started=old.started)
            self.events.progressed.emit(job)
        return job

    def end(self, job_id: str, text: str = "") -> Job | None:
        job = self.running.pop(job_id, None)
        self._cancel.pop(job_id, None)
        self._eta.pop(job_id, None)
        if job is None:
            return None
        job = replace(job, text=text or job.text, done=job.total if job.total > 0 else job.done, eta=0.0)
        self.events.ended.emit(job)
        return job

    def cancel(self, job_id: str) -> bool:
        """Ask the job to stop (its own signal ends it); False when it cannot be cancelled."""
        cancel = self._cancel.get(job_id)
        if job_id not in self.running or cancel is None:
            return False
        cancel()
        return True

    def feeder(self, job_id: str, title: str, cancel: Callable[[], object] | None = None,
               ) -> Callable[[str, int, int], None]:
        """A slot for a ``(text, done, total)`` progress signal: total 0 ends the job."""
        def feed(text: str, done: int, total: int) -> None:
            if total == 0:
                self.end(job_id, text)
            else:
                self.report(job_id, title, text, done, total, cancel)

        return feed


__all__ = ["EtaEstimator", "Job", "Jobs"]
