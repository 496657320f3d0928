"""Keeps the canvas in step with the labeler, the prompt session and the document.

Overlays are recomposed only when what they show changes: annotations on
document events for the current image, the candidate on session events.
"""
from __future__ import annotations


from app.canvas import overlay
from app.canvas.view import CanvasView
from app.labeler import Labeler

CANDIDATE_FALLBACK = (255, 210, 40)


class CanvasPresenter:
    def __init__(self, canvas: CanvasView, labeler: Labeler) -> None:
        self.canvas, self.labeler = canvas, labeler
        self._dataset = None
        canvas.point_requested.connect(labeler.add_point)
        canvas.box_requested.connect(labeler.set_box)
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
        if self._dataset is not None:
            self._dataset.events.disconnect(self._on_document)
        self._dataset = None if project is None else project.dataset
        if self._dataset is not None:
            self._dataset.events.connect(self._on_document)

    def _on_document(self, event) -> None:
        if event.type.startswith("category_"):
            self.redraw_annotations()
        elif event.type.startswith("annotation_") and event.value.image_id == self.labeler.image_id:
            self.redraw_annotations()

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

    def redraw_annotations(self) -> None:
        shape, image_id = self._display_shape, self.labeler.image_id
        if shape is None or self._dataset is None or image_id not in self._dataset.images:
            self.canvas.set_annotation_overlay(None)
            return
        shown = [a for a in self._dataset.annotations(image_id) if a.id not in self.labeler.hidden]
        colors = {c.id: c.color for c in self._dataset.categories.values()}
        self.canvas.set_annotation_overlay(overlay.compose(shown, colors, shape, self.canvas.factor))
        self.redraw_outline()

    def redraw_outline(self) -> None:
        selected, shape = self.labeler.selected_annotation, self._display_shape
        if selected is None or shape is None or self._dataset is None:
            self.canvas.set_outline([])
            return
        try:
            mask = self._dataset.annotation(selected).mask
        except KeyError:
            self.canvas.set_outline([])
            return
        self.canvas.set_outline(overlay.outline(mask.crop, *mask.origin, self.canvas.factor, shape))

    def redraw_prompts(self) -> None:
        session = self.labeler.session
        self.canvas.prompts.show(session.points, session.labels, session.box)

    def redraw_candidate(self) -> None:
        mask, shape = self.labeler.session.selected_mask(), self._display_shape
        if mask is None or shape is None:
            self.canvas.set_candidate_overlay(None)
            return
        color = CANDIDATE_FALLBACK
        category = self.labeler.categories.current()
        if self._dataset is not None and category in self._dataset.categories:
            color = self._dataset.categories[category].color
        self.canvas.set_candidate_overlay(overlay.mask_overlay(mask, color, shape, self.canvas.factor))


__all__ = ["CanvasPresenter"]
