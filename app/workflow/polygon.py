"""The polygon tool: click vertices, close, and the polygon becomes a mask.

A plain controller on the UI thread (no Qt). The vertices drawn so far live in the
labelling state (``state.polygon``), so the canvas can draw them; they are not undo
steps (Backspace takes the last one back, Esc drops them all). Closing the polygon
(Enter, or a click on its first vertex) rasterises it at the image's full resolution
(:func:`app.model.polygon.rasterize`) and makes one undoable command, like a candidate:

- with an annotation selected, the polygon is added to it (U does the same, X subtracts it);
- with none, it becomes a new annotation of the current category (source ``"polygon"``),
  left unselected so that the next polygon is a new annotation too.

In "no overlap" mode the new pixels leave the image's other annotations, in the same step.
"""
from __future__ import annotations

from app.model import Annotation, Provenance, edits, mask_ops
from app.model.commands import RegionDiff
from app.model.history import History
from app.model.labeling_state import LabelingState
from app.model.mask import Mask
from app.model.notices import Notices
from app.model.polygon import clamp_vertex, rasterize

MIN_VERTICES = 3


class PolygonTool:
    def __init__(self, state: LabelingState, history: History, notices: Notices) -> None:
        self.state, self.history, self.notices = state, history, notices

    @property
    def drawing(self) -> bool:
        """Whether a polygon is in progress (the keys that close, shorten or drop it are its)."""
        return self.state.tool == "polygon" and bool(self.state.polygon)

    # -- vertices ------------------------------------------------------------------------------------
    def add_vertex(self, x: float, y: float) -> None:
        """Add (x, y), original frame; a click outside the image lands on its border."""
        state = self.state
        if state.tool != "polygon" or state.project is None or state.image_id is None:
            return
        vertex = clamp_vertex(x, y, state.dataset.images[state.image_id].shape)
        if state.polygon and vertex == state.polygon[-1]:
            return  # a double click adds one vertex, not two
        state.set_polygon((*state.polygon, vertex))
        if len(state.polygon) == 1:
            self.notices.status("Polygon: click the next vertices; Enter or a click on the first vertex closes it, "
                                "Backspace removes the last vertex, Esc cancels")

    def remove_last_vertex(self) -> None:
        self.state.set_polygon(self.state.polygon[:-1])

    def cancel(self) -> None:
        if self.state.polygon:
            self.state.set_polygon(())
            self.notices.status("Polygon cancelled")

    # -- closing -------------------------------------------------------------------------------------
    def close(self) -> Annotation | None:
        """Close the polygon: added to the selected annotation, else a new annotation.
        Returns the annotation it made or changed (None when nothing changed)."""
        if self.state.selected is not None:
            return self._combine(mask_ops.union, "Add polygon")
        mask = self._take_mask()
        if mask is None:
            return None
        state = self.state
        category = state.current_category
        dataset = state.dataset
        annotation = Annotation(dataset.new_annotation_id(), state.image_id, category, mask,
                                Provenance(source="polygon"))
        self.history.push(edits.add_annotation(dataset, annotation, "Polygon", state.no_overlap))
        self.notices.status(f"Polygon: new {dataset.categories[category].name}, {annotation.area} px")
        return annotation

    def add_to_selected(self) -> Annotation | None:
        """Close the polygon and add it to the selected annotation (U)."""
        return self._combine(mask_ops.union, "Add polygon")

    def subtract_from_selected(self) -> Annotation | None:
        """Close the polygon and take it away from the selected annotation (X)."""
        return self._combine(mask_ops.subtract, "Subtract polygon")

    def _combine(self, op, text: str) -> Annotation | None:
        state = self.state
        if state.selected is None:
            self.notices.status("Select an annotation first")
            return None
        mask = self._take_mask()
        if mask is None:
            return None
        dataset = state.dataset
        before = dataset.annotation(state.selected)
        command = edits.edit_mask(dataset, before.id, RegionDiff.between(before.mask, op(before.mask, mask)), text,
                                  state.no_overlap)
        if command is None:
            self.notices.status(f"{text}: nothing to change")
            return None
        self.history.push(command)
        self.notices.status(command.text)
        try:
            return dataset.annotation(before.id)
        except KeyError:  # subtracting left nothing: the annotation was deleted
            return None

    def _take_mask(self) -> Mask | None:
        """The polygon as a full-resolution mask, ending the drawing; None (and the
        drawing kept, to go on with) when it is too short or covers no pixel."""
        state = self.state
        if state.project is None or state.image_id is None or state.current_category is None:
            return None
        vertices = state.polygon
        if len(vertices) < MIN_VERTICES:
            self.notices.status(f"A polygon needs at least {MIN_VERTICES} vertices")
            return None
        mask = rasterize(vertices, state.dataset.images[state.image_id].shape)
        if mask.is_empty:
            self.notices.status("The polygon covers no pixel centre: add vertices, or Esc to cancel")
            return None
        state.set_polygon(())
        return mask


__all__ = ["MIN_VERTICES", "PolygonTool"]
