"""Fixing masks by hand: brush and eraser strokes, mask operations, "no overlap".

A plain controller on the UI thread (no Qt). The canvas sends stroke intents in
the original image frame; a :class:`Stroke` (kept in the labelling state while it
is drawn, so the canvas can show it) paints them at full resolution, and when
the stroke ends one undoable command records its bounding box of old and new
pixels. With no annotation selected, a brush stroke starts a new annotation of
the current category. Mask operations act on the selected annotation: add or
subtract SAM's shown candidate (which also clears the prompts, in the same undo
step), fill holes, remove specks. In "no overlap" mode a new or edited mask takes
its pixels away from the image's other annotations.
"""
from __future__ import annotations

from app.model import Annotation, Mask, Provenance, edits, mask_ops
from app.model.commands import RegionDiff, compound
from app.model.history import History
from app.model.labeling_state import LabelingState
from app.model.notices import Notices
from app.model.paint import Stroke

RADIUS_STEP = 1.25


class Brush:
    def __init__(self, state: LabelingState, history: History, notices: Notices) -> None:
        self.state, self.history, self.notices = state, history, notices

    # -- options -------------------------------------------------------------------------------------
    def set_tool(self, tool: str) -> None:
        self.state.set_tool(tool)

    def set_radius(self, radius: float) -> None:
        radius = self.state.set_radius(radius)
        self.notices.status(f"Brush radius {radius:g} px")

    def grow(self) -> None:
        radius = self.state.radius
        self.set_radius(max(radius + 1, round(radius * RADIUS_STEP)))

    def shrink(self) -> None:
        radius = self.state.radius
        self.set_radius(min(radius - 1, round(radius / RADIUS_STEP)))

    def set_no_overlap(self, on: bool) -> None:
        self.state.set_no_overlap(on)
        self.notices.status("No overlap: new and edited masks take their pixels from the others" if on
                            else "Overlap allowed")

    def set_speck_area(self, pixels: int) -> None:
        self.state.set_speck_area(pixels)

    # -- strokes -------------------------------------------------------------------------------------
    def begin_stroke(self, x: float, y: float) -> None:
        state = self.state
        if state.tool not in ("brush", "eraser") or state.project is None or state.image_id is None:
            return
        target = state.selected
        if target is None:
            if state.tool == "eraser":
                self.notices.status("Select an annotation to erase from")
                return
            before = Mask.empty(*state.dataset.images[state.image_id].shape)
        else:
            before = state.dataset.annotation(target).mask
        stroke = Stroke(before, state.radius, erase=state.tool == "eraser")
        stroke.add_point(x, y)
        state.set_stroke(stroke, target)

    def extend_stroke(self, x: float, y: float, straight: bool = False) -> None:
        stroke = self.state.stroke
        if stroke is None:
            return
        if straight:
            stroke.line_to(x, y)
        else:
            stroke.add_point(x, y)
        self.state.stroke_moved()

    def end_stroke(self) -> None:
        stroke, target = self.state.stroke, self.state.stroke_target
        if stroke is None:
            return
        try:
            if target is None:
                self._paint_new(stroke)
            else:
                self._paint(stroke, target)
        finally:
            self.state.set_stroke(None)

    def cancel_stroke(self) -> None:
        self.state.set_stroke(None)

    def _paint(self, stroke: Stroke, target: int) -> None:
        dataset = self.state.dataset
        try:
            current = dataset.annotation(target)
        except KeyError:
            self.notices.status("The annotation went away during the stroke; nothing painted")
            return
        if current.mask is not stroke.before:
            self.notices.status("The annotation changed during the stroke; nothing painted")
            return
        text = "Erase stroke" if stroke.erase else "Brush stroke"
        self._push(edits.edit_mask(dataset, target, stroke.diff(), text, self.state.no_overlap))

    def _paint_new(self, stroke: Stroke) -> None:
        state = self.state
        mask = stroke.after()
        category = state.current_category
        if mask.is_empty or category is None:
            return
        dataset = state.dataset
        annotation = Annotation(dataset.new_annotation_id(), state.image_id, category, mask, Provenance(source="brush"))
        self._push(edits.add_annotation(dataset, annotation, "Paint new annotation", state.no_overlap))
        state.select(annotation.id)  # the next strokes go on painting it

    # -- mask operations -----------------------------------------------------------------------------
    def _selected(self) -> Annotation | None:
        state = self.state
        if state.project is None or state.selected is None:
            self.notices.status("Select an annotation first")
            return None
        return state.dataset.annotation(state.selected)

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
        session = self.state.prompts
        candidate = session.selected_mask()
        if candidate is None:
            self.notices.status("No candidate: click the object first")
            return
        diff = RegionDiff.between(annotation.mask, op(annotation.mask, candidate))
        edit = edits.edit_mask(self.state.dataset, annotation.id, diff, text, self.state.no_overlap)
        self._push(compound(text, [edit, edits.clear_prompts(session, text)]))

    def fill_holes(self) -> None:
        self._edit_selected(mask_ops.fill_holes, "Fill holes")

    def remove_specks(self) -> None:
        area = self.state.speck_area
        self._edit_selected(lambda m: mask_ops.remove_specks(m, area), f"Remove specks < {area} px")

    def _edit_selected(self, op, text: str) -> None:
        annotation = self._selected()
        if annotation is None:
            return
        diff = RegionDiff.between(annotation.mask, op(annotation.mask))
        if diff is None:
            self.notices.status(f"{text}: nothing to change")
            return
        self._push(edits.edit_mask(self.state.dataset, annotation.id, diff, text, self.state.no_overlap))

    def _push(self, command) -> None:
        if command is not None:
            self.history.push(command)
            self.notices.status(command.text)


__all__ = ["Brush"]
