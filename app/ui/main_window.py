"""The main window: layout and wiring only. The workflow lives in :class:`Labeler`."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
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

from app.ui import actions as action_specs
from app.ui.canvas.presenter import CanvasPresenter
from app.ui.canvas.view import CanvasView
from app.workflow.labeler import Labeler
from app.ui.project_ui import ProjectUi
from app.ui.tools_ui import ToolsUi
from app.ui.widgets.annotation_list import AnnotationList
from app.ui.widgets.candidates_panel import CandidatesPanel
from app.ui.widgets.category_picker import CategoryPicker
from app.ui.widgets.image_list import ImageList
from app.ui.widgets.message_bar import MessageBar
from app.ui.widgets.model_manager import ModelManager

EXPORT_FILTERS = {"coco_rle": "COCO JSON (*.json)", "coco_polygons": "COCO JSON (*.json)"}


class MainWindow(QMainWindow):
    def __init__(self, labeler: Labeler) -> None:
        super().__init__()
        self.labeler = labeler
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
        self.presenter = CanvasPresenter(self.canvas, labeler)
        self.model_manager: ModelManager | None = None  # made on first use

        self.image_list = ImageList()
        self.categories = CategoryPicker()
        self.annotations = AnnotationList()
        self.candidates = CandidatesPanel(labeler.session)
        self._dock("Images", self.image_list, Qt.LeftDockWidgetArea)
        self._dock("Candidates", self.candidates, Qt.RightDockWidgetArea)
        self._dock("Categories", self.categories, Qt.RightDockWidgetArea)
        self._dock("Annotations", self.annotations, Qt.RightDockWidgetArea)

        self.sam_label, self.click_label = QLabel("No checkpoint"), QLabel("click→mask: –")
        self.encode_label, self.progress = QLabel(""), QProgressBar()
        self.progress.setMaximumWidth(140)
        self.progress.setTextVisible(False)
        self.progress.hide()
        for widget in (self.encode_label, self.progress, self.click_label, self.sam_label):
            self.statusBar().addPermanentWidget(widget)

        self.actions = action_specs.build_actions(self)
        action_specs.build_menus(self.menuBar(), self.actions)
        toolbar = QToolBar("Main")
        toolbar.setObjectName("main_toolbar")
        toolbar.setFocusPolicy(Qt.NoFocus)
        toolbar.setToolButtonStyle(Qt.ToolButtonTextBesideIcon)
        action_specs.build_toolbar(toolbar, self.actions)
        self.addToolBar(toolbar)
        self.actions["label.mask_input"].setChecked(labeler.session.use_mask_input)
        self.tools = ToolsUi(self)  # brush, mask operations, segment everything, key map, cheat sheet
        self.projects = ProjectUi(self)  # autosave, restore and recovery, precompute
        action_specs.connect(self.actions, self._handlers())
        self._wire()

    def _dock(self, title: str, widget: QWidget, area) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(title)
        dock.setWidget(widget)
        dock.setFeatures(QDockWidget.DockWidgetMovable | QDockWidget.DockWidgetFloatable)
        self.addDockWidget(area, dock)
        return dock

    def _handlers(self) -> dict:
        lab, canvas = self.labeler, self.canvas
        handlers = {
            "file.open_folder": self.ask_folder,
            "file.open_checkpoint": self.ask_checkpoint,
            "file.models": self.show_model_manager,
            "file.export_coco_rle": lambda: self.ask_export("coco_rle"),
            "file.export_coco_polygons": lambda: self.ask_export("coco_polygons"),
            "file.export_sa1b": lambda: self.ask_export("sa1b"),
            "file.quit": self.close,
            "edit.undo": lab.undo,
            "edit.redo": lab.redo,
            "label.accept": lab.accept,
            "label.clear": lab.clear_prompts,
            "label.undo_prompt": lab.remove_last_prompt,
            "label.candidate_1": lambda: lab.pick(0),
            "label.candidate_2": lambda: lab.pick(1),
            "label.candidate_3": lambda: lab.pick(2),
            "label.cycle": lab.cycle,
            "label.mask_input": lambda: lab.set_use_mask_input(self.actions["label.mask_input"].isChecked()),
            "label.delete": lambda: lab.delete_annotation(),
            "label.done": lab.toggle_done,
            "category.new": lab.categories.create,
            "image.next": lambda: lab.go(1),
            "image.prev": lambda: lab.go(-1),
            "view.fit": canvas.fit,
            "view.zoom_in": lambda: canvas.zoom(1.25),
            "view.zoom_out": lambda: canvas.zoom(0.8),
            "view.pan_left": lambda: canvas.pan(-0.1, 0),
            "view.pan_right": lambda: canvas.pan(0.1, 0),
            "view.pan_up": lambda: canvas.pan(0, -0.1),
            "view.pan_down": lambda: canvas.pan(0, 0.1),
        }
        for n in range(1, 10):
            handlers[f"category.{n}"] = lambda n=n: lab.category_by_number(n)
        handlers.update(self.tools.handlers())
        handlers.update(self.projects.handlers())
        return handlers

    def _wire(self) -> None:
        lab = self.labeler
        lab.project_changed.connect(self._on_project)
        lab.image_changed.connect(self._on_image)
        lab.image_shown.connect(lambda display, _shape, _f: self.candidates.set_background(display))
        lab.categories.changed.connect(self.categories.set_current)
        lab.selection_changed.connect(lambda i: self.annotations.select(None if i < 0 else i))
        lab.message.connect(self.message_bar.show_message)
        lab.status.connect(lambda text: self.statusBar().showMessage(text, 8000))
        lab.sam_state.connect(self.sam_label.setText)
        lab.click_ms.connect(lambda ms: self.click_label.setText(f"click→mask: {ms:.0f} ms"))
        lab.encode_state.connect(self._on_encode_state)
        self.image_list.image_requested.connect(lab.open_image)
        self.candidates.rank_clicked.connect(lab.pick)
        self.categories.current_changed.connect(lab.categories.select)
        self.categories.create_requested.connect(lab.categories.create)
        self.categories.rename_requested.connect(lab.categories.rename)
        self.categories.recolor_requested.connect(lab.categories.recolor)
        self.annotations.selected.connect(lab.select_annotation)
        self.annotations.visibility_changed.connect(lab.set_visible)
        self.annotations.delete_requested.connect(lab.delete_annotation)

    def _on_project(self, project) -> None:
        self.image_list.set_project(project)
        dataset = None if project is None else project.dataset
        self.categories.set_dataset(dataset)
        self.annotations.set_dataset(dataset)
        self.setWindowTitle("Maskwright" if project is None else f"Maskwright — {project.folder}")

    def _on_image(self, image_id: int) -> None:
        self.image_list.set_current(image_id)
        self.annotations.show_image(None if image_id < 0 else image_id, self.labeler.hidden)

    def _on_encode_state(self, text: str, done: int, total: int) -> None:
        self.encode_label.setText(text)
        self.progress.setVisible(total > 0)
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(done)

    # -- dialogs (thin: they only ask for a path) ----------------------------------------------------
    def ask_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Open folder", self.labeler.settings.last_folder)
        if folder:
            self.labeler.open_folder(folder)

    def ask_checkpoint(self) -> None:
        start = self.labeler.settings.checkpoint or self.labeler.settings.last_folder
        path, _ = QFileDialog.getOpenFileName(self, "Open SAM checkpoint", start, "SAM checkpoint (*.pth *.pt)")
        if path:
            self.labeler.load_checkpoint(path)

    def ask_export(self, fmt: str) -> None:
        project = self.labeler.project
        if project is None:
            self.statusBar().showMessage("Open a folder first", 5000)
            return
        if fmt == "sa1b":
            path = QFileDialog.getExistingDirectory(self, "Export SA-1B into folder", str(project.folder))
        else:
            default = str(Path(project.folder) / f"annotations_{fmt}.json")
            path, _ = QFileDialog.getSaveFileName(self, "Export COCO", default, EXPORT_FILTERS[fmt])
        if path:
            self.labeler.export(fmt, path)

    def show_model_manager(self) -> ModelManager:
        """The non-modal model manager; a checkpoint it verifies is loaded at once."""
        if self.model_manager is None:
            settings = self.labeler.settings
            self.model_manager = ModelManager(settings.models_dir, settings.model_base_url, parent=self)
            self.model_manager.chosen.connect(self.labeler.load_checkpoint)
        self.model_manager.show()
        self.model_manager.raise_()
        return self.model_manager

    def show_device(self, report) -> None:
        """Say where SAM's encoder runs and why not on a faster device (a DeviceReport)."""
        self.sam_label.setToolTip(report.summary)
        self.statusBar().showMessage(report.summary, 15000)

    def closeEvent(self, event) -> None:
        if self.model_manager is not None:
            self.model_manager.shutdown()
        self.labeler.shutdown()
        super().closeEvent(event)
