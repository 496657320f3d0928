"""Keeps the canvas in step with the labelling state and the document, and sends the canvas's
gestures on as intents (prompts to :class:`~app.workflow.prompting.Prompting`, strokes to
:class:`~app.workflow.brush.Brush`).

Overlays are recomposed only when what they show changes: annotations on
document events for the current image (once per undoable step), the candidate on
prompt-session events, the live stroke on each brush movement (only the box the
movement changed). The view the user pans and zooms to goes into the state; a
view the state asks for (the last session's) is applied.
"""
from __future__ import annotations

from PySide6.QtCore import QRectF

from app.model.events import follow
from app.model.history import History
from app.model.labeling_state import LabelingState
from app.ui.canvas import overlay
from app.ui.canvas.view import CanvasView
from app.ui.canvas.waiting_boxes import WaitingBoxes
from app.ui.deferrable import Deferrable
from app.workflow.brush import Brush
from app.workflow.prompting import Prompting

CANDIDATE_FALLBACK = (255, 210, 40)


class CanvasPresenter:
    def __init__(self, canvas: CanvasView, state: LabelingState, history: History, prompting: Prompting,
                 brush: Brush) -> None:
        self.canvas, self.state = canvas, state
        self._dataset = None
        self._drawn = None  # the ShownImage on the canvas
        self._stroking: int | None = None  # annotation hidden from the overlay while painted
        self._preview: overlay.StrokePreview | None = None  # the live stroke, display frame
        self._redraw_soon = Deferrable(self.redraw_annotations)  # once per command, not once per event
        self._waiting = WaitingBoxes(canvas.view_box)  # imported boxes SAM has not made masks of yet
        history.events.applying.connect(lambda event: self._redraw_soon.hold(event.value))
        canvas.point_requested.connect(prompting.add_point)
        canvas.box_requested.connect(prompting.set_box)
        canvas.stroke_started.connect(brush.begin_stroke)
        canvas.stroke_moved.connect(brush.extend_stroke)
        canvas.stroke_finished.connect(brush.end_stroke)
        canvas.view_box.sigRangeChanged.connect(self._on_range)
        events = state.events
        events.stroke_changed.connect(lambda _e: self.redraw_stroke())
        events.tool_changed.connect(lambda _e: canvas.set_tool(state.tool, state.radius))
        events.radius_changed.connect(lambda _e: canvas.set_tool(state.tool, state.radius))
        events.image_shown.connect(lambda event: self._on_image_shown(event.value))
        events.project_changed.connect(lambda event: self._on_project(event.value))
        events.visibility_changed.connect(lambda _e: self.redraw_annotations())
        events.selection_changed.connect(lambda _e: self.redraw_outline())
        events.category_changed.connect(lambda _e: self.redraw_candidate())
        events.view_requested.connect(lambda _e: self._apply_requested_view())
        session = state.prompts
        session.events.prompts_changed.connect(lambda _e: self.redraw_prompts())
        session.events.candidates_changed.connect(lambda _e: self.redraw_candidate())
        session.events.selection_changed.connect(lambda _e: self.redraw_candidate())
        canvas.set_tool(state.tool, state.radius)

    def _on_project(self, project) -> None:
        self._dataset = follow(self._dataset, None if project is None else project.dataset, self._on_document)

    def _on_document(self, event) -> None:
        if event.type.startswith("category_"):
            self._redraw_soon()
        elif event.type.startswith("annotation_") and event.value.image_id == self.state.image_id:
            if event.value.id == self._stroking:
                self._stroking = None  # the stroke's edit landed: draw the annotation, and only once
            self._redraw_soon()

    def _on_image_shown(self, shown) -> None:
        self._drawn = shown
        if shown is None:
            self.canvas.set_image(None)
            return
        self.canvas.set_image(shown.display, shown.shape, shown.factor)
        self.redraw_annotations()
        self.redraw_prompts()
        self.redraw_candidate()
        self._apply_requested_view()

    def _on_range(self, *_args) -> None:
        if self.canvas.image_shape is not None:
            rect = self.canvas.view_box.viewRect()
            self.state.set_view((rect.x(), rect.y(), rect.width(), rect.height()))

    def _apply_requested_view(self) -> None:
        """Go to the view the state asks for, once the current image is on the canvas (which
        fits it first: whichever of the two arrives last, the requested view wins)."""
        view = self.state.requested_view
        if view is None or self._drawn is None or self._drawn is not self.state.shown:
            return
        self.state.requested_view = None
        x, y, w, h = view
        self.canvas.view_box.setRange(QRectF(x, y, w, h), padding=0)

    @property
    def _display_shape(self) -> tuple[int, int] | None:
        shape = self.canvas.image_shape
        return None if shape is None else overlay.display_shape(shape, self.canvas.factor)

    def _color(self, category_id: int | None, fallback=CANDIDATE_FALLBACK) -> tuple[int, int, int]:
        if self._dataset is not None and category_id in self._dataset.categories:
            return self._dataset.categories[category_id].color
        return fallback

    def redraw_annotations(self) -> None:
        shape, image_id = self._display_shape, self.state.image_id
        if shape is None or self._dataset is None or image_id not in self._dataset.images:
            self.canvas.set_annotation_overlay(None)
            self._waiting.show([])
            return
        hidden = self.state.hidden
        shown = [a for a in self._dataset.annotations(image_id) if a.id not in hidden and a.id != self._stroking]
        colors = {c.id: c.color for c in self._dataset.categories.values()}
        self.canvas.set_annotation_overlay(overlay.compose(shown, colors, shape, self.canvas.factor))
        self.redraw_outline()

    def redraw_waiting_boxes(self) -> None:
        image_id, dataset = self.state.image_id, self._dataset
        if self._display_shape is None or dataset is None or image_id not in dataset.images:
            self._waiting.show([])
            return
        boxes = [a for a in dataset.annotations(image_id) if a.waits_for_sam and a.id not in self.state.hidden]
        self._waiting.show([(a.provenance.box, self._color(a.category_id), a.id == self.state.selected) for a in boxes])

    def redraw_stroke(self) -> None:
        """The painted annotation as the stroke leaves it, drawn instead of its old self;
        after a move only the box the move changed is redrawn."""
        state, shape = self.state, self._display_shape
        stroke = state.stroke
        target = state.stroke_target if stroke is not None else None
        if target != self._stroking:
            self._stroking = target
            self.redraw_annotations()
        if stroke is None or shape is None:
            self._preview = None
            self.canvas.set_stroke_overlay(None)
            return
        if self._preview is None or self._preview.stroke is not stroke:
            category = state.current_category
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
        selected, shape = self.state.selected, self._display_shape
        self.redraw_waiting_boxes()  # a selected waiting box is drawn solid
        if selected is None or shape is None or self._dataset is None:
            self.canvas.set_outline([])
            return
        mask = self._dataset.annotation(selected).mask  # the state deselects removed annotations
        if mask.is_empty:  # a box waiting for SAM: its rectangle shows it
            self.canvas.set_outline([])
            return
        self.canvas.set_outline(overlay.outline(mask.crop, *mask.origin, self.canvas.factor, shape))

    def redraw_prompts(self) -> None:
        session = self.state.prompts
        self.canvas.prompts.show(session.points, session.labels, session.box)

    def redraw_candidate(self) -> None:
        mask, shape = self.state.prompts.selected_mask(), self._display_shape
        if mask is None or shape is None:
            self.canvas.set_candidate_overlay(None)
            return
        color = self._color(self.state.current_category)
        self.canvas.set_candidate_overlay(overlay.mask_overlay(mask, color, shape, self.canvas.factor))


__all__ = ["CanvasPresenter"]
