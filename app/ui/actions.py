"""Every user action, defined once as data: id, text, default shortcuts, icon, menu.

Menus, the toolbar, the shortcut editor and the cheat sheet are all built from
:data:`ACTIONS`; handlers are attached by id in the main window. The user's own
bindings (:class:`app.ui.keymap.KeyMap`) replace the default shortcuts by id.
Actions of one ``group`` are exclusive (the tools).
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtGui import QAction, QActionGroup, QIcon, QKeySequence
from PySide6.QtWidgets import QMenu, QMenuBar, QToolBar, QWidget

ICONS = Path(__file__).resolve().parents[2] / "resources" / "icons"


@dataclass(frozen=True)
class ActionSpec:
    id: str
    text: str
    shortcuts: tuple[str, ...] = ()
    icon: str = ""
    menu: str = ""
    checkable: bool = False
    checked: bool = False
    toolbar: bool = False
    tip: str = ""
    short: str = ""  # label on panel buttons, where ``text`` is too long
    group: str = ""


def _categories() -> tuple[ActionSpec, ...]:
    return tuple(
        ActionSpec(f"category.{n}", f"Category {n}", (f"Ctrl+{n}",), menu="Categories",
                   tip=f"Make category {n} current (and give it to the selected annotation)")
        for n in range(1, 10)
    )


PANEL_KEYS = (  # dock title, action id, key: one function key each (F1 is help, F2 renames in lists,
    # F10-F12 belong to the view: Statistics takes Shift with Messages' key)
    ("Images", "view.panel_images", "F3"),
    ("Tools", "view.panel_tools", "F4"),
    ("Candidates", "view.panel_candidates", "F5"),
    ("Categories", "view.panel_categories", "F6"),
    ("Annotations", "view.panel_annotations", "F7"),
    ("Automatic", "view.panel_automatic", "F8"),
    ("Messages", "view.panel_messages", "F9"),
    ("Statistics", "view.panel_statistics", "Shift+F9"),
)


def _panels() -> tuple[ActionSpec, ...]:
    return tuple(ActionSpec(action_id, f"{title} panel", (key,), "", "View", checkable=True, checked=True,
                            tip=f"Show or hide the {title} panel")
                 for title, action_id, key in PANEL_KEYS)


ACTIONS: tuple[ActionSpec, ...] = (
    ActionSpec("file.open_folder", "Open folder…", ("Ctrl+O",), "open", "File", toolbar=True),
    ActionSpec("file.open_checkpoint", "Open checkpoint…", ("Ctrl+Shift+O",), "chip", "File", toolbar=True),
    ActionSpec("file.models", "Get a SAM model…", (), "", "File",
               tip="Download an official SAM checkpoint (checked by SHA-256), or use one you already have"),
    ActionSpec("file.import", "Import…", ("Ctrl+I",), "", "File",
               tip="Import labels into this project: COCO, SA-1B, labelme / X-AnyLabeling or YOLO"),
    ActionSpec("file.import_auto", "Import automatic masks…", (), "", "File",
               tip="Import the data engine's masks (or any SA-1B folder) as automatic masks to review"),
    ActionSpec("file.export", "Export…", (), "", "File",
               tip="Export as COCO, SA-1B, YOLO, labelme or PNG masks, with the choices each format needs"),
    ActionSpec("file.export_coco_rle", "Export COCO (RLE)…", ("Ctrl+E",), "export", "File", toolbar=True),
    ActionSpec("file.export_coco_polygons", "Export COCO (polygons)…", ("Ctrl+Shift+E",), "", "File"),
    ActionSpec("file.export_sa1b", "Export SA-1B…", ("Ctrl+Alt+E",), "", "File"),
    ActionSpec("file.quit", "Quit", ("Ctrl+Q",), "", "File"),
    ActionSpec("edit.undo", "Undo", ("Ctrl+Z",), "", "Edit"),
    ActionSpec("edit.redo", "Redo", ("Ctrl+Shift+Z", "Ctrl+Y"), "", "Edit"),
    ActionSpec("edit.shortcuts", "Keyboard shortcuts…", ("Ctrl+,",), "", "Edit",
               tip="Rebind any action's keys"),
    ActionSpec("label.accept", "Accept mask", ("Return", "Enter", "Space"), "accept", "Label", toolbar=True,
               tip="Add the shown candidate as an annotation of the current category"),
    ActionSpec("label.clear", "Clear prompts", ("Esc",), "", "Label"),
    ActionSpec("label.undo_prompt", "Remove last prompt", ("Backspace",), "", "Label"),
    ActionSpec("label.candidate_1", "Candidate 1 (best IoU)", ("1",), "", "Label"),
    ActionSpec("label.candidate_2", "Candidate 2", ("2",), "", "Label"),
    ActionSpec("label.candidate_3", "Candidate 3", ("3",), "", "Label"),
    ActionSpec("label.cycle", "Next candidate", ("Tab",), "", "Label"),
    ActionSpec("label.mask_input", "Refine with previous mask", ("R",), "", "Label", checkable=True, checked=True,
               tip="Feed the previous low-res logits to SAM as mask_input"),
    ActionSpec("label.delete", "Delete selected annotation", ("Delete",), "", "Label"),
    ActionSpec("label.done", "Mark image done / todo", ("Ctrl+D",), "", "Label"),
    ActionSpec("tool.prompt", "SAM prompts", ("P",), "", "Tools", checkable=True, checked=True, group="tool",
               tip="Clicks and boxes prompt SAM", short="SAM"),
    ActionSpec("tool.brush", "Brush", ("B",), "", "Tools", checkable=True, group="tool",
               tip="Paint onto the selected annotation (a new one when none is selected); Shift+drag: straight line"),
    ActionSpec("tool.eraser", "Eraser", ("E",), "", "Tools", checkable=True, group="tool",
               tip="Erase from the selected annotation; Shift+drag: straight line"),
    ActionSpec("tool.polygon", "Polygon", ("G",), "", "Tools", checkable=True, group="tool",
               tip="Click vertices; Enter or a click on the first vertex closes the polygon into a mask "
                   "(added to the selected annotation, else a new one); Backspace removes the last vertex"),
    ActionSpec("tool.smaller", "Smaller brush", ("[",), "", "Tools"),
    ActionSpec("tool.bigger", "Bigger brush", ("]",), "", "Tools"),
    ActionSpec("mask.add_candidate", "Add candidate to selected annotation", ("U",), "", "Mask",
               tip="Union of the selected annotation and SAM's shown candidate (or the polygon being drawn)",
               short="Add"),
    ActionSpec("mask.subtract_candidate", "Subtract candidate from selected annotation", ("X",), "", "Mask",
               tip="Remove SAM's shown candidate (or the polygon being drawn) from the selected annotation",
               short="Subtract"),
    ActionSpec("mask.fill_holes", "Fill holes", ("H",), "", "Mask", tip="Fill the selected annotation's holes"),
    ActionSpec("mask.remove_specks", "Remove specks", ("S",), "", "Mask", short="Despeck",
               tip="Remove the selected annotation's parts smaller than the speck size (Tools panel)"),
    ActionSpec("mask.no_overlap", "No overlap", ("O",), "", "Mask", checkable=True,
               tip="New and edited masks take their pixels from the other annotations"),
    ActionSpec("auto.image", "Segment everything (this image)", ("Ctrl+G",), "", "Auto", short="This image",
               tip="SAM's automatic mask generator, in the background, skipping annotated areas"),
    ActionSpec("auto.folder", "Segment everything (all images)", ("Ctrl+Shift+G",), "", "Auto", short="All images"),
    ActionSpec("auto.boxes_image", "Boxes to masks (this image)", ("Ctrl+B",), "", "Auto", short="Boxes to masks",
               tip="SAM turns this image's imported boxes into masks, to review like segment everything's"),
    ActionSpec("auto.boxes_folder", "Boxes to masks (all images)", ("Ctrl+Shift+B",), "", "Auto",
               short="Boxes, all images"),
    ActionSpec("auto.cancel", "Cancel segment everything", ("Ctrl+Alt+G",), "", "Auto", short="Cancel",
               tip="Stop segment everything or boxes to masks"),
    ActionSpec("auto.next", "Next automatic mask to review", ("N",), "", "Auto", short="Next to review"),
    ActionSpec("auto.accept_all", "Accept all automatic masks (this image)", ("Ctrl+Return",), "", "Auto",
               short="Accept all"),
    ActionSpec("auto.reject_all", "Delete automatic masks to review (this image)", ("Ctrl+Delete",), "", "Auto",
               short="Delete all"),
    ActionSpec("category.new", "New category", ("Ctrl+N",), "", "Categories"),
    *_categories(),
    ActionSpec("image.next", "Next image", ("D", "PgDown"), "next", "Image", toolbar=True),
    ActionSpec("image.prev", "Previous image", ("A", "PgUp"), "prev", "Image", toolbar=True),
    ActionSpec("image.filter", "Filter images", ("Ctrl+F",), "", "Image",
               tip="Type words of the image names, or toggle todo/done/labelled/empty; D and A move through "
                   "the images it shows"),
    ActionSpec("image.precompute", "Precompute folder", (), "", "Image",
               tip="Encode every image of the folder in the background and keep the embeddings on disk"),
    ActionSpec("image.cancel_precompute", "Cancel precompute", (), "", "Image"),
    ActionSpec("image.forget_missing", "Forget missing images", (), "", "Image",
               tip="Remove images that left the folder, with their annotations (their files go to set-aside/)"),
    ActionSpec("view.fit", "Fit image", ("F",), "fit", "View", toolbar=True),
    ActionSpec("view.zoom_selected", "Zoom to selected annotation", ("Z",), "", "View",
               tip="Frame the selected annotation with a margin (a double-click in the Annotations panel too)"),
    ActionSpec("view.zoom_in", "Zoom in", ("+", "="), "", "View"),
    ActionSpec("view.zoom_out", "Zoom out", ("-",), "", "View"),
    ActionSpec("view.pan_left", "Pan left", ("Left",), "", "View"),
    ActionSpec("view.pan_right", "Pan right", ("Right",), "", "View"),
    ActionSpec("view.pan_up", "Pan up", ("Up",), "", "View"),
    ActionSpec("view.pan_down", "Pan down", ("Down",), "", "View"),
    *_panels(),
    ActionSpec("view.candidates_on_canvas", "Candidates on the canvas", ("F10",), "", "View", checkable=True,
               tip="Float the candidate strip over the canvas's corner, so the right column can be hidden"),
    ActionSpec("view.all_panels", "Hide all panels / show them again", ("F12",), "", "View",
               tip="The canvas alone; press again to bring back the panels that were shown"),
    ActionSpec("view.fullscreen", "Full screen", ("F11",), "", "View", checkable=True),
    ActionSpec("view.theme_system", "Theme: follow the system", (), "", "View", checkable=True, checked=True,
               group="theme"),
    ActionSpec("view.theme_light", "Theme: light", (), "", "View", checkable=True, group="theme"),
    ActionSpec("view.theme_dark", "Theme: dark", (), "", "View", checkable=True, group="theme"),
    ActionSpec("view.opacity_up", "More opaque masks", ("Ctrl+]",), "", "View"),
    ActionSpec("view.opacity_down", "More transparent masks", ("Ctrl+[",), "", "View"),
    ActionSpec("view.hide_all", "Hide all annotations", ("Ctrl+H",), "", "View", checkable=True, short="Hide all",
               tip="Show the image alone (the annotations stay; nothing is changed)"),
    ActionSpec("view.outline_only", "Outlines only", ("Ctrl+L",), "", "View", checkable=True, short="Outlines",
               tip="Draw each annotation's border instead of filling it"),
    ActionSpec("view.color_by_instance", "Colour by instance", ("Ctrl+K",), "", "View", checkable=True,
               short="By instance", tip="A colour per annotation instead of its category's"),
    ActionSpec("help.cheat_sheet", "Keyboard cheat sheet", ("?", "F1"), "", "Help"),
)

MENUS = ("File", "Edit", "Label", "Tools", "Mask", "Auto", "Categories", "Image", "View", "Help")


def icon(name: str) -> QIcon:
    path = ICONS / f"{name}.svg"
    return QIcon(str(path)) if name and path.exists() else QIcon()


def build_actions(parent: QWidget, specs: Sequence[ActionSpec] = ACTIONS) -> dict[str, QAction]:
    """One QAction per spec, added to ``parent`` so its shortcuts work window-wide;
    bound to the default keys (a user's key map is applied with :func:`set_shortcuts`)."""
    actions = {}
    groups: dict[str, QActionGroup] = {}
    for spec in specs:
        action = QAction(icon(spec.icon), spec.text, parent)
        if spec.short:
            action.setIconText(spec.short)
        action.setCheckable(spec.checkable)
        if spec.checkable:
            action.setChecked(spec.checked)
        if spec.group:
            groups.setdefault(spec.group, QActionGroup(parent)).addAction(action)
        action.setObjectName(spec.id)
        parent.addAction(action)
        actions[spec.id] = action
    set_shortcuts(actions, {spec.id: spec.shortcuts for spec in specs}, specs)
    return actions


def set_shortcuts(actions: Mapping[str, QAction], keys: Mapping[str, Sequence[str]],
                  specs: Sequence[ActionSpec] = ACTIONS) -> None:
    """Bind ``keys`` (by action id, portable text such as "Ctrl+Shift+Z") and say them in the tooltips."""
    for spec in specs:
        if spec.id not in keys or spec.id not in actions:
            continue
        action, bound = actions[spec.id], list(keys[spec.id])
        action.setShortcuts([QKeySequence(k) for k in bound])
        tip = spec.tip or spec.text
        action.setToolTip(f"{tip} ({', '.join(bound)})" if bound else tip)


def build_menus(menu_bar: QMenuBar, actions: Mapping[str, QAction], specs: Sequence[ActionSpec] = ACTIONS,
                ) -> dict[str, QMenu]:
    menus = {name: menu_bar.addMenu(name) for name in MENUS}
    for spec in specs:
        if spec.menu:
            menus[spec.menu].addAction(actions[spec.id])
    return menus


def build_toolbar(toolbar: QToolBar, actions: Mapping[str, QAction], specs: Sequence[ActionSpec] = ACTIONS) -> None:
    for spec in specs:
        if spec.toolbar:
            toolbar.addAction(actions[spec.id])


def connect(actions: Mapping[str, QAction], handlers: Mapping[str, Callable[[], object]]) -> None:
    """Attach handlers by action id; every action must have one."""
    missing = set(actions) - set(handlers)
    if missing:
        raise KeyError(f"actions without a handler: {sorted(missing)}")
    for action_id, handler in handlers.items():
        actions[action_id].triggered.connect(lambda _checked=False, h=handler: h())
