"""The main window: layout only.

It makes the canvas, the message bar, the panels (as docks), the status bar's
labels, the actions with their menus and toolbar, and the dialogs that ask for a
path. It knows no controller: what the user asks for leaves as the actions'
``triggered`` signals and the window's own intent signals, which
:mod:`app.ui.bindings` (called by the bootstrap) connects to the controllers.
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDockWidget,
    QFileDialog,
    QLabel,
    QMainWindow,
    QToolBar,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.model.prompts import PromptSession
from app.services.settings import Settings
from app.ui import actions as action_specs
from app.ui import docks as dock_layout
from app.ui.canvas.view import CanvasView
from app.ui.recent_menu import RecentFoldersMenu
from app.ui.widgets.annotation_list import AnnotationList
from app.ui.widgets.candidates_panel import CandidatesPanel
from app.ui.widgets.category_picker import CategoryPicker
from app.ui.widgets.export_dialog import ExportDialog
from app.ui.widgets.import_dialog import ImportPreview, ImportSourceDialog
from app.ui.widgets.image_filter_bar import ImageFilterBar, count_title
from app.ui.widgets.image_list import ImageList
from app.ui.widgets.message_bar import MessageBar
from app.ui.widgets.model_manager import ModelManager
from app.ui.widgets.notification_panel import NotificationPanel
from app.ui.widgets.prelabel_review import PrelabelReview
from app.ui.widgets.progress_strip import ProgressStrip
from app.ui.widgets.statistics_panel import StatisticsPanel
from app.ui.widgets.tool_options import ToolOptions
from app.ui.widgets.view_controls import ViewControls

EXPORT_FILTERS = {"coco_rle": "COCO JSON (*.json)", "coco_polygons": "COCO JSON (*.json)"}


def add_dock(window: QMainWindow, title: str, widget: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
    """Put ``widget`` in a movable, floatable, closable dock named ``title`` (its object name
    too, which saveState keys on), listed in ``window.docks``."""
    dock = QDockWidget(title, window)
    dock.setObjectName(title)
    dock.setWidget(widget)
    dock.setFeatures(QDockWidget.DockWidgetMovable | QDockWidget.DockWidgetFloatable | QDockWidget.DockWidgetClosable)
    window.addDockWidget(area, dock)
    if hasattr(window, "docks"):
        window.docks[title] = dock
    return dock


class MainWindow(QMainWindow):
    folder_chosen = Signal(str)
    checkpoint_chosen = Signal(str)
    export_chosen = Signal(str, str)  # format, path
    export_dialog_chosen = Signal(str, str, str, str)  # format, path, holes, scope
    import_chosen = Signal(str, str)  # path, format
    import_automatic_chosen = Signal(str, str)  # folder, embeddings folder ("" none)
    import_confirmed = Signal(object, str)  # ImportPlan, "add" or "replace"

    def __init__(self, settings: Settings, prompts: PromptSession) -> None:
        super().__init__()
        self.settings = settings
        self.close_guard: Callable[[], bool] | None = None  # asked before closing; False keeps the window open
        self.closing: list[Callable[[], None]] = []  # run when the window does close
        self.setWindowTitle("Maskwright")  # its size: app.ui.window_state (the screen's, or the last one)
        self.canvas = CanvasView()
        self.message_bar = MessageBar()
        central = QWidget()
        column = QVBoxLayout(central)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(0)
        column.addWidget(self.message_bar)
        column.addWidget(self.canvas, 1)
        self.setCentralWidget(central)
        self.model_manager: ModelManager | None = None  # made on first use
        self.dialog: QDialog | None = None  # the import or export dialog last opened (tests reach it)

        self.actions = action_specs.build_actions(self)
        self.menus = action_specs.build_menus(self.menuBar(), self.actions)
        self.recent_menu = RecentFoldersMenu(settings, self)
        self.menus["File"].insertMenu(self.actions["file.open_checkpoint"], self.recent_menu)
        toolbar = QToolBar("Main")
        toolbar.setObjectName("main_toolbar")
        toolbar.setFocusPolicy(Qt.NoFocus)
        toolbar.setToolButtonStyle(Qt.ToolButtonTextBesideIcon)
        action_specs.build_toolbar(toolbar, self.actions)
        self.addToolBar(toolbar)

        self.image_list = ImageList()
        self.categories = CategoryPicker()
        self.annotations = AnnotationList()
        self.candidates = CandidatesPanel(prompts)
        self.tool_options = ToolOptions(self.actions)
        self.review = PrelabelReview(self.actions)
        self.messages = NotificationPanel()
        self.statistics = StatisticsPanel()
        self.view_controls = ViewControls(self.actions)
        self.docks: dict[str, QDockWidget] = {}
        self.image_filter = ImageFilterBar()
        images = QWidget()  # the filter above the list, one panel
        images_column = QVBoxLayout(images)
        images_column.setContentsMargins(0, 0, 0, 0)
        images_column.setSpacing(0)
        images_column.addWidget(self.image_filter)
        images_column.addWidget(self.image_list)
        add_dock(self, "Images", images, Qt.LeftDockWidgetArea)
        self.image_list.rows_changed.connect(
            lambda shown, total: self.docks["Images"].setWindowTitle(count_title(shown, total)))
        tools = QWidget()  # the brush's options and the view controls, one panel
        tools_column = QVBoxLayout(tools)
        tools_column.setContentsMargins(0, 0, 0, 0)
        tools_column.addWidget(self.tool_options)
        tools_column.addWidget(self.view_controls)
        add_dock(self, "Tools", tools, Qt.LeftDockWidgetArea)
        add_dock(self, "Candidates", self.candidates, Qt.RightDockWidgetArea)
        add_dock(self, "Categories", self.categories, Qt.RightDockWidgetArea)
        add_dock(self, "Annotations", self.annotations, Qt.RightDockWidgetArea)
        add_dock(self, "Automatic", self.review, Qt.RightDockWidgetArea)
        add_dock(self, "Messages", self.messages, Qt.RightDockWidgetArea)
        add_dock(self, "Statistics", self.statistics, Qt.RightDockWidgetArea).visibilityChanged.connect(
            self.statistics.set_in_front)  # a tab behind others draws nothing
        dock_layout.arrange(self, self.docks)

        self.sam_label, self.click_label = QLabel("No checkpoint"), QLabel("click→mask: –")
        self.encode_label = QLabel("")  # the last encode's result; while encoding, the progress strip
        self.progress_strip = ProgressStrip()  # every long job, with its Cancel (follows app.model.progress.Jobs)
        self.messages_button = QToolButton()  # the unread count; opens the Messages panel
        self.messages_button.setAutoRaise(True)
        self.messages_button.setFocusPolicy(Qt.NoFocus)
        for widget in (self.progress_strip, self.encode_label, self.click_label, self.sam_label,
                       self.messages_button):
            self.statusBar().addPermanentWidget(widget)

    # -- reflections (slots the bindings connect) ----------------------------------------------------
    def show_status(self, text: str) -> None:
        self.statusBar().showMessage(text, 8000)

    def show_device(self, report) -> None:
        """Say where SAM's encoder runs and why not on a faster device (a DeviceReport)."""
        self.sam_label.setToolTip(report.summary)
        self.statusBar().showMessage(report.summary, 15000)

    def show_project(self, project) -> None:
        self.setWindowTitle("Maskwright" if project is None else f"Maskwright — {project.folder}")

    # -- dialogs (thin: they only ask for a path) ----------------------------------------------------
    def ask_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Open folder", self.settings.last_folder)
        if folder:
            self.folder_chosen.emit(folder)

    def ask_checkpoint(self) -> None:
        start = self.settings.checkpoint or self.settings.last_folder
        path, _ = QFileDialog.getOpenFileName(self, "Open SAM checkpoint", start, "SAM checkpoint (*.pth *.pt)")
        if path:
            self.checkpoint_chosen.emit(path)

    def ask_export(self, fmt: str, folder: Path | None) -> None:
        """Ask where to export ``fmt``; ``folder`` is the open project's (None: no project)."""
        if folder is None:
            self.show_status("Open a folder first")
            return
        if fmt == "sa1b":
            path = QFileDialog.getExistingDirectory(self, "Export SA-1B into folder", str(folder))
        else:
            default = str(Path(folder) / f"annotations_{fmt}.json")
            path, _ = QFileDialog.getSaveFileName(self, "Export COCO", default, EXPORT_FILTERS[fmt])
        if path:
            self.export_chosen.emit(fmt, path)

    def ask_export_choices(self, choices: dict, folder: Path | None, images: int, done: int) -> None:
        """*File > Export…*: format, holes, scope and destination in one dialog."""
        if folder is None:
            self.show_status("Open a folder first")
            return
        dialog = ExportDialog(choices, folder, images, done, self)
        dialog.chosen.connect(self.export_dialog_chosen)
        self._open(dialog)

    def ask_import(self, start: str, fmt: str, automatic: bool = False) -> None:
        """Ask for labels to import (``automatic``: an engine output folder and its embeddings)."""
        dialog = ImportSourceDialog(start, fmt, automatic, self)
        dialog.chosen.connect(self.import_automatic_chosen if automatic else self.import_chosen)
        self._open(dialog)

    def show_import_plan(self, plan, new_categories: list[str], with_annotations: int) -> None:
        """What the import would do; Import sends ``import_confirmed``."""
        dialog = ImportPreview(plan, new_categories, with_annotations, self)
        dialog.confirmed.connect(self.import_confirmed)
        self._open(dialog)

    def _open(self, dialog: QDialog) -> None:
        dialog.setAttribute(Qt.WA_DeleteOnClose)
        self.dialog = dialog
        dialog.open()  # window-modal, without blocking the event loop

    def show_model_manager(self) -> ModelManager:
        """The non-modal model manager; a checkpoint it verifies is loaded at once."""
        if self.model_manager is None:
            self.model_manager = ModelManager(self.settings.models_dir, self.settings.model_base_url, parent=self)
            self.model_manager.chosen.connect(self.checkpoint_chosen)
        self.model_manager.show()
        self.model_manager.raise_()
        return self.model_manager

    def closeEvent(self, event) -> None:
        if self.close_guard is not None and not self.close_guard():
            event.ignore()
            return
        if self.model_manager is not None:
            self.model_manager.shutdown()
        for step in self.closing:
            step()
        super().closeEvent(event)
