"""Wiring of the hand tools, pre-labelling and keyboard features into the main window.

Makes the Tools and Automatic panels, the cheat sheet and the shortcut editor,
applies the user's key map from the settings, and supplies the handlers of the
``tool.*``, ``mask.*``, ``auto.*``, ``edit.shortcuts`` and ``help.*`` actions.
Layout and wiring only: the work is in :mod:`app.workflow.brush` and :mod:`app.workflow.prelabeling`.
"""
from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDockWidget, QWidget

from app.ui import actions as action_specs
from app.ui.keymap import KeyMap
from app.ui.deferrable import Deferrable
from app.ui.widgets.cheat_sheet import CheatSheet
from app.ui.widgets.prelabel_review import PrelabelReview
from app.ui.widgets.shortcut_editor import ShortcutEditor
from app.ui.widgets.tool_options import ToolOptions

if TYPE_CHECKING:
    from app.ui.main_window import MainWindow


class ToolsUi:
    def __init__(self, window: MainWindow) -> None:
        self.window, self.labeler = window, window.labeler
        self.actions = window.actions
        self.tool_options = ToolOptions(self.actions)
        self.review = PrelabelReview(self.actions)
        # Below the image list: the right column (candidates, categories, annotations) is full,
        # and a window that fits a 768-pixel-high laptop screen must keep its status bar.
        self._dock("Tools", self.tool_options, Qt.LeftDockWidgetArea)
        automatic = self._dock("Automatic", self.review, Qt.RightDockWidgetArea)
        annotations = window.findChild(QDockWidget, "Annotations")
        if annotations is not None:
            window.tabifyDockWidget(annotations, automatic)
            annotations.raise_()
        self.cheat_sheet: CheatSheet | None = None
        self.editor: ShortcutEditor | None = None
        settings = self.labeler.settings
        self.keymap = KeyMap(overrides=settings.shortcuts)
        self._bind(self.keymap)
        if self.keymap.dropped:
            self.labeler.message.emit("warning", "Some saved shortcuts were not applied: "
                                      + escape("; ".join(self.keymap.dropped)))
        self._wire()

    def _dock(self, title: str, widget: QWidget, area) -> QDockWidget:
        dock = QDockWidget(title, self.window)
        dock.setObjectName(title)
        dock.setWidget(widget)
        dock.setFeatures(QDockWidget.DockWidgetMovable | QDockWidget.DockWidgetFloatable)
        self.window.addDockWidget(area, dock)
        return dock

    def handlers(self) -> dict:
        refine, prelabel = self.labeler.refine, self.labeler.prelabel
        return {
            "edit.shortcuts": self.show_shortcut_editor,
            "help.cheat_sheet": self.show_cheat_sheet,
            "tool.prompt": lambda: refine.set_tool("prompt"),
            "tool.brush": lambda: refine.set_tool("brush"),
            "tool.eraser": lambda: refine.set_tool("eraser"),
            "tool.smaller": refine.shrink,
            "tool.bigger": refine.grow,
            "mask.add_candidate": refine.add_candidate,
            "mask.subtract_candidate": refine.subtract_candidate,
            "mask.fill_holes": refine.fill_holes,
            "mask.remove_specks": refine.remove_specks,
            "mask.no_overlap": lambda: refine.set_no_overlap(self.actions["mask.no_overlap"].isChecked()),
            "auto.image": prelabel.run_image,
            "auto.folder": prelabel.run_folder,
            "auto.cancel": prelabel.cancel,
            "auto.next": prelabel.next,
            "auto.accept_all": prelabel.accept_all,
            "auto.reject_all": prelabel.reject_all,
        }

    def _wire(self) -> None:
        lab, options, review = self.labeler, self.tool_options, self.review
        refine, prelabel, history = lab.refine, lab.prelabel, lab.history
        refine.tool_changed.connect(lambda tool: self.actions[f"tool.{tool}"].setChecked(True))
        refine.radius_changed.connect(options.show_radius)
        refine.options_changed.connect(lambda: options.show_speck_area(refine.speck_area))
        refine.options_changed.connect(lambda: self.actions["mask.no_overlap"].setChecked(refine.no_overlap))
        options.radius_requested.connect(refine.set_radius)
        options.speck_area_requested.connect(refine.set_speck_area)
        options.show_radius(refine.radius)
        options.show_speck_area(refine.speck_area)
        self.window.canvas.set_tool(refine.tool, refine.radius)
        prelabel.progress.connect(review.show_progress)
        prelabel.running_changed.connect(self._on_running)
        self._refresh_review_soon = Deferrable(self.refresh_review)
        prelabel.review_changed.connect(self._refresh_review_soon)
        for deferrable in (self._refresh_review_soon, self.window.annotations.refresh_soon):
            history.applying.connect(deferrable.hold)  # a command's events: one refill, when it is done
        lab.image_changed.connect(lambda _id: self.refresh_review())
        lab.selection_changed.connect(review.select)  # the same masks: no refill
        review.selected.connect(lab.select_annotation)
        history.changed.connect(self._on_history)
        self._on_running(False)
        self._on_history()

    # -- reflections ---------------------------------------------------------------------------------
    def refresh_review(self) -> None:
        self.review.show_masks(self.labeler.prelabel.to_review(), self.labeler.selected_annotation)

    def _on_running(self, running: bool) -> None:
        self.actions["auto.cancel"].setEnabled(running)

    def _on_history(self) -> None:
        history = self.labeler.history
        for action_id, word, can, text in (
            ("edit.undo", "Undo", history.can_undo, history.group.undoText()),
            ("edit.redo", "Redo", history.can_redo, history.group.redoText()),
        ):
            self.actions[action_id].setText(f"{word} {text}" if can and text else word)

    # -- dialogs -------------------------------------------------------------------------------------
    def show_cheat_sheet(self) -> CheatSheet:
        if self.cheat_sheet is None:
            self.cheat_sheet = CheatSheet(self.actions, self.window)
        self.cheat_sheet.show()
        self.cheat_sheet.raise_()
        return self.cheat_sheet

    def show_shortcut_editor(self) -> ShortcutEditor:
        """Non-modal, so nothing waits on it; OK applies and saves the bindings."""
        self.editor = ShortcutEditor(self.keymap, self.window)
        self.editor.applied.connect(self.apply_keymap)
        self.editor.setAttribute(Qt.WA_DeleteOnClose)
        self.editor.show()
        return self.editor

    def _bind(self, keymap: KeyMap) -> None:
        self.keymap = keymap
        action_specs.set_shortcuts(self.actions, keymap.as_dict())
        self.window.categories.set_keys([", ".join(keymap.keys(f"category.{n}")) for n in range(1, 10)])

    def apply_keymap(self, keymap: KeyMap) -> None:
        self._bind(keymap)
        self.labeler.settings.shortcuts = keymap.overrides()
        if self.cheat_sheet is not None:
            self.cheat_sheet.refresh()
        self.labeler.status.emit("Keyboard shortcuts saved")
