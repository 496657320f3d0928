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
    QDockWidget,
    QFileDialog,
    QLabel,
    QMainWindow,
    QProgressBar,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from app.model.prompts import PromptSession
from app.services.settings import Settings
from app.ui import actions as action_specs
from app.ui.canvas.view import CanvasView
from app.ui.widgets.annotation_list import AnnotationList
from app.ui.widgets.candidates_panel import CandidatesPanel
from app.ui.widgets.category_picker import CategoryPicker
from app.ui.widgets.image_list import ImageList
from app.ui.widgets.message_bar import MessageBar
from app.ui.widgets.model_manager import ModelManager
from app.ui.widgets.precompute_panel import PrecomputePanel
from app.ui.widgets.prelabel_review import PrelabelReview
from app.ui.widgets.tool_options import ToolOptions
from app.ui.widgets.view_controls import ViewControls

EXPORT_FILTERS = {"coco_rle": "COCO JSON (*.json)", "coco_polygons": "COCO JSON (*.json)"}


def add_dock(window: QMainWindow, title: str, widget: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
    """Put ``widget`` in a movable, floatable dock named ``title`` (its object name too)."""
    dock = QDockWidget(title, window)
    dock.setObjectName(title)
    dock.setWidget(widget)
    dock.setFeatures(QDockWidget.DockWidgetMovable | QDockWidget.DockWidgetFloatable)
    window.addDockWidget(area, dock)
    return dock


class MainWindow(QMainWindow):
    folder_chosen = Signal(str)
    checkpoint_chosen = Signal(str)
    export_chosen = Signal(str, str)  # format, path

    def __init__(self, settings: Settings, prompts: PromptSession) -> None:
        super().__init__()
        self.settings = settings
        self.close_guard: Callable[[], bool] | None = None  # asked before closing; False keeps the window open
        self.closing: list[Callable[[], None]] = []  # run when the window does close
        self.setWindowTitle("Maskwright")
        self.resize(1400, 900)
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

        self.actions = action_specs.build_actions(self)
        action_specs.build_menus(self.menuBar(), self.actions)
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
        self.view_controls = ViewControls(self.actions)
        add_dock(self, "Images", self.image_list, Qt.LeftDockWidgetArea)
        # Below the image list: the right column (candidates, categories, annotations) is full,
        # and a window that fits a 768-pixel-high laptop screen must keep its status bar.
        tools = QWidget()
        tools_column = QVBoxLayout(tools)
        tools_column.setContentsMargins(0, 0, 0, 0)
        tools_column.addWidget(self.tool_options)
        tools_column.addWidget(self.view_controls)
        add_dock(self, "Tools", tools, Qt.LeftDockWidgetArea)
        add_dock(self, "Candidates", self.candidates, Qt.RightDockWidgetArea)
        add_dock(self, "Categories", self.categories, Qt.RightDockWidgetArea)
        annotations = add_dock(self, "Annotations", self.annotations, Qt.RightDockWidgetArea)
        automatic = add_dock(self, "Automatic", self.review, Qt.RightDockWidgetArea)
        self.tabifyDockWidget(annotations, automatic)
        annotations.raise_()

        self.sam_label, self.click_label = QLabel("No checkpoint"), QLabel("click→mask: –")
        self.encode_label, self.progress = QLabel(""), QProgressBar()
        self.progress.setMaximumWidth(140)
        self.progress.setTextVisible(False)
        self.progress.hide()
        self.precompute_panel = PrecomputePanel()
        for widget in (self.encode_label, self.progress, self.click_label, self.sam_label, self.precompute_panel):
            self.statusBar().addPermanentWidget(widget)

    # -- reflections (slots the bindings connect) ----------------------------------------------------
    def show_status(self, text: str) -> None:
        self.statusBar().showMessage(text, 8000)

    def show_encode_state(self, text: str, done: int, total: int) -> None:
        self.encode_label.setText(text)
        self.progress.setVisible(total > 0)
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(done)

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
