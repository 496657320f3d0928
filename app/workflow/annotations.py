"""Deleting annotations and marking images done, as undoable (or saved) changes, and
zooming to an annotation.

Selecting and hiding annotations are view state: the widgets set them on the
labelling state directly. Zooming selects the annotation and asks the canvas
(through the state's requested view) to frame it: its mask's box, or its box
while it waits for SAM, with a margin (:func:`app.model.framing.view_around`).
"""
from __future__ import annotations

from app.model import Annotation, edits
from app.model.framing import view_around
from app.model.history import History
from app.model.labeling_state import LabelingState


class AnnotationEditor:
    def __init__(self, state: LabelingState, history: History) -> None:
        self.state, self.history = state, history

    def delete(self, annotation_id: int | None = None) -> None:
        """Delete ``annotation_id`` (default: the selected one), one undo step."""
        annotation_id = self.state.selected if annotation_id is None else annotation_id
        if self.state.dataset is not None and annotation_id is not None:
            self.history.push(edits.remove_annotation(self.state.dataset, annotation_id))

    def toggle_done(self) -> None:
        """Mark the current image done, or todo again."""
        project, image_id = self.state.project, self.state.image_id
        if project is not None and image_id is not None:
            project.set_done(image_id, not project.is_done(image_id))

    def zoom_to(self, annotation_id: int | None = None) -> bool:
        """Select ``annotation_id`` (default: the selected one) and frame it on the canvas;
        False when there is none on the current image or the image is not shown yet."""
        state = self.state
        annotation_id = state.selected if annotation_id is None else annotation_id
        dataset, shown = state.dataset, state.shown
        if dataset is None or shown is None or annotation_id is None:
            return False
        try:
            annotation = dataset.annotation(annotation_id)
        except KeyError:
            return False
        box = annotation_box(annotation)
        if annotation.image_id != state.image_id or box is None:
            return False
        state.select(annotation_id)
        aspect = None if state.view is None or state.view[3] <= 0 else state.view[2] / state.view[3]
        state.request_view(view_around(box, shown.shape, aspect))
        return True


def annotation_box(annotation: Annotation) -> tuple[float, float, float, float] | None:
    """What to frame of ``annotation``: its mask's box, or its prompt box while it waits for
    SAM (XYWH, original frame); None when it has neither."""
    if not annotation.mask.is_empty:
        return tuple(float(v) for v in annotation.bbox)
    if annotation.provenance.box is not None:
        x0, y0, x1, y1 = annotation.provenance.box
        return x0, y0, x1 - x0, y1 - y0
    return None


__all__ = ["AnnotationEditor", "annotation_box"]
