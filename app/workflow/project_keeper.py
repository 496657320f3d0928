"""Keeps the open project whole across sessions: restores it, follows it, and guards the close.

On opening a folder it hands the project to :class:`Autosave`; when the scan
has read the sidecar it restores categories, statuses, annotations (as each
image arrives), the current category, the last image and its view, and tells the
user when the last session ended unexpectedly, which files could not be loaded,
and which annotated images went missing. It records the current image, view and
category as project settings. Closing the window first writes everything
(:meth:`ProjectKeeper.may_close`, which the window asks); if that fails the window
stays open once, with a message, so nothing is lost without the user knowing. A
QObject on the UI thread; all disk work is autosave's (off this thread) or the scan's.
"""
from __future__ import annotations

import math
from html import escape

from PySide6.QtCore import QObject, Signal

from app.model.io.sidecar import SIDECAR, StoredProject
from app.model.labeling_state import LabelingState
from app.model.notices import Notices
from app.model.project import Project
from app.services.autosave import Autosave
from app.services.image_loader import ImageLoader

SAVING = "saving"  # the notices about whether edits reach the disk


def _fits(view: tuple[float, ...], shape: tuple[int, int]) -> bool:
    """Whether a saved view (XYWH, image pixels) shows some of an image of ``shape`` (H, W) at a
    zoom the canvas can draw: project.json may have been edited by hand (or by anyone)."""
    height, width = shape
    side = max(height, width)
    x, y, w, h = view
    return (all(math.isfinite(v) for v in view) and side * 1e-4 <= min(w, h) and max(w, h) <= side * 100
            and x < width and x + w > 0 and y < height and y + h > 0)


class ProjectKeeper(QObject):
    open_requested = Signal(int)  # image id to open (the last session's could not be; a missing one is forgotten)
    close_requested = Signal()  # no image of the project is left to show

    def __init__(self, state: LabelingState, loader: ImageLoader, autosave: Autosave, notices: Notices) -> None:
        super().__init__()
        self.state, self.loader, self.autosave, self.notices = state, loader, autosave, notices
        self._restore_view: tuple[float, ...] | None = None
        self._close_anyway = False
        state.events.project_changed.connect(lambda event: self._on_project(event.value))
        state.events.image_changed.connect(lambda event: self._on_image(event.value))
        state.events.image_shown.connect(lambda event: self._on_shown(event.value))
        state.events.category_changed.connect(lambda event: self._on_category(event.value))
        state.events.view_changed.connect(lambda event: self._on_view())
        loader.project_read.connect(self._on_read)
        loader.list_finished.connect(self._on_list_finished)
        # One topic: "Saving works again" resolves the disk-full warning and the "Not closing" error.
        autosave.message.connect(lambda level, text: self.notices.post(level, escape(text), topic=SAVING))

    @property
    def project(self) -> Project | None:
        return self.state.project

    # -- opening ---------------------------------------------------------------------------------------
    def _on_project(self, project: Project | None) -> None:
        self._restore_view = None
        if project is not None:
            project.events.problem.connect(lambda event: self.notices.warning(escape(event.value)))
        self.autosave.attach(project)

    def _on_read(self, scan_id: int, stored: StoredProject) -> None:
        project = self.project
        if project is None or project.restored or scan_id != self.loader.latest_scan:
            return
        project.restore(stored)
        current = stored.settings.get("current_category")
        if current in project.dataset.categories:
            self.state.set_category(current)
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
            self.notices.warning("<br>".join(lines))
        self.autosave.schedule()  # mark the session open

    def _on_list_finished(self, scan_id: int) -> None:
        project = self.project
        if project is None or scan_id != self.loader.latest_scan or not project.restored:
            return
        names = project.finish_scan()
        if names:
            shown = ", ".join(escape(n) for n in names[:5]) + (" …" if len(names) > 5 else "")
            self.notices.warning(
                f"{len(names)} image(s) with saved annotations are missing from the folder or cannot be read: "
                f"{shown}. Their annotations are kept; Image &gt; Forget missing images removes them "
                f"(their files go to {SIDECAR}/set-aside/).",
            )
        ids = project.present_image_ids() or project.image_ids()
        if self.state.image_id is None and ids:  # the last session's image could not be opened
            self.open_requested.emit(ids[0])

    # -- following ----------------------------------------------------------------------------------------
    def _on_image(self, image_id: int | None) -> None:
        project = self.project
        if project is not None and project.restored and image_id in project.dataset.images:
            project.set_setting("last_image", project.dataset.images[image_id].file_name)

    def _on_shown(self, shown) -> None:
        view, self._restore_view = self._restore_view, None
        project, image_id = self.project, self.state.image_id
        if shown is None or view is None or project is None or image_id not in project.dataset.images:
            self._restore_view = view if shown is None else None  # not shown yet: wait for it
            return
        if project.dataset.images[image_id].file_name == project.start_image and _fits(view, shown.shape):
            self.state.request_view(tuple(view))

    def _on_view(self) -> None:
        project, view = self.project, self.state.view
        if project is not None and self.state.image_id is not None and view is not None:
            project.set_setting("view", tuple(round(v, 2) for v in view), announce=False)  # written with the next save

    def _on_category(self, category_id: int | None) -> None:
        if self.project is not None and self.project.restored and category_id is not None:
            self.project.set_setting("current_category", category_id)

    # -- deciding about missing images -------------------------------------------------------------------
    def forget_missing(self) -> list[str]:
        """Remove the missing images from the project; their files are kept in set-aside/."""
        project = self.project
        if project is None or not project.missing:
            self.notices.status("No missing images")
            return []
        if self.state.image_id in project.missing:
            present = project.present_image_ids()
            if present:
                self.open_requested.emit(present[0])
            else:
                self.close_requested.emit()
        names = project.forget_missing()
        self.notices.info(
            f"Forgot {len(names)} missing image(s): {escape(', '.join(names[:5]))}{' …' * (len(names) > 5)}. "
            f"Their saved annotations are kept in {escape(str(project.folder / SIDECAR / 'set-aside'))}.",
        )
        return names

    # -- closing -------------------------------------------------------------------------------------------
    def may_close(self) -> bool:
        """Save everything before the window closes; False keeps it open (once) when that fails."""
        if self.project is not None and self.project.restored:
            self._on_view()
            self.project.save_settings()
        if self.autosave.close() or self._close_anyway:
            return True
        self._close_anyway = True
        error = escape(self.autosave.last_error or "a save did not finish")
        self.notices.error(
            f"<b>Not closing: some edits are not saved.</b> {error}. They are still here: free some space or make "
            "the folder writable and close again, or export them (File &gt; Export). Closing once more quits "
            "without them.",
            topic=SAVING,
        )
        return False


__all__ = ["ProjectKeeper"]
