"""Keeps the canvas in step with the labelling state and the document, and sends the canvas's
gestures on as intents (prompts to :class:`~app.workflow.prompting.Prompting`, strokes to
:class:`~app.workflow.brush.Brush`).

Annotations are drawn by an :class:`~app.ui.canvas.annotation_layer.AnnotationLayer` per
image, which each document event changes in place (only the changed annotation's box);
the canvas is sent the changed tiles once per undoable step. The layers of the last
images shown are kept, and kept up to date, so coming back to one costs nothing. The
candidate is redrawn on prompt-session events, the live stroke on each brush movement
(only the box the movement changed). The view options (opacity, hide all, outlines,
colour by category or instance) are applied as they change. The view the user pans and
zooms to goes into the state; a view the state asks for (the last session's) is applied.
"""
from __future__ import annotations

from collections import OrderedDict

from PySide6.QtCore import QRectF

from app.model import Annotation
from app.model.events import follow
from app.model.history import History
from app.model.labeling_state import LabelingState
from app.ui.canvas import overlay
from app.ui.canvas.annotation_layer import AnnotationLayer
from app.ui.canvas.view import CanvasView
from app.ui.canvas.waiting_boxes import WaitingBoxes
from app.ui.deferrable import Deferrable
from app.workflow.brush import Brush
from app.workflow.prompting import Prompting

CANDIDATE_FALLBACK = (255, 210, 40)
KEPT_LAYERS = 2  # the image shown and the one before it: going back and forth is free


class CanvasPresenter:
    def __init__(self, canvas: CanvasView, state: LabelingState, history: History, prompting: Prompting,
                 brush: Brush) -> None:
        self.canvas, self.state = canvas, state
        self.options = state.view_options
        self._dataset = None
        self._drawn = None  # the ShownImage on the canvas
        self._layers: OrderedDict[int, AnnotationLayer] = OrderedDict()  # image id -> layer, last shown last
        self._shown_layer: AnnotationLayer | None = None  # the one on the canvas
        self._stroking: int | None = None  # annotation hidden from the overlay while painted
        self._preview: overlay.StrokePreview | None = None  # the live stroke, display frame
        self._flush_soon = Deferrable(self._flush)  # once per command, not once per event
        self._waiting = WaitingBoxes(canvas.view_box)  # imported boxes SAM has not made masks of yet
        self._boxes_stale = False  # a box waiting for SAM came, went or changed since the last flush
        history.events.applying.connect(lambda event: self._flush_soon.hold(event.value))
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
        events.visibility_changed.connect(lambda event: self._on_visibility(event.value))
        events.selection_changed.connect(lambda _e: self.redraw_outline())
        events.category_changed.connect(lambda _e: self.redraw_candidate())
        events.view_requested.connect(lambda _e: self._apply_requested_view())
        self.options.events.changed.connect(lambda event: self._on_option(event.value))
        session = state.prompts
        session.events.prompts_changed.connect(lambda _e: self.redraw_prompts())
        session.events.candidates_changed.connect(lambda _e: self.redraw_candidate())
        session.events.selection_changed.connect(lambda _e: self.redraw_candidate())
        canvas.set_tool(state.tool, state.radius)
        self._apply_style()

    # -- following the document -----------------------------------------------------------------------
    def _on_project(self, project) -> None:
        self._layers.clear()
        self._shown_layer = None
        self._dataset = follow(self._dataset, None if project is None else project.dataset, self._on_document)

    def _on_document(self, event) -> None:
        kind = event.type
        if kind.startswith("annotation_") and (event.value.waits_for_sam
                                               or getattr(getattr(event, "old", None), "waits_for_sam", False)):
            self._boxes_stale = True
        if kind == "annotation_added":
            self._show_annotation(event.value)
        elif kind == "annotation_removed":
            layer = self._layers.get(event.value.image_id)
            if layer is not None:
                layer.remove(event.value.id)
        elif kind == "annotation_changed":
            annotation = event.value
            layer = self._layers.get(annotation.image_id)
            if annotation.id == self._stroking:
                self._stroking = None  # the stroke's edit landed: draw the annotation, and only once
                self._show_annotation(annotation)
            elif layer is not None:
                layer.update(annotation, self._annotation_color(annotation))
            if annotation.id == self.state.selected:
                self.redraw_outline()
        elif kind == "category_changed":
            if event.value.color != event.old.color and self.options.color_by == "category":
                for layer in self._layers.values():
                    layer.recolor(self._color_by_id)
            self.redraw_candidate()
        elif kind == "image_removed":
            layer = self._layers.pop(event.value.id, None)
            if layer is not None and layer is self._shown_layer:
                self._shown_layer = None
        else:
            return
        self._flush_soon()

    def _shown(self, annotation_id: int) -> bool:
        """Whether an annotation belongs in its image's layer: not hidden, not being painted."""
        return annotation_id not in self.state.hidden and annotation_id != self._stroking

    def _show_annotation(self, annotation: Annotation) -> None:
        layer = self._layers.get(annotation.image_id)
        if layer is not None and self._shown(annotation.id):
            layer.add(annotation, self._annotation_color(annotation))

    def _existing(self, annotation_id: int | None) -> Annotation | None:
        if self._dataset is None or annotation_id is None:
            return None
        try:
            return self._dataset.annotation(annotation_id)
        except KeyError:
            return None

    def _on_visibility(self, annotation_id: int) -> None:
        annotation = self._existing(annotation_id)
        if annotation is None:
            return  # a hidden annotation that was deleted: nothing drawn either way
        layer = self._layers.get(annotation.image_id)
        if layer is None:
            return
        if self._shown(annotation_id):
            layer.add(annotation, self._annotation_color(annotation))
        else:
            layer.remove(annotation_id)
        self._boxes_stale |= annotation.waits_for_sam
        self._flush_soon()

    def _flush(self) -> None:
        layer = self._shown_layer
        if layer is not None and layer.pending:
            self.canvas.refresh_annotations(layer.flush())
        if self._boxes_stale:
            self._boxes_stale = False
            self.redraw_waiting_boxes()

    # -- colours and view options ---------------------------------------------------------------------
    def _annotation_color(self, annotation: Annotation) -> tuple[int, int, int]:
        if self.options.color_by == "instance":
            return overlay.instance_color(annotation.id)
        return self._color(annotation.category_id, fallback=(255, 0, 0))

    def _color_by_id(self, annotation_id: int) -> tuple[int, int, int]:
        return self._annotation_color(self._dataset.annotation(annotation_id))

    def _outline_width(self, layer: AnnotationLayer) -> int:
        return overlay.outline_width(layer.shape) if self.options.outline_only else 0

    def _on_option(self, name: str) -> None:
        if name in ("opacity", "hide_all"):
            self._apply_style()
            return
        for layer in self._layers.values():
            if name == "outline_only":
                layer.set_outline(self._outline_width(layer))
            else:
                layer.recolor(self._color_by_id)
        self._flush_soon()

    def _apply_style(self) -> None:
        options = self.options
        self.canvas.set_annotation_style(options.opacity, not options.hide_all)
        self.canvas.stroke_item.setOpacity(options.opacity)

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
        """Put the current image's layer on the canvas, made from its annotations when it is
        not kept (the one whole-image pass: after that, changes update it in place)."""
        shape, image_id = self._display_shape, self.state.image_id
        if shape is None or self._dataset is None or image_id not in self._dataset.images:
            self._shown_layer = None
            self.canvas.set_annotation_overlay(None)
            self._waiting.show([])
            return
        layer = self._layers.get(image_id)
        if layer is None or layer.shape != shape or layer.factor != self.canvas.factor:
            layer = AnnotationLayer(shape, self.canvas.factor, self._dataset.order_key)
            layer.set_outline(self._outline_width(layer))
            layer.add_all((a, self._annotation_color(a)) for a in self._dataset.annotations(image_id)
                          if self._shown(a.id))
            self._layers[image_id] = layer
        self._layers.move_to_end(image_id)
        while len(self._layers) > KEPT_LAYERS:
            self._layers.popitem(last=False)
        changed = layer.flush()
        self._shown_layer = layer
        if self.canvas.set_annotation_overlay(layer.rgba):  # its tiles were kept: send only what changed
            self.canvas.refresh_annotations(changed)
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
            before, self._stroking = self._stroking, target
            layer = self._layers.get(state.image_id)
            if layer is not None:
                if target is not None:
                    layer.remove(target)
                restored = self._existing(before)
                if restored is not None:  # a cancelled stroke: the annotation as it was
                    self._show_annotation(restored)
                self._flush_soon()
        if stroke is None or shape is None:
            self._preview = None
            self.canvas.set_stroke_overlay(None)
            return
        if self._preview is None or self._preview.stroke is not stroke:
            painted = self._existing(target)
            color = self._color(state.current_category) if painted is None else self._annotation_color(painted)
            # Opaque: the stroke item has the annotations' opacity, so the painted one looks the same.
            self._preview = overlay.StrokePreview(stroke, color, self.canvas.factor, shape, alpha=255)
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
        patch = None
        if mask is not None and shape is not None:
            patch = overlay.mask_patch(mask, self._color(self.state.current_category), shape, self.canvas.factor)
        if patch is None:
            self.canvas.set_candidate_overlay(None)
        else:
            self.canvas.set_candidate_overlay(patch[0], QRectF(*patch[1]))


__all__ = ["CanvasPresenter"]
