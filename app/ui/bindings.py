"""Connecting the window to the labelling state and the controllers.

Intents go out: each action's handler, and each panel's requests, call a
controller (or, for pure view state such as the selection or a hidden
annotation, the labelling state). Reflections come in: the panels observe the
state, the document and the controllers' progress signals. The bootstrap calls
:func:`bind` once, with every piece given explicitly.
"""
from __future__ import annotations

from dataclasses import dataclass

from app.model.history import History
from app.model.labeling_state import LabelingState
from app.model.notices import Notices
from app.services.precompute import Precompute
from app.ui import actions as action_specs
from app.ui.canvas.polygon_layer import PolygonLayer
from app.ui.canvas.presenter import CanvasPresenter
from app.ui.deferrable import Deferrable
from app.ui.key_bindings import KeyBindings
from app.ui.main_window import MainWindow
from app.workflow.annotations import AnnotationEditor
from app.workflow.brush import Brush
from app.workflow.categories import CategoryEditor
from app.workflow.checkpoint import CheckpointLoader
from app.workflow.export import ExportController
from app.workflow.navigation import Navigation
from app.workflow.polygon import PolygonTool
from app.workflow.precompute_folder import PrecomputeLauncher
from app.workflow.prelabeling import Prelabeler
from app.workflow.project_keeper import ProjectKeeper
from app.workflow.prompting import Prompting
from app.workflow.undo import Undo


@dataclass(frozen=True)
class Controllers:
    """The controllers the window sends intents to."""

    navigation: Navigation
    prompting: Prompting
    brush: Brush
    polygon: PolygonTool
    prelabel: Prelabeler
    categories: CategoryEditor
    annotations: AnnotationEditor
    undo: Undo
    checkpoints: CheckpointLoader
    export: ExportController
    precompute: PrecomputeLauncher
    keeper: ProjectKeeper


@dataclass
class Bound:
    """What :func:`bind` made that lives as long as the window."""

    presenter: CanvasPresenter
    polygon_layer: PolygonLayer
    keys: KeyBindings
    refresh_review: Deferrable


def bind(window: MainWindow, state: LabelingState, history: History, notices: Notices, c: Controllers,
         precompute: Precompute) -> Bound:
    keys = KeyBindings(window.actions, window, window.settings, notices, window.categories)
    presenter = CanvasPresenter(window.canvas, state, history, c.prompting, c.brush)
    polygon_layer = PolygonLayer(window.canvas, state, c.polygon)
    action_specs.connect(window.actions, _handlers(window, state, c, keys))
    window.actions["label.mask_input"].setChecked(state.prompts.use_mask_input)
    refresh_review = Deferrable(lambda: window.review.show_masks(c.prelabel.to_review(), state.selected))
    _reflect(window, state, history, notices, c, refresh_review)
    _intents(window, state, c, precompute)
    return Bound(presenter, polygon_layer, keys, refresh_review)


def _handlers(window: MainWindow, state: LabelingState, c: Controllers, keys: KeyBindings) -> dict:
    canvas, actions = window.canvas, window.actions
    nav, prompting, brush, prelabel = c.navigation, c.prompting, c.brush, c.prelabel

    def project_folder():
        return None if state.project is None else state.project.folder

    def drawing(polygon_step, otherwise):
        """Enter, Backspace, Esc, U and X act on the polygon while one is being drawn."""
        return lambda: polygon_step() if c.polygon.drawing else otherwise()

    handlers = {
        "file.open_folder": window.ask_folder,
        "file.open_checkpoint": window.ask_checkpoint,
        "file.models": window.show_model_manager,
        "file.export_coco_rle": lambda: window.ask_export("coco_rle", project_folder()),
        "file.export_coco_polygons": lambda: window.ask_export("coco_polygons", project_folder()),
        "file.export_sa1b": lambda: window.ask_export("sa1b", project_folder()),
        "file.quit": window.close,
        "edit.undo": c.undo.undo,
        "edit.redo": c.undo.redo,
        "edit.shortcuts": keys.show_shortcut_editor,
        "help.cheat_sheet": keys.show_cheat_sheet,
        "label.accept": drawing(c.polygon.close, prompting.accept),
        "label.clear": drawing(c.polygon.cancel, prompting.clear_prompts),
        "label.undo_prompt": drawing(c.polygon.remove_last_vertex, prompting.remove_last_prompt),
        "label.candidate_1": lambda: prompting.pick(0),
        "label.candidate_2": lambda: prompting.pick(1),
        "label.candidate_3": lambda: prompting.pick(2),
        "label.cycle": prompting.cycle,
        "label.mask_input": lambda: prompting.set_use_mask_input(actions["label.mask_input"].isChecked()),
        "label.delete": lambda: c.annotations.delete(),
        "label.done": c.annotations.toggle_done,
        "category.new": c.categories.create,
        "image.next": lambda: nav.go(1),
        "image.prev": lambda: nav.go(-1),
        "image.precompute": c.precompute.start,
        "image.cancel_precompute": c.precompute.cancel,
        "image.forget_missing": c.keeper.forget_missing,
        "view.fit": canvas.fit,
        "view.zoom_in": lambda: canvas.zoom(1.25),
        "view.zoom_out": lambda: canvas.zoom(0.8),
        "view.pan_left": lambda: canvas.pan(-0.1, 0),
        "view.pan_right": lambda: canvas.pan(0.1, 0),
        "view.pan_up": lambda: canvas.pan(0, -0.1),
        "view.pan_down": lambda: canvas.pan(0, 0.1),
        "tool.prompt": lambda: brush.set_tool("prompt"),
        "tool.brush": lambda: brush.set_tool("brush"),
        "tool.eraser": lambda: brush.set_tool("eraser"),
        "tool.polygon": lambda: brush.set_tool("polygon"),
        "tool.smaller": brush.shrink,
        "tool.bigger": brush.grow,
        "mask.add_candidate": drawing(c.polygon.add_to_selected, brush.add_candidate),
        "mask.subtract_candidate": drawing(c.polygon.subtract_from_selected, brush.subtract_candidate),
        "mask.fill_holes": brush.fill_holes,
        "mask.remove_specks": brush.remove_specks,
        "mask.no_overlap": lambda: brush.set_no_overlap(actions["mask.no_overlap"].isChecked()),
        "auto.image": prelabel.run_image,
        "auto.folder": prelabel.run_folder,
        "auto.cancel": prelabel.cancel,
        "auto.next": prelabel.next,
        "auto.accept_all": prelabel.accept_all,
        "auto.reject_all": prelabel.reject_all,
    }
    for n in range(1, 10):
        handlers[f"category.{n}"] = lambda n=n: c.categories.select_number(n)
    return handlers


def _intents(window: MainWindow, state: LabelingState, c: Controllers, precompute: Precompute) -> None:
    """Panels' and dialogs' requests -> controllers (or the state, for view state)."""
    window.folder_chosen.connect(c.navigation.open_folder)
    window.checkpoint_chosen.connect(lambda path: c.checkpoints.load(path))
    window.export_chosen.connect(c.export.export)
    window.image_list.image_requested.connect(c.navigation.open_image)
    window.candidates.rank_clicked.connect(c.prompting.pick)
    picker = window.categories
    picker.current_changed.connect(c.categories.select)
    picker.create_requested.connect(c.categories.create)
    picker.rename_requested.connect(c.categories.rename)
    picker.recolor_requested.connect(c.categories.recolor)
    window.annotations.selected.connect(state.select)
    window.annotations.visibility_changed.connect(state.set_visible)
    window.annotations.delete_requested.connect(c.annotations.delete)
    window.review.selected.connect(state.select)
    window.tool_options.radius_requested.connect(c.brush.set_radius)
    window.tool_options.speck_area_requested.connect(c.brush.set_speck_area)
    window.precompute_panel.cancel_requested.connect(precompute.cancel)


def _reflect(window: MainWindow, state: LabelingState, history: History, notices: Notices, c: Controllers,
             refresh_review: Deferrable) -> None:
    """State, document and progress -> panels."""
    actions, options = window.actions, window.tool_options
    events = state.events

    def on_project(project) -> None:
        dataset = None if project is None else project.dataset
        window.image_list.set_project(project)
        window.categories.set_dataset(dataset)
        window.annotations.set_dataset(dataset)
        window.show_project(project)
        refresh_review()

    def on_image(image_id) -> None:
        window.image_list.set_current(image_id)
        window.annotations.show_image(image_id, state.hidden)
        refresh_review()

    events.project_changed.connect(lambda e: on_project(e.value))
    events.image_changed.connect(lambda e: on_image(e.value))
    events.image_shown.connect(lambda e: window.candidates.set_background(None if e.value is None else e.value.display))
    events.category_changed.connect(lambda e: window.categories.set_current(e.value))
    events.selection_changed.connect(lambda e: window.annotations.select(e.value))
    events.selection_changed.connect(lambda e: window.review.select(-1 if e.value is None else e.value))
    events.tool_changed.connect(lambda e: actions[f"tool.{e.value}"].setChecked(True))
    events.radius_changed.connect(lambda e: options.show_radius(e.value))
    events.options_changed.connect(lambda _e: options.show_speck_area(state.speck_area))
    events.options_changed.connect(lambda _e: actions["mask.no_overlap"].setChecked(state.no_overlap))
    options.show_radius(state.radius)
    options.show_speck_area(state.speck_area)

    notices.events.posted.connect(lambda e: window.message_bar.show_message(e.value.level, e.value.html))
    notices.events.status.connect(lambda e: window.show_status(e.value))
    history.events.note.connect(lambda e: notices.status(e.value))
    history.events.failed.connect(lambda e: notices.error(e.value))
    for deferrable in (refresh_review, window.annotations.refresh_soon):
        history.events.applying.connect(lambda e, d=deferrable: d.hold(e.value))  # one refill per command
    history.events.changed.connect(lambda _e: _show_history(actions, history))
    _show_history(actions, history)

    c.checkpoints.sam_state.connect(window.sam_label.setText)
    c.prompting.click_ms.connect(lambda ms: window.click_label.setText(f"click→mask: {ms:.0f} ms"))
    c.navigation.encode_state.connect(window.show_encode_state)
    c.prelabel.progress.connect(window.review.show_progress)
    c.prelabel.running_changed.connect(actions["auto.cancel"].setEnabled)
    c.prelabel.review_changed.connect(refresh_review)
    actions["auto.cancel"].setEnabled(c.prelabel.running)
    precompute = c.precompute.precompute
    precompute.progress.connect(window.precompute_panel.show_progress)
    precompute.finished.connect(window.precompute_panel.finish)


def _show_history(actions, history: History) -> None:
    for action_id, word, can, text in (
        ("edit.undo", "Undo", history.can_undo, history.undo_text),
        ("edit.redo", "Redo", history.can_redo, history.redo_text),
    ):
        actions[action_id].setText(f"{word} {text}" if can and text else word)


__all__ = ["Bound", "Controllers", "bind"]
