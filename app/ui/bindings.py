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
from app.model.progress import Jobs
from app.model.session_stats import SessionStats
from app.services.precompute import Precompute
from app.ui import actions as action_specs
from app.ui.canvas.polygon_layer import PolygonLayer
from app.ui.canvas.presenter import CanvasPresenter
from app.ui.deferrable import Deferrable
from app.ui.key_bindings import KeyBindings
from app.ui.main_window import MainWindow
from app.ui.window_bindings import Chrome, bind_chrome, chrome_handlers, make_chrome
from app.workflow.annotations import AnnotationEditor
from app.workflow.boxes import BoxesToMasks
from app.workflow.brush import Brush
from app.workflow.categories import CategoryEditor
from app.workflow.checkpoint import CheckpointLoader
from app.workflow.export import ExportController
from app.workflow.importing import ImportController
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
    importing: ImportController
    boxes: BoxesToMasks


@dataclass
class Bound:
    """What :func:`bind` made that lives as long as the window."""

    presenter: CanvasPresenter
    polygon_layer: PolygonLayer
    keys: KeyBindings
    refresh_review: Deferrable
    chrome: Chrome


def bind(window: MainWindow, state: LabelingState, history: History, notices: Notices, c: Controllers,
         precompute: Precompute, jobs: Jobs, stats: SessionStats) -> Bound:
    keys = KeyBindings(window.actions, window, window.settings, notices, window.categories)
    presenter = CanvasPresenter(window.canvas, state, history, c.prompting, c.brush)
    chrome = make_chrome(window, jobs)
    polygon_layer = PolygonLayer(window.canvas, state, c.polygon)
    action_specs.connect(window.actions, {**_handlers(window, state, c, keys), **chrome_handlers(window, chrome)})
    window.actions["label.mask_input"].setChecked(state.prompts.use_mask_input)
    refresh_review = Deferrable(lambda: window.review.show_masks(c.prelabel.to_review(), state.selected))
    _reflect(window, state, history, notices, c, refresh_review)
    window.statistics.follow(stats)
    window.closing.append(lambda: window.statistics.follow(None))  # the panel goes before the figures
    _intents(window, state, c)
    bind_chrome(window, state, notices, chrome, c, precompute)  # last: the window's place, once all is built
    return Bound(presenter, polygon_layer, keys, refresh_review, chrome)


def _handlers(window: MainWindow, state: LabelingState, c: Controllers, keys: KeyBindings) -> dict:
    canvas, actions = window.canvas, window.actions
    nav, prompting, brush, prelabel = c.navigation, c.prompting, c.brush, c.prelabel
    view = state.view_options  # pure view state: set directly, like the selection

    def project_folder():
        return None if state.project is None else state.project.folder

    def drawing(polygon_step, otherwise):
        """Enter, Backspace, Esc, U and X act on the polygon while one is being drawn."""
        return lambda: polygon_step() if c.polygon.drawing else otherwise()

    handlers = {
        "file.open_folder": window.ask_folder,
        "file.open_checkpoint": window.ask_checkpoint,
        "file.models": window.show_model_manager,
        "file.import": lambda: window.ask_import(*c.importing.last_choice()),
        "file.import_auto": lambda: window.ask_import(c.importing.last_automatic(), "sa1b", automatic=True),
        "file.export": lambda: window.ask_export_choices(c.export.choices, project_folder(), _image_count(state),
                                                         c.export.done_count()),
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
        "view.zoom_selected": c.annotations.zoom_to,
        "view.zoom_in": lambda: canvas.zoom(1.25),
        "view.zoom_out": lambda: canvas.zoom(0.8),
        "view.pan_left": lambda: canvas.pan(-0.1, 0),
        "view.pan_right": lambda: canvas.pan(0.1, 0),
        "view.pan_up": lambda: canvas.pan(0, -0.1),
        "view.pan_down": lambda: canvas.pan(0, 0.1),
        "view.opacity_up": lambda: view.step_opacity(1),
        "view.opacity_down": lambda: view.step_opacity(-1),
        "view.hide_all": lambda: view.set_hide_all(actions["view.hide_all"].isChecked()),
        "view.outline_only": lambda: view.set_outline_only(actions["view.outline_only"].isChecked()),
        "view.color_by_instance": lambda: view.set_color_by(
            "instance" if actions["view.color_by_instance"].isChecked() else "category"),
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
        "auto.boxes_image": c.boxes.run_image,
        "auto.boxes_folder": c.boxes.run_folder,
        "auto.cancel": lambda: (prelabel.cancel(), c.boxes.cancel()),
        "auto.next": prelabel.next,
        "auto.accept_all": prelabel.accept_all,
        "auto.reject_all": prelabel.reject_all,
    }
    for n in range(1, 10):
        handlers[f"category.{n}"] = lambda n=n: c.categories.select_number(n)
    return handlers


def _image_count(state: LabelingState) -> int:
    return 0 if state.dataset is None else len(state.dataset.images)


def _intents(window: MainWindow, state: LabelingState, c: Controllers) -> None:
    """Panels' and dialogs' requests -> controllers (or the state, for view state)."""
    window.folder_chosen.connect(c.navigation.open_folder)
    window.checkpoint_chosen.connect(lambda path: c.checkpoints.load(path))
    window.export_chosen.connect(c.export.export)
    window.export_dialog_chosen.connect(c.export.export)
    window.import_chosen.connect(c.importing.read)
    window.import_automatic_chosen.connect(c.importing.read_automatic)
    window.import_confirmed.connect(c.importing.apply)
    c.importing.plan_ready.connect(lambda plan: window.show_import_plan(
        plan, [n.name for n in plan.new_categories(state.dataset)], plan.images_with_annotations(state.dataset)))
    window.image_list.image_requested.connect(c.navigation.open_image)
    window.image_filter.filter_requested.connect(state.set_image_filter)
    window.candidates.rank_clicked.connect(c.prompting.pick)
    picker = window.categories
    picker.current_changed.connect(c.categories.select)
    picker.create_requested.connect(c.categories.create)
    picker.rename_requested.connect(c.categories.rename)
    picker.recolor_requested.connect(c.categories.recolor)
    window.annotations.selected.connect(state.select)
    window.annotations.visibility_changed.connect(state.set_visible)
    window.annotations.delete_requested.connect(c.annotations.delete)
    window.annotations.zoom_requested.connect(c.annotations.zoom_to)
    window.review.selected.connect(state.select)
    window.tool_options.radius_requested.connect(c.brush.set_radius)
    window.tool_options.speck_area_requested.connect(c.brush.set_speck_area)
    window.view_controls.opacity_requested.connect(state.view_options.set_opacity)


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
    events.image_filter_changed.connect(lambda e: (window.image_filter.show_filter(e.value),
                                                   window.image_list.set_filter(e.value)))
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
    state.view_options.events.changed.connect(lambda _e: _show_view_options(window, state.view_options))
    _show_view_options(window, state.view_options)

    notices.events.status.connect(lambda e: window.show_status(e.value))
    history.events.note.connect(lambda e: notices.status(e.value))
    history.events.failed.connect(lambda e: notices.error(e.value))
    for deferrable in (refresh_review, window.annotations.refresh_soon):
        history.events.applying.connect(lambda e, d=deferrable: d.hold(e.value))  # one refill per command
    history.events.changed.connect(lambda _e: _show_history(actions, history))
    _show_history(actions, history)

    c.checkpoints.sam_state.connect(window.sam_label.setText)
    c.prompting.click_ms.connect(lambda ms: window.click_label.setText(f"click→mask: {ms:.0f} ms"))
    c.prelabel.progress.connect(window.review.show_progress)

    def automatic_running(_running=None) -> None:
        actions["auto.cancel"].setEnabled(c.prelabel.running or c.boxes.running)

    c.prelabel.running_changed.connect(automatic_running)
    c.boxes.running_changed.connect(automatic_running)
    c.boxes.progress.connect(window.review.show_progress)
    c.prelabel.review_changed.connect(refresh_review)
    automatic_running()


def _show_view_options(window: MainWindow, view) -> None:
    actions = window.actions
    actions["view.hide_all"].setChecked(view.hide_all)
    actions["view.outline_only"].setChecked(view.outline_only)
    actions["view.color_by_instance"].setChecked(view.color_by == "instance")
    window.view_controls.show_opacity(view.opacity)


def _show_history(actions, history: History) -> None:
    for action_id, word, can, text in (
        ("edit.undo", "Undo", history.can_undo, history.undo_text),
        ("edit.redo", "Redo", history.can_redo, history.redo_text),
    ):
        actions[action_id].setText(f"{word} {text}" if can and text else word)


__all__ = ["Bound", "Controllers", "bind"]
