"""Bringing labels from other tools into the open project: *File > Import…* and *Import automatic masks…*.

A QObject on the UI thread. It hands the importer service a snapshot of the
project's images and gets back a plan (read, matched and rasterised off this
thread). A file's plan goes to the window to confirm (``plan_ready``: what
matched, what did not, the new categories, and "add or replace" when matched
images already have annotations); :meth:`apply` then makes one undo step per
image, which autosave writes as any edit. Automatic masks (the data engine's
output) are applied at once as ``auto`` annotations of the current category,
for the Automatic panel to review.

:meth:`cancel` (the status bar's Cancel) drops the jobs being read at once (a plan
already on its way is ignored, so nothing of them is applied) and has the
importer stop them at their next file or image; one status line says so.
"""
from __future__ import annotations

from html import escape
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from app.model.history import History
from app.model.import_plan import ImportPlan, apply_plan, project_images
from app.model.io.skips import plural
from app.model.labeling_state import LabelingState
from app.model.notices import Notices
from app.services.importer import Importer
from app.services.settings import Settings

SHOWN_LINES = 8  # skip and unmatched lines in a message; the rest are counted


class ImportController(QObject):
    plan_ready = Signal(object)  # ImportPlan of a file, to confirm (the window shows what it would do)
    progress = Signal(str, int, int)  # text, done, total (total 0: idle)
    imported = Signal(str)  # the summary line, once applied

    def __init__(self, state: LabelingState, history: History, importer: Importer, settings: Settings,
                 notices: Notices, cache_dir: Path | None = None) -> None:
        """``cache_dir``: the SAM worker's disk cache, where imported embeddings go (None: off)."""
        super().__init__()
        self.state, self.history, self.importer, self.notices = state, history, importer, notices
        self.settings, self.cache_dir = settings, cache_dir
        self._jobs: dict[int, tuple[object, bool, str]] = {}  # job id -> (project it was for, automatic?, name)
        importer.planned.connect(self._on_planned)
        importer.failed.connect(self._on_failed)
        importer.cancelled.connect(self._on_cancelled)
        importer.progress.connect(self._on_progress)

    # -- asking ---------------------------------------------------------------------------------
    def last_choice(self) -> tuple[str, str]:
        """The last import's path and format, where the next dialog starts."""
        last = self.settings.import_choices
        return last.get("path", ""), last.get("format", "auto")

    def last_automatic(self) -> str:
        """The folder the last *Import automatic masks* read."""
        return self.settings.import_choices.get("automatic", "")

    def read(self, path: str | Path, fmt: str = "auto") -> bool:
        """Read ``path`` (a file or folder of ``fmt``, "auto" to detect it) for the open project."""
        project = self.state.project
        if project is None:
            self.notices.status("Open a folder first: labels are imported into its images")
            return False
        self.settings.import_choices = {**self.settings.import_choices, "path": str(path), "format": fmt}
        job = self.importer.read(Path(path), fmt, project_images(project.dataset))
        self._jobs[job] = (project, False, Path(path).name)
        self.progress.emit(f"Reading {Path(path).name}…", 0, 1)
        return True

    def read_automatic(self, folder: str | Path, embeddings: str | Path | None = None) -> bool:
        """Import a data-engine output folder (or a folder of SA-1B JSON) as automatic masks, with
        the engine's embeddings from ``embeddings`` when given."""
        project = self.state.project
        if project is None:
            self.notices.status("Open a folder first: automatic masks are imported into its images")
            return False
        self.settings.import_choices = {**self.settings.import_choices, "automatic": str(folder)}
        dataset = project.dataset
        existing = {i: tuple(a.mask for a in dataset.annotations(i)) for i in dataset.images}
        paths = {i: project.path(i) for i in project.present_image_ids()}
        job = self.importer.read_automatic(Path(folder), project_images(dataset), existing, paths,
                                           None if embeddings in (None, "") else Path(embeddings), self.cache_dir)
        self._jobs[job] = (project, True, Path(folder).name)
        self.progress.emit(f"Reading {Path(folder).name}…", 0, 1)
        return True

    def cancel(self) -> None:
        """Stop the imports being read: nothing of them reaches the project."""
        names = [name for _project, _automatic, name in self._jobs.values()]
        if not names:
            return
        self._jobs.clear()
        self.importer.cancel()
        self.progress.emit("", 0, 0)
        self.notices.status(f"Import of {', '.join(names)} cancelled: nothing was imported")

    # -- answers --------------------------------------------------------------------------------
    def _take(self, job: int) -> bool | None:
        """Whether the job was automatic, or None when it was cancelled or its project is no
        longer open."""
        project, automatic, _name = self._jobs.pop(job, (None, False, ""))
        if not self._jobs:
            self.progress.emit("", 0, 0)
        return automatic if project is not None and project is self.state.project else None

    def _on_progress(self, job: int, text: str, done: int, total: int) -> None:
        if job in self._jobs:
            self.progress.emit(f"{text}: {done}/{total}", done, total)

    def _on_cancelled(self, job: int) -> None:
        name = self._jobs.get(job, (None, False, ""))[2]
        if self._take(job) is not None:  # stopped by someone else than :meth:`cancel`
            self.notices.status(f"Import of {name} cancelled: nothing was imported")

    def _on_failed(self, job: int, text: str) -> None:
        if self._take(job) is not None:
            self.notices.error(f"Import failed: {escape(text)}")

    def _on_planned(self, job: int, plan: ImportPlan) -> None:
        automatic = self._take(job)
        if automatic is None:
            return
        if not any(i.annotations for i in plan.images) and not plan.embeddings:
            self.notices.warning(self._nothing_html(plan))
            return
        if automatic:
            self.apply(plan)
        else:
            self.plan_ready.emit(plan)

    # -- applying -------------------------------------------------------------------------------
    def apply(self, plan: ImportPlan, mode: str = "add") -> None:
        """Apply a plan the user confirmed: one undo step per image (``mode`` "replace" removes the
        image's annotations first, in that step)."""
        dataset = self.state.dataset
        if dataset is None:
            return
        category = self.state.current_category if plan.auto else None
        applied = apply_plan(dataset, self.history, plan, mode, category)
        line = plan.summary()
        if plan.auto and applied.dropped:
            line += f"; {applied.dropped} more dropped for covering annotations made meanwhile"
        if plan.embeddings:
            line += f"; {plan.embeddings} {plural('embedding', plan.embeddings)} in the disk cache (no encoding)"
        html = escape(f"Imported {line}")
        if applied.replaced:
            html += escape(f"; replaced {applied.replaced} {plural('annotation', applied.replaced)}")
        if applied.categories:
            html += escape(f"; new categories: {', '.join(applied.categories)}")
        html += self._details_html(plan)
        self.notices.info(html)
        self.notices.status(f"Imported {line}")
        self.imported.emit(line)

    def _details_html(self, plan: ImportPlan) -> str:
        lines = plan.skipped.lines() + [f"not matched: {u}" for u in plan.unmatched]
        shown = "".join(f"<br>{escape(line)}" for line in lines[:SHOWN_LINES])
        if len(lines) > SHOWN_LINES:
            shown += f"<br>…and {len(lines) - SHOWN_LINES} more"
        return shown

    def _nothing_html(self, plan: ImportPlan) -> str:
        if plan.entries and len(plan.unmatched) == plan.entries:
            head = (f"{plan.source}: none of its {plan.entries} {plural('image entry', plan.entries)} "
                    "matched an image of this project")
        else:
            head = f"{plan.source}: nothing to import ({plan.summary()})"
        return escape(head) + self._details_html(plan)


__all__ = ["ImportController"]
