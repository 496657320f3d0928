"""Wiring of projects (autosave, restore, recovery) and "Precompute folder" into the main window.

Makes the autosave service, the project keeper and the precompute service,
puts the precompute strip in the status bar, routes their messages to the
message bar, guards the window's close, and supplies the handlers of the
``image.precompute``, ``image.cancel_precompute`` and ``image.forget_missing``
actions. Layout and wiring only: the work is in :mod:`app.workflow.project_keeper`,
:mod:`app.services.autosave` and :mod:`app.services.precompute`.
"""
from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING

from app.workflow.project_keeper import ProjectKeeper
from app.services.autosave import Autosave
from app.services.precompute import Precompute
from app.ui.widgets.precompute_panel import PrecomputePanel

if TYPE_CHECKING:
    from app.ui.main_window import MainWindow


class ProjectUi:
    def __init__(self, window: MainWindow) -> None:
        self.window, self.labeler = window, window.labeler
        self.autosave = Autosave(parent=window)
        self.keeper = ProjectKeeper(self.labeler, self.autosave, window.canvas.view_box)
        self.precompute = Precompute(self.labeler.worker, parent=window)
        self.panel = PrecomputePanel()
        window.statusBar().addPermanentWidget(self.panel)
        self.keeper.message.connect(window.message_bar.show_message)
        self.keeper.guard_close(window)
        self.precompute.message.connect(lambda level, text: window.message_bar.show_message(level, escape(text)))
        self.precompute.progress.connect(self.panel.show_progress)
        self.precompute.finished.connect(self.panel.finish)
        self.precompute.finished.connect(lambda text: self.labeler.status.emit(text))
        self.panel.cancel_requested.connect(self.precompute.cancel)

    def handlers(self) -> dict:
        return {
            "image.precompute": self.start_precompute,
            "image.cancel_precompute": self.precompute.cancel,
            "image.forget_missing": self.keeper.forget_missing,
        }

    def start_precompute(self) -> bool:
        project = self.labeler.project
        if project is None:
            self.labeler.status.emit("Open a folder first")
            return False
        images = [(project.key(i), project.path(i)) for i in project.present_image_ids()]
        return self.precompute.start(images, self.labeler.sam_ready)
