"""Keeps the open project whole across sessions: restores it, follows it, and guards the close.

On opening a folder it hands the project to :class:`Autosave`; when the scan
has read the sidecar it restores categories, statuses, annotations (as each
image arrives), the current category, the last image and its view, and tells the
user when the last session ended unexpectedly, which files could not be loaded,
and which annotated images went missing. It records the current image, view and
category as project settings. Closing the window first writes everything; if
that fails the window stays open once, with a message, so nothing is lost
without the user knowing. A QObject on the UI thread; all disk work is
autosave's (off this thread) or the scan's.
"""
from __future__ import annotations

from html import escape

from PySide6.QtCore import QEvent, QObject, QRectF, Signal

from app.workflow.labeler import Labeler
from app.model.io.sidecar import SIDECAR, StoredProject
from app.model.project import Project
from app.services.autosave import Autosave


class ProjectKeeper(QObject):
    message = Signal(str, str)  # level, html

    def __init__(self, labeler: Labeler, autosave: Autosave, view_box) -> None:
        super().__init__()
        self.labeler, self.autosave, self.view_box = labeler, autosave, view_box
        self._restore_view: tuple[float, ...] | None = None
        self._window = None
        self._close_anyway = False
        labeler.project_changed.connect(self._on_project)
        labeler.loader.project_read.connect(self._on_read)
        labeler.loader.scan_finished.connect(self._on_scan_finished)
        labeler.image_changed.connect(self._on_image)
        labeler.image_shown.connect(self._on_shown)
        labeler.categories.changed.connect(self._on_category)
        view_box.sigRangeChanged.connect(self._on_view)
        autosave.message.connect(lambda level, text: self.message.emit(level, escape(text)))

    @property
    def project(self) -> Project | None:
        return self.labeler.project

    # -- opening ---------------------------------------------------------------------------------------
    def _on_project(self, project: Project | None) -> None:
        self._restore_view = None
        if project is not None:
            project.events.problem.connect(lambda event: self.message.emit("warning", escape(event.value)))
        self.autosave.attach(project)

    def _on_read(self, scan_id: int, stored: StoredProject) -> None:
        project = self.project
        if project is None or project.restored or scan_id != self.labeler.loader.latest_scan:
            return
        project.restore(stored)
        current = stored.settings.get("current_category")
        if current in project.dataset.categories:
            self.labeler.categories.select(current)
        self._restore_view = stored.settings.get("view") if project.start_image else None
        lines = []
        if stored.previous_session is not None:
            lines.append(
                f"<b>The last session ended unexpectedly</b> (it started {escape(stored.previous_session.started)}). "
                f"Restored the last saved state of {escape(str(project.folder))}: {stored.annotation_count} "
                f"annotation(s) on {len(stored.images)} image(s); edits from its last second may be missing."
            )
        lines += [escape(problem) for problem in stored.problems]
        if lines:
            self.message.emit("warning", "<br>".join(lines))
        self.autosave.schedule()  # mark the session open

    def _on_scan_finished(self, scan_id: int) -> None:
        project = self.project
        if project is None or scan_id != self.labeler.loader.latest_scan or not project.restored:
            return
        names = project.finish_scan()
        if names:
            shown = ", ".join(escape(n) for n in names[:5]) + (" …" if len(names) > 5 else "")
            self.message.emit(
                "warning",
                f"{len(names)} image(s) with saved annotations are missing from the folder or cannot be read: "
                f"{shown}. Their annotations are kept; Image &gt; Forget missing images removes them "
                f"(their files go to {SIDECAR}/set-aside/).",
            )
        ids = project.present_image_ids() or project.image_ids()
        if self.labeler.image_id is None and ids:  # the last session's image could not be opened
            self.labeler.open_image(ids[0])

    # -- following ----------------------------------------------------------------------------------------
    def _on_image(self, image_id: int) -> None:
        project = self.project
        if project is not None and project.restored and image_id in project.dataset.images:
            project.set_setting("last_image", project.dataset.images[image_id].file_name)

    def _on_shown(self, display, _shape, _factor: float) -> None:
        view, self._restore_view = self._restore_view, None
        project, image_id = self.project, self.labeler.image_id
        if display is None or view is None or project is None or image_id not in project.dataset.images:
            self._restore_view = view if display is None else None  # not shown yet: wait for it
            return
        if project.dataset.images[image_id].file_name == project.start_image:
            x, y, w, h = view
            self.view_box.setRange(QRectF(x, y, w, h), padding=0)

    def _on_view(self, *_args) -> None:
        project = self.project
        if project is not None and self.labeler.image_id is not None:
            rect = self.view_box.viewRect()
            view = (round(rect.x(), 2), round(rect.y(), 2), round(rect.width(), 2), round(rect.height(), 2))
            project.set_setting("view", view, announce=False)  # written with the next save

    def _on_category(self, category_id: int) -> None:
        if self.project is not None and self.project.restored:
            self.project.set_setting("current_category", category_id)

    # -- deciding about missing images -------------------------------------------------------------------
    def forget_missing(self) -> list[str]:
        """Remove the missing images from the project; their files are kept in set-aside/."""
        project = self.project
        if project is None or not project.missing:
            self.labeler.status.emit("No missing images")
            return []
        if self.labeler.image_id in project.missing:
            present = project.present_image_ids()
            if present:
                self.labeler.open_image(present[0])
            else:
                self.labeler.close_image()
        names = project.forget_missing()
        self.message.emit(
            "info",
            f"Forgot {len(names)} missing image(s): {escape(', '.join(names[:5]))}{' …' * (len(names) > 5)}. "
            f"Their saved annotations are kept in {escape(str(project.folder / SIDECAR / 'set-aside'))}.",
        )
        return names

    # -- closing -------------------------------------------------------------------------------------------
    def guard_close(self, window) -> None:
        """Save everything before ``window`` closes; keep it open once if that fails."""
        self._window = window
        window.installEventFilter(self)

    def eventFilter(self, watched, event) -> bool:
        if watched is self._window and event.type() == QEvent.Close:
            return not self._may_close(event)
        return False

    def _may_close(self, event) -> bool:
        if self.project is not None and self.project.restored:
            self._on_view()
            self.project.save_settings()
        if self.autosave.close() or self._close_anyway:
            return True
        self._close_anyway = True
        event.ignore()
        error = escape(self.autosave.last_error or "a save did not finish")
        self.message.emit(
            "error",
            f"<b>Not closing: some edits are not saved.</b> {error}. They are still here: free some space or make "
            "the folder writable and close again, or export them (File &gt; Export). Closing once more quits "
            "without them.",
        )
        return False


__all__ = ["ProjectKeeper"]
