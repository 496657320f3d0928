"""What the session looks like: annotations made per hour, the predicted IoU of the masks
accepted, and click-to-mask latency over time (no Qt).

:class:`SessionStats` follows the open document (:meth:`SessionStats.follow`, or the
labelling state given to it) and counts an annotation when it becomes an *accepted*
one: a prompt's candidate or a box taken (source "sam", "box"), a painted one
("brush"), or an automatic mask the user accepted in review or edited ("auto" with
``reviewed`` or ``edited``). Taking it back (undo, delete, un-review) takes the count
back, from the minute it was counted in. Imported annotations and automatic masks still
to review are not the user's work and are never counted.

Click latency is fed by whoever measures it: the bootstrap connects
``Prompting.click_ms`` to :meth:`SessionStats.record_click`.

Times are ``clock()`` seconds (``time.monotonic`` unless given); the session starts when
the object is made. Memory stays bounded for a day-long session and more: annotations
are counted in one-minute buckets (``max_minutes`` kept), the ids that may still be taken
back are kept up to ``max_tracked``, and the latency series keeps at most ``max_clicks``
points (when full, its older half is thinned to every other point, so the whole session
stays in view, the recent part in full detail).

Events: ``changed`` (value: "annotations" or "latency"), after the figures changed.
"""
from __future__ import annotations

import math
import time
from collections import OrderedDict, deque
from collections.abc import Callable

import numpy as np

from app.model.annotation import Annotation
from app.model.dataset import Dataset
from app.model.events import EmitterGroup, Event, follow

Clock = Callable[[], float]
MINUTE = 60.0


def is_accepted(annotation: Annotation) -> bool:
    """An annotation the user made or accepted in this app (not imported, not an automatic
    mask still to review)."""
    p = annotation.provenance
    if p.source == "import":
        return False
    return p.source != "auto" or p.reviewed or p.edited


class SessionStats:
    def __init__(self, state=None, clock: Clock = time.monotonic, iou_bins: int = 20,
                 max_minutes: int = 3 * 24 * 60, max_tracked: int = 100_000, max_clicks: int = 4096) -> None:
        """``state``: a :class:`~app.model.labeling_state.LabelingState` whose open
        document is followed (None: call :meth:`follow` yourself)."""
        self.events = EmitterGroup(self, ("changed",))
        self.clock = clock
        self.start = clock()
        self.iou_bins, self.max_minutes, self.max_clicks = iou_bins, max_minutes, max_clicks
        self.max_tracked = max_tracked
        self._first_minute = 0  # the minute index of _minutes[0] (older buckets were dropped)
        self._minutes: deque[int] = deque()  # annotations counted in each minute since start
        self._iou = np.zeros(iou_bins, dtype=np.int64)
        self._tracked: OrderedDict[int, tuple[int, int | None]] = OrderedDict()  # id -> (minute, IoU bin)
        self._clicks: list[tuple[float, float]] = []  # (seconds since start, ms)
        self._dataset: Dataset | None = None
        if state is not None:
            state.events.project_changed.connect(
                lambda e: self.follow(None if e.value is None else e.value.dataset))
            if state.dataset is not None:
                self.follow(state.dataset)

    # -- feeding ---------------------------------------------------------------------------------
    def follow(self, dataset: Dataset | None) -> None:
        """Count from now on what becomes accepted in ``dataset`` (another folder's document:
        what was counted stays counted, but can no longer be taken back)."""
        self._tracked.clear()
        self._dataset = follow(self._dataset, dataset, self._on_document)

    def record_click(self, ms: float, now: float | None = None) -> None:
        """One click-to-mask latency, in milliseconds, measured at ``now`` (default: the clock)."""
        t = (self.clock() if now is None else now) - self.start
        self._clicks.append((t, float(ms)))
        if len(self._clicks) > self.max_clicks:
            half = len(self._clicks) // 2
            self._clicks = self._clicks[:half:2] + self._clicks[half:]
        self.events.changed.emit("latency")

    def count(self, annotation: Annotation, now: float | None = None) -> None:
        """Count ``annotation`` as accepted at ``now`` (once per id until it is taken back)."""
        if annotation.id in self._tracked:
            return
        minute = self._minute(self.clock() if now is None else now)
        self._bump(minute, 1)
        iou = annotation.provenance.predicted_iou
        bin_ = None if iou is None else self._iou_bin(iou)
        if bin_ is not None:
            self._iou[bin_] += 1
        self._tracked[annotation.id] = (minute, bin_)
        if len(self._tracked) > self.max_tracked:
            self._tracked.popitem(last=False)  # so old it will hardly be taken back
        self.events.changed.emit("annotations")

    def take_back(self, annotation_id: int) -> None:
        """Undo :meth:`count` for an annotation that is no longer accepted."""
        if annotation_id not in self._tracked:
            return
        minute, bin_ = self._tracked.pop(annotation_id)
        if minute >= self._first_minute:
            self._bump(minute, -1)
        if bin_ is not None:
            self._iou[bin_] -= 1
        self.events.changed.emit("annotations")

    def _on_document(self, event: Event) -> None:
        if event.type == "annotation_added" and is_accepted(event.value):
            self.count(event.value)
        elif event.type == "annotation_removed":
            self.take_back(event.value.id)
        elif event.type == "annotation_changed":
            if is_accepted(event.value) and not is_accepted(event.old):
                self.count(event.value)
            elif is_accepted(event.old) and not is_accepted(event.value):
                self.take_back(event.value.id)

    def _minute(self, now: float) -> int:
        return max(0, int((now - self.start) // MINUTE))

    def _bump(self, minute: int, delta: int) -> None:
        self._grow(minute)
        self._minutes[minute - self._first_minute] += delta

    def _grow(self, minute: int) -> None:
        """Buckets up to ``minute``, dropping the oldest beyond ``max_minutes``."""
        while self._first_minute + len(self._minutes) <= minute:
            self._minutes.append(0)
        while len(self._minutes) > self.max_minutes:
            self._minutes.popleft()
            self._first_minute += 1

    def _iou_bin(self, iou: float) -> int:
        return min(self.iou_bins - 1, max(0, int(iou * self.iou_bins)))  # SAM's guesses can leave [0, 1]

    # -- reading ---------------------------------------------------------------------------------
    @property
    def accepted(self) -> int:
        """Annotations accepted in this session (of the minutes still kept)."""
        return int(sum(self._minutes))

    def elapsed(self, now: float | None = None) -> float:
        """Seconds since the session started."""
        return (self.clock() if now is None else now) - self.start

    def rate_per_hour(self, window_s: float = 3600.0, now: float | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Annotations per hour over the session: ``(t, rate)``, float64 arrays of one
        sample per minute kept, ``t`` the sample's time in seconds since the start (the
        minute's end; ``now`` for the current minute), ``rate`` the annotations of the
        ``window_s`` up to it per hour of that window (of the session so far, at least a
        minute, while it is shorter than the window)."""
        elapsed = self.elapsed(now)
        self._grow(max(0, math.ceil(elapsed / MINUTE) - 1))  # the minute under way (none yet at its start)
        counts = np.asarray(self._minutes, dtype=np.float64)
        minutes = self._first_minute + np.arange(len(counts))
        t = np.minimum((minutes + 1) * MINUTE, max(elapsed, 0.0))
        width = max(1, int(round(window_s / MINUTE)))
        total = np.concatenate([[0.0], np.cumsum(counts)])
        ends = np.arange(1, len(counts) + 1)
        in_window = total[ends] - total[np.maximum(0, ends - width)]
        span = np.minimum(window_s, np.maximum(t, MINUTE))
        return t, in_window * 3600.0 / span

    def iou_histogram(self) -> tuple[np.ndarray, np.ndarray]:
        """The predicted IoU of the accepted masks that have one: ``(edges, counts)``,
        ``edges`` float64 of ``iou_bins + 1`` from 0 to 1, ``counts`` int64 of ``iou_bins``
        (a value outside [0, 1] falls in the first or last bin)."""
        return np.linspace(0.0, 1.0, self.iou_bins + 1), self._iou.copy()

    def latency(self) -> tuple[np.ndarray, np.ndarray]:
        """Click-to-mask latency: ``(t, ms)``, float64, ``t`` in seconds since the start."""
        if not self._clicks:
            return np.zeros(0), np.zeros(0)
        t, ms = np.asarray(self._clicks, dtype=np.float64).T
        return t, ms

    def latency_percentiles(self, last: int = 200) -> tuple[float, float] | None:
        """p50 and p95 in ms of the last ``last`` clicks; None before the first."""
        if not self._clicks:
            return None
        recent = np.asarray([ms for _t, ms in self._clicks[-last:]])
        return float(np.percentile(recent, 50)), float(np.percentile(recent, 95))


__all__ = ["SessionStats", "is_accepted"]
