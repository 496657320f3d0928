"""Fixing masks by hand: brush and eraser strokes, mask operations, "no overlap".

A QObject on the UI thread. The canvas sends stroke intents in the original image
frame; a :class:`Stroke` paints them at full resolution, and when the stroke ends
one undoable command records its bounding box of old and new pixels. With no
annotation selected, a brush stroke starts a new annotation of the current
category. Mask operations act on the selected annotation: add or subtract
SAM's shown candidate (which also clears the prompts, in the same undo step),
fill holes, remove specks. In "no overlap" mode a new or edited mask takes its
pixels away from the image's other annotations.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal

from app.model import edits
from app.model import Annotation, Mask, Provenance
from app.model import mask_ops
from app.model.commands import RegionDiff, compound
from app.model.paint import Stroke

if TYPE_CHECKING:
    from app.workflow.labeler import Labeler

TOOLS = ("prompt", "brush", "eraser")
MIN_RADIUS, MAX_RADIUS = 1.0, 512.0
RADIUS_STEP = 1.25


class Refiner(QObject):
    tool_changed = Signal(str)
    radius_changed = Signal(float)
    options_changed = Signal()  # no overlap, speck size
    stroke_changed = Signal()  # the live stroke moved, began or ended

    def __init__(self, labeler: Labeler) -> None:
        super().__init__()
        self.labeler = labeler
        self.tool = "prompt"
        self.radius = 8.0  # original image pixels
        self.no_overlap = False
        self.speck_area = 64  # pixels: parts smaller than this are specks
        self.stroke: Stroke | None = None
        self.stroke_target: int | None = None  # annotation painted; None while painting a new one
        labeler.image_changed.connect(lambda _id: self.cancel_stroke())
        labeler.project_changed.connect(lambda _p: self.cancel_stroke())

    # -- options -------------------------------------------------------------------------------------
    def set_tool(self, tool: str) -> None:
        if tool not in TOOLS:
            raise ValueError(f"tool must be one of {TOOLS}, got {tool!r}")
        self.cancel_stroke()
        self.tool = tool
        self.tool_changed.emit(tool)

    def set_radius(self, radius: float) -> None:
        self.radius = float(min(MAX_RADIUS, max(MIN_RADIUS, radius)))
        self.radius_changed.emit(self.radius)
        self._status(f"Brush radius {self.radius:g} px")

    def grow(self) -> None:
        self.set_radius(max(self.radius + 1, round(self.radius * RADIUS_STEP)))

    def shrink(self) -> None:
        self.set_radius(min(self.radius - 1, round(self.radius / RADIUS_STEP)))

    def set_no_overlap(self, on: bool) -> None:
        self.no_overlap = bool(on)
        self.options_changed.emit()
        self._status("No overlap: new and edited masks take their pixels from the others" if on else "Overlap allowed")

    def set_speck_area(self, pixels: int) -> None:
        self.speck_area = max(1, int(pixels))
        self.options_changed.emit()

    # -- strokes -------------------------------------------------------------------------------------
    def begin_stroke(self, x: float, y: float) -> None:
        lab = self.labeler
        if self.tool not in ("brush", "eraser") or lab.project is None or lab.image_id is None:
            return
        target = lab.selected_annotation
        if target is None:
            if self.tool == "eraser":
                self._status("Select an annotation to erase from")
                return
            before = Mask.empty(*lab.project.dataset.images[lab.image_id].shape)
        else:
            before = lab.project.dataset.annotation(target).mask
        self.stroke, self.stroke_target = Stroke(before, self.radius, erase=self.tool == "eraser"), target
        self.stroke.add_point(x, y)
        self.stroke_changed.emit()

    def extend_stroke(self, x: float, y: float, straight: bool = False) -> None:
        if self.stroke is None:
            return
        if straight:
            self.stroke.line_to(x, y)
        else:
            self.stroke.add_point(x, y)
        self.stroke_changed.emit()

    def end_stroke(self) -> None:
        stroke, target = self.stroke, self.stroke_target
        if stroke is None:
            return
        self.stroke = self.stroke_target = None
        try:
            if target is None:
                self._paint_new(stroke)
            else:
                self._paint(stroke, target)
        finally:
            self.stroke_changed.emit()

    def cancel_stroke(self) -> None:
        if self.stroke is not None:
            self.stroke = self.stroke_target = None
            self.stroke_changed.emit()

    def _paint(self, stroke: Stroke, target: int) -> None:
        dataset = self.labeler.project.dataset
        try:
            current = dataset.annotation(target)
        except KeyError:
            self._status("The annotation went away during the stroke; nothing painted")
            return
        if current.mask is not stroke.before:
            self._status("The annotation changed during the stroke; nothing painted")
            return
        text = "Erase stroke" if stroke.erase else "Brush stroke"
        self._push(edits.edit_mask(dataset, target, stroke.diff(), text, self.no_overlap))

    def _paint_new(self, stroke: Stroke) -> None:
        lab = self.labeler
        mask = stroke.after()
        category = lab.categories.current()
        if mask.is_empty or category is None:
            return
        dataset = lab.project.dataset
        annotation = Annotation(dataset.new_annotation_id(), lab.image_id, category, mask, Provenance(source="brush"))
        self._push(edits.add_annotation(dataset, annotation, "Paint new annotation", self.no_overlap))
        lab.select_annotation(annotation.id)  # the next strokes go on painting it

    # -- mask operations -----------------------------------------------------------------------------
    def _selected(self) -> Annotation | None:
        lab = self.labeler
        if lab.project is None or lab.selected_annotation is None:
            self._status("Select an annotation first")
            return None
        return lab.project.dataset.annotation(lab.selected_annotation)

    def add_candidate(self) -> None:
        """Add SAM's shown candidate to the selected annotation."""
        self._with_candidate(mask_ops.union, "Add candidate")

    def subtract_candidate(self) -> None:
        """Remove SAM's shown candidate from the selected annotation."""
        self._with_candidate(mask_ops.subtract, "Subtract candidate")

    def _with_candidate(self, op, text: str) -> None:
        annotation = self._selected()
        if annotation is None:
            return
        candidate = self.labeler.session.selected_mask()
        if candidate is None:
            self._status("No candidate: click the object first")
            return
        diff = RegionDiff.between(annotation.mask, op(annotation.mask, candidate))
        session, dataset = self.labeler.session, self.labeler.project.dataset
        edit = edits.edit_mask(dataset, annotation.id, diff, text, self.no_overlap)
        self._push(compound(text, [edit, edits.clear_prompts(session, text)]))
        self.labeler.worker.cancel_decodes()

    def fill_holes(self) -> None:
        self._edit_selected(mask_ops.fill_holes, "Fill holes")

    def remove_specks(self) -> None:
        self._edit_selected(lambda m: mask_ops.remove_specks(m, self.speck_area),
                            f"Remove specks < {self.speck_area} px")

    def _edit_selected(self, op, text: str) -> None:
        annotation = self._selected()
        if annotation is None:
            return
        diff = RegionDiff.between(annotation.mask, op(annotation.mask))
        if diff is None:
            self._status(f"{text}: nothing to change")
            return
        self._push(edits.edit_mask(self.labeler.project.dataset, annotation.id, diff, text, self.no_overlap))

    # -- plumbing ------------------------------------------------------------------------------------
    def _push(self, command) -> None:
        if command is None:
            return
        self.labeler.history.push(command)
        self._status(command.text)

    def _status(self, text: str) -> None:
        self.labeler.status.emit(text)
