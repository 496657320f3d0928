"""Autosave: every change of the open project reaches the disk within a second, off the UI thread.

The UI thread only takes a :class:`~app.model.saving.Snapshot` (immutable
records, no copying) when the timer fires, at most ``delay_ms`` after the first
unsaved change; one writer thread encodes and writes it, each file atomically
(:func:`~app.model.saving.write_snapshot`). One write is in flight at a time,
so files never race each other; changes made meanwhile go with the next one.

A write that fails (disk full, read-only folder) hands its parts back to the
tracker: the edits stay in memory, the user gets one clear warning naming the
file, and saving is retried with a growing pause until it works, which is then
said too. A project that is closed (another folder opened) keeps being saved
until everything of it is on disk.
"""
from __future__ import annotations

import errno
import threading
from functools import partial

from PySide6.QtCore import QObject, QThreadPool, QTimer, Signal

from app.model.io.sidecar import close_session
from app.model.project import Project
from app.model.saving import SAVE_DELAY_S, ChangeTracker, SaveResult, Snapshot, write_snapshot

_HINTS = {
    errno.ENOSPC: "the disk is full",
    errno.EDQUOT: "the disk quota is used up",
    errno.EROFS: "the folder is on a read-only file system",
    errno.EACCES: "the folder is not writable",
    errno.EPERM: "the folder is not writable",
}


class Autosave(QObject):
    """Saves the open project (see the module docstring).

    Signal: ``message`` (level, one line of plain text) for the user.
    """

    message = Signal(str, str)
    _written = Signal()

    def __init__(
        self, delay_ms: int = round(SAVE_DELAY_S * 1000), retry_ms: tuple[int, ...] = (1000, 2000, 5000, 10000),
        parent=None,
    ) -> None:
        super().__init__(parent)
        self.delay_ms, self.retry_ms = delay_ms, retry_ms
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.save_now)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self._lock = threading.Lock()
        self._results: list[list[tuple[ChangeTracker, SaveResult]]] = []
        self._in_flight = False
        self._trackers: list[ChangeTracker] = []  # the open project's last, closed ones before it
        self._current: ChangeTracker | None = None
        self._failures = 0
        self._told: str | None = None  # the failure the user was last told about
        self._told_blocked: set[int] = set()
        self._stopped = False
        self._written.connect(self._collect)

    # -- following a project ---------------------------------------------------------------------------
    def attach(self, project: Project | None) -> None:
        """Follow ``project`` (None for none); what the previous one has unsaved is still saved."""
        if self._current is not None:
            self._current.close()
        self._current = None
        if project is not None:
            self._current = ChangeTracker(project, on_change=self.schedule)
            self._trackers.append(self._current)
        self._drop_finished()
        self.schedule()

    def schedule(self) -> None:
        """Save soon: within ``delay_ms``, or after the current pause while saving fails."""
        if self._stopped:
            return
        delay = self.delay_ms if not self._failures else self.retry_ms[min(self._failures, len(self.retry_ms)) - 1]
        if not self._timer.isActive() or self._timer.remainingTime() > delay:  # a retry pause that is over
            self._timer.start(delay)

    @property
    def unsaved(self) -> bool:
        """Whether some change is not on disk yet (pending or being written)."""
        return self._in_flight or any(t.pending for t in self._trackers)

    @property
    def last_error(self) -> str | None:
        return self._told

    # -- saving ----------------------------------------------------------------------------------------
    def save_now(self) -> None:
        """Start writing whatever is pending (no-op while a write is in flight: it reschedules)."""
        if self._in_flight:
            return
        batch = self._take()
        if batch:
            self._in_flight = True
            self._pool.start(partial(self._write, batch))

    def _take(self) -> list[tuple[ChangeTracker, Snapshot, set]]:
        batch = []
        for tracker in self._trackers:
            if tracker.blocked:
                if id(tracker) not in self._told_blocked and tracker.pending:
                    self._told_blocked.add(id(tracker))
                    self.message.emit("warning", f"Not saving: {tracker.blocked}. Export to keep your edits.")
                continue
            snapshot = tracker.take()
            if snapshot is not None and not snapshot.empty:
                batch.append((tracker, snapshot, tracker.protected))
        return batch

    def _write(self, batch: list[tuple[ChangeTracker, Snapshot, set]]) -> None:
        """Writer thread: write the batch and hand the results to the UI thread."""
        results = [(tracker, _write_guarded(snapshot, protected)) for tracker, snapshot, protected in batch]
        with self._lock:
            self._results.append(results)
        self._written.emit()

    def _collect(self) -> None:
        with self._lock:
            batches, self._results = self._results, []
        for results in batches:
            self._in_flight = False
            self._handle(results)
        if batches:
            self._drop_finished()
            if any(t.pending for t in self._trackers):
                self.schedule()

    def _handle(self, results: list[tuple[ChangeTracker, SaveResult]]) -> None:
        failed = [r for _t, r in results if not r.ok]
        for tracker, result in results:
            if result.retry is not None:
                tracker.retry(result.retry)
        if failed:
            self._failures += 1
            error, number = failed[0].errors[0], failed[0].error_numbers[0]
            hint = _HINTS.get(number)
            text = f"Cannot save {error}" + (f" ({hint})" if hint else "")
            if text != self._told:
                self._told = text
                self.message.emit(
                    "warning", f"{text}. Your edits are kept in memory and saving is retried until it works."
                )
            return
        self._failures = 0  # edits made during this write follow without the retry pause
        if self._told is not None and not any(t.pending for t in self._trackers):
            self._told = None
            self.message.emit("info", "Saving works again: every edit is on disk.")

    def _drop_finished(self) -> None:
        """Forget closed projects whose every change is on disk, ending their session."""
        for tracker in list(self._trackers):
            if tracker is not self._current and not tracker.pending:
                self._trackers.remove(tracker)
                reopened = self._current is not None and self._current.paths == tracker.paths
                if tracker.session_open and not reopened:  # the same folder opened again keeps its marker
                    self._pool.start(partial(_end_session, tracker.paths))

    # -- closing ----------------------------------------------------------------------------------------
    def flush(self, timeout_ms: int = 10000) -> bool:
        """Write everything now and wait for it (only when closing: this blocks); True
        when every change is on disk."""
        self._timer.stop()
        if not self._pool.waitForDone(timeout_ms):
            return False  # a write is stuck (a hung network drive): never race it
        self._collect()
        self.save_now()  # the guarded write, on the writer thread
        if not self._pool.waitForDone(timeout_ms):
            return False
        self._collect()
        self._timer.stop()
        if self.unsaved:
            self.schedule()  # keep retrying if the window stays open
        return not self.unsaved

    def close(self, timeout_ms: int = 10000) -> bool:
        """Flush, then end the sessions whose changes are all on disk (a clean close for
        them). If something could not be saved the project stays followed, and should the
        window stay open, its next save starts its session again. True when all is saved."""
        if self.flush(timeout_ms):
            self.attach(None)  # every session ends
            self._pool.waitForDone(timeout_ms)
            return True
        for tracker in self._trackers:  # the window may close anyway
            if tracker.session_open and not tracker.pending:
                tracker.session_ended()
                _end_session(tracker.paths)
        return False


    def stop(self, timeout_ms: int = 10000) -> None:
        """Stop saving for good (the app is quitting): no more retries; a write in flight finishes."""
        self._timer.stop()
        self._stopped = True
        self._pool.waitForDone(timeout_ms)


def _write_guarded(snapshot: Snapshot, protected: set) -> SaveResult:
    try:
        return write_snapshot(snapshot, protected)
    except Exception as exc:  # a bug, not I/O: still keep every edit and say so
        return SaveResult(snapshot, errors=[f"{snapshot.paths.root}: {type(exc).__name__}: {exc}"],
                          error_numbers=[None], retry=snapshot)


def _end_session(paths) -> None:
    try:
        close_session(paths)
    except OSError:
        pass  # a marker left behind only makes the next start say "ended unexpectedly"


__all__ = ["Autosave"]
