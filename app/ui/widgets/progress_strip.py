"""The status bar's long jobs: one compact row per running job, each with its text, a bar,
an ETA and a Cancel button. It shows :class:`app.model.progress.Jobs` and holds nothing else.
"""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QSizePolicy, QToolButton, QWidget

from app.model.progress import Job, Jobs

LABEL_WIDTH = 230  # pixels; longer texts are elided (the tooltip has all of it)


def format_eta(seconds: float) -> str:
    """"ETA 1:05", "ETA 2:03:10", or "ETA –" while unknown (negative)."""
    if seconds < 0:
        return "ETA –"
    seconds = round(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"ETA {hours}:{minutes:02d}:{secs:02d}" if hours else f"ETA {minutes}:{secs:02d}"


class JobRow(QWidget):
    cancel_requested = Signal(str)  # job id

    def __init__(self, job: Job, parent=None) -> None:
        super().__init__(parent)
        self.job_id = job.id
        self.label = QLabel()
        self.label.setMaximumWidth(LABEL_WIDTH)
        self.label.setSizePolicy(QSizePolicy.Preferred, QSizePolicy.Fixed)
        self.bar = QProgressBar()
        self.bar.setFixedWidth(90)
        self.bar.setMaximumHeight(14)
        self.bar.setTextVisible(False)
        self.cancel_button = QToolButton()
        self.cancel_button.setText("✕")
        self.cancel_button.setAutoRaise(True)
        self.cancel_button.setFocusPolicy(Qt.NoFocus)
        self.cancel_button.clicked.connect(lambda: self.cancel_requested.emit(self.job_id))
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 0, 0, 0)
        layout.setSpacing(3)
        for widget in (self.label, self.bar, self.cancel_button):
            layout.addWidget(widget)
        self.show_job(job)

    def show_job(self, job: Job) -> None:
        text = job.text or job.title
        if job.total > 0 and job.done > 0:
            text = f"{text} · {format_eta(job.eta)}"
        self.setToolTip(text)
        self.label.setText(self.label.fontMetrics().elidedText(text, Qt.ElideRight, LABEL_WIDTH))
        if job.total > 0:
            self.bar.setRange(0, job.total)
            self.bar.setValue(min(job.done, job.total))
        else:
            self.bar.setRange(0, 0)  # busy: the amount is not known
        self.cancel_button.setVisible(job.cancellable)
        self.cancel_button.setToolTip(f"Cancel {job.title.lower()}")


class ProgressStrip(QWidget):
    """Rows for the running jobs of the :class:`Jobs` it follows, in the order they started."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.jobs: Jobs | None = None
        self.rows: dict[str, JobRow] = {}
        self._layout = QHBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setSpacing(6)
        self.hide()

    def follow(self, jobs: Jobs) -> None:
        self.jobs = jobs
        jobs.events.started.connect(lambda e: self._started(e.value))
        jobs.events.progressed.connect(lambda e: self._progressed(e.value))
        jobs.events.ended.connect(lambda e: self._ended(e.value))
        for job in jobs.running.values():
            self._started(job)

    def row(self, job_id: str) -> JobRow | None:
        return self.rows.get(job_id)

    def _started(self, job: Job) -> None:
        row = JobRow(job)
        row.cancel_requested.connect(lambda job_id: self.jobs.cancel(job_id))
        self.rows[job.id] = row
        self._layout.addWidget(row)
        self.show()

    def _progressed(self, job: Job) -> None:
        row = self.rows.get(job.id)
        if row is None:
            self._started(job)
        else:
            row.show_job(job)

    def _ended(self, job: Job) -> None:
        row = self.rows.pop(job.id, None)
        if row is not None:
            self._layout.removeWidget(row)
            row.hide()
            row.deleteLater()
        self.setVisible(bool(self.rows))
