"""Keeps the canvas in step with the labeler, the prompt session and the document.

Overlays are recomposed only when what they show changes: annotations on
document events for the current image, the candidate on session events, the
live stroke on each brush movement (only the box the movement changed).
"""
from __future__ import annotations

from PySide6.QtCore import QRectF

from app.ui.canvas import overlay
from app.ui.canvas.view import CanvasView
from app.workflow.labeler import Labeler
from app.model.events import follow
from app.ui.deferrable import Deferrable

CANDIDATE_FALLBACK = (255, 210, 40)


class CanvasPresenter:
    def __init__(self, canvas: CanvasView, labeler: Labeler) -> None:
        self.canvas, self.labeler = canvas, labeler
        self._dataset = None
        self._stroking: int | None = None  # annotation hidden from the overlay while painted
        self._preview: overlay.StrokePreview | None = None  # the live stroke, display frame
        self._redraw_soon = Deferrable(self.redraw_annotations)  # once per command, not once per event
        labeler.history.applying.connect(self._redraw_soon.hold)
        refine = labeler.refine
        canvas.point_requested.connect(labeler.add_point)
        canvas.box_requested.connect(labeler.set_box)
        canvas.stroke_started.connect(refine.begin_stroke)
        canvas.stroke_moved.connect(refine.extend_stroke)
        canvas.stroke_finished.connect(refine.end_stroke)
        refine.stroke_changed.connect(self.redraw_stroke)
        refine.tool_changed.connect(lambda _t: canvas.set_tool(refine.tool, refine.radius))
        refine.radius_changed.connect(lambda _r: canvas.set_tool(refine.tool, refine.radius))
        labeler.image_shown.connect(self._on_image_shown)
        labeler.project_changed.connect(self._on_project)
        labeler.overlay_changed.connect(self.redraw_annotations)
        labeler.selection_changed.connect(lambda _id: self.redraw_outline())
        labeler.categories.changed.connect(lambda _id: self.redraw_candidate())
        session = labeler.session
        session.events.prompts_changed.connect(lambda _e: self.redraw_prompts())
        session.events.candidates_changed.connect(lambda _e: self.redraw_candidate())
        session.events.selection_changed.connect(lambda _e: self.redraw_candidate())

    def _on_project(self, project) -> None:
        self._dataset = follow(self._dataset, None if project is None else project.dataset, self._on_document)

    def _on_document(self, event) -> None:
        if event.type.startswith("category_"):
            self._redraw_soon()
        elif event.type.startswith("annotation_") and event.value.image_id == self.labeler.image_id:
            if event.value.id == self._stroking:
                self._stroking = None  # the stroke's edit landed: draw the annotation, and only once
            self._redraw_soon()

    def _on_image_shown(self, display, shape, factor: float) -> None:
        self.canvas.set_image(display, shape, factor)
        if display is not None:
            self.redraw_annotations()
            self.redraw_prompts()
            self.redraw_candidate()

    @property
    def _display_shape(self) -> tuple[int, int] | None:
        shape = self.canvas.image_shape
        return None if shape is None else overlay.display_shape(shape, self.canvas.factor)

    def _color(self, category_id: int | None, fallback=CANDIDATE_FALLBACK) -> tuple[int, int, int]:
        if self._dataset is not None and category_id in self._dataset.categories:
            return self._dataset.categories[category_id].color
        return fallback

    def redraw_annotations(self) -> None:
        shape, image_id = self._display_shape, self.labeler.image_id
        if shape is None or self._dataset is None or image_id not in self._dataset.images:
            self.canvas.set_annotation_overlay(None)
            return
        hidden = self.labeler.hidden
        shown = [a for a in self._dataset.annotations(image_id) if a.id not in hidden and a.id != self._stroking]
        colors = {c.id: c.color for c in self._dataset.categories.values()}
        self.canvas.set_annotation_overlay(overlay.compose(shown, colors, shape, self.canvas.factor))
        self.redraw_outline()

    def redraw_stroke(self) -> None:
        """The painted annotation as the stroke leaves it, drawn instead of its old self;
        after a move only the box the move changed is redrawn."""
        refine, shape = self.labeler.refine, self._display_shape
        stroke = refine.stroke
        target = refine.stroke_target if stroke is not None else None
        if target != self._stroking:
            self._stroking = target
            self.redraw_annotations()
        if stroke is None or shape is None:
            self._preview = None
            self.canvas.set_stroke_overlay(None)
            return
        if self._preview is None or self._preview.stroke is not stroke:
            category = self.labeler.categories.current()
            if target is not None and self._dataset is not None:
                category = self._dataset.annotation(target).category_id
            self._preview = overlay.StrokePreview(stroke, self._color(category), self.canvas.factor, shape)
        else:
            changed = stroke.take_changed()
            if changed is None:
                return
            self._preview.update(changed)
        preview = self._preview
        if preview.rgba.size == 0:
            self.canvas.set_stroke_overlay(None)
        else:
            self.canvas.set_stroke_overlay(preview.rgba, QRectF(*preview.rect))

    def redraw_outline(self) -> None:
        selected, shape = self.labeler.selected_annotation, self._display_shape
        if selected is None or shape is None or self._dataset is None:
            self.canvas.set_outline([])
            return
        mask = self._dataset.annotation(selected).mask  # the labeler deselects removed annotations
        self.canvas.set_outline(overlay.outline(mask.crop, *mask.origin, self.canvas.factor, shape))

    def redraw_prompts(self) -> None:
        session = self.labeler.session
        self.canvas.prompts.show(session.points, session.labels, session.box)

    def redraw_candidate(self) -> None:
        mask, shape = self.labeler.session.selected_mask(), self._display_shape
        if mask is None or shape is None:
            self.canvas.set_candidate_overlay(None)
            return
        color = self._color(self.labeler.categories.current())
        self.canvas.set_candidate_overlay(overlay.mask_overlay(mask, color, shape, self.canvas.factor))


__all__ = ["CanvasPresenter"]
