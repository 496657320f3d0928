"""The labelling state: what the user is working on right now, with events, and no Qt.

One object the controllers share (they never share each other): the open
project, the image shown, the selected and hidden annotations, the tool and its
options, the current category, the live brush stroke, whether SAM is ready, the
current image's display copy and the visible part of it (the view), and the
prompt session of the current image (:class:`~app.model.prompts.PromptSession`,
which has its own events), the vertices of the polygon being drawn, and how annotations
are shown (:class:`~app.model.view_options.ViewOptions`, with its own events too). Setters
validate, change, then emit; setting a value it already has emits nothing.

It follows the open document: an annotation that goes away (deleted, erased
away, undone) is deselected (a hidden one stays hidden should undo bring it back),
and when the current
category goes away (its creation undone) the first category becomes current.

Events (value): ``project_changed`` (Project or None), ``image_changed`` (image id
or None), ``selection_changed`` (annotation id or None), ``visibility_changed``
(annotation id), ``tool_changed`` (tool), ``radius_changed`` (radius, image pixels),
``options_changed`` (the option's name: "no_overlap" or "speck_area"),
``category_changed`` (category id or None), ``stroke_changed`` (None), ``polygon_changed``
(the vertices so far),
``sam_changed`` (:class:`SamStatus`), ``image_shown`` (:class:`ShownImage` or None: the
current image's pixels are there to draw), ``view_changed`` (the view the user moved
to, XYWH in the original frame), ``view_requested`` (a view the canvas should go to),
``image_filter_changed`` (:class:`~app.model.image_filter.ImageFilter`: which images the list
shows and next/previous visits).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from app.model.dataset import Dataset
from app.model.events import EmitterGroup, follow
from app.model.image_filter import ImageFilter
from app.model.paint import Stroke
from app.model.project import Project
from app.model.prompts import PromptSession
from app.model.view_options import ViewOptions

TOOLS = ("prompt", "brush", "eraser", "polygon")
MIN_RADIUS, MAX_RADIUS = 1.0, 512.0


@dataclass(frozen=True)
class SamStatus:
    """Whether a SAM checkpoint is loaded (``ready``), its family and variant (``title``:
    "SAM vit_b", "SAM 2.1 hiera_t", "MobileSAM vit_t") and device ("cpu"), and whether one is
    ``loading`` now (prompts given meanwhile are decoded once it is ready)."""

    ready: bool = False
    title: str = ""
    device: str = ""
    loading: bool = False


@dataclass(frozen=True)
class ShownImage:
    """The current image as the canvas draws it: ``display`` hxwx3 uint8 RGB, the image
    shrunk by ``factor`` (original pixels per display pixel, >= 1); ``shape`` the original (H, W)."""

    display: np.ndarray
    shape: tuple[int, int]
    factor: float = 1.0


View = tuple[float, float, float, float]  # x, y, width, height in the original frame


class LabelingState:
    def __init__(self, prompts: PromptSession | None = None) -> None:
        self.events = EmitterGroup(self, (
            "project_changed", "image_changed", "selection_changed", "visibility_changed", "tool_changed",
            "radius_changed", "options_changed", "category_changed", "stroke_changed", "sam_changed",
            "image_shown", "view_changed", "view_requested", "polygon_changed", "image_filter_changed",
        ))
        self.prompts = prompts if prompts is not None else PromptSession()
        self.view_options = ViewOptions()  # how the canvas shows annotations; has its own events
        self.project: Project | None = None
        self.image_id: int | None = None
        self.selected: int | None = None
        self.hidden: set[int] = set()
        self.tool = "prompt"
        self.radius = 8.0  # brush radius, original image pixels
        self.no_overlap = False
        self.speck_area = 64  # pixels: parts smaller than this are specks
        self.stroke: Stroke | None = None  # the brush stroke being drawn
        self.stroke_target: int | None = None  # the annotation it paints; None while painting a new one
        self.polygon: tuple[tuple[float, float], ...] = ()  # vertices drawn so far, original frame
        self.image_filter = ImageFilter()
        self.sam = SamStatus()
        self.shown: ShownImage | None = None
        self.view: View | None = None
        self.requested_view: View | None = None  # asked for, not yet applied by the canvas
        self._category: int | None = None
        self._dataset: Dataset | None = None

    @property
    def dataset(self) -> Dataset | None:
        return None if self.project is None else self.project.dataset

    # -- project and image ---------------------------------------------------------------------------
    def set_project(self, project: Project | None) -> None:
        """Open ``project`` (or none): no image, nothing selected or hidden, its first category."""
        self.set_stroke(None)
        self.set_polygon(())
        self.set_image(None)
        self.hidden.clear()
        self.project = project
        self._dataset = follow(self._dataset, self.dataset, self._on_document)
        self._category = None
        self.events.project_changed.emit(project)
        self.set_image_filter(ImageFilter())  # a filter is for the folder it was typed in
        self.events.category_changed.emit(self.current_category)

    def set_image_filter(self, image_filter: ImageFilter) -> None:
        """Show (and visit with next/previous) only the images ``image_filter`` passes."""
        if image_filter != self.image_filter:
            self.image_filter = image_filter
            self.events.image_filter_changed.emit(image_filter)

    def set_image(self, image_id: int | None) -> None:
        """Make ``image_id`` the image shown (None: none); deselects."""
        if image_id == self.image_id:
            return
        self.set_stroke(None)
        self.set_polygon(())
        self.select(None)
        self.image_id = image_id
        self.requested_view = None
        self.set_shown(None)
        self.events.image_changed.emit(image_id)

    def set_shown(self, shown: ShownImage | None) -> None:
        """The current image's display copy arrived (None: nothing to draw yet)."""
        if shown is None and self.shown is None:
            return
        self.shown = shown
        self.events.image_shown.emit(shown)

    def set_view(self, view: View) -> None:
        """The canvas moved to ``view`` (pan, zoom, fit)."""
        self.view = tuple(float(v) for v in view)
        self.events.view_changed.emit(self.view)

    def request_view(self, view: View) -> None:
        """Ask the canvas to show ``view`` of the current image (e.g. where the last session left
        it); it stays in ``requested_view`` until the canvas has drawn that image and applied it."""
        self.requested_view = tuple(float(v) for v in view)
        self.events.view_requested.emit(self.requested_view)

    @property
    def image_key(self) -> str | None:
        """The current image's key for the SAM worker (its path), or None."""
        return None if self.image_id is None or self.project is None else self.project.key(self.image_id)

    # -- annotations ---------------------------------------------------------------------------------
    def select(self, annotation_id: int | None) -> None:
        if annotation_id is not None and annotation_id < 0:
            annotation_id = None
        if annotation_id != self.selected:
            self.selected = annotation_id
            self.events.selection_changed.emit(annotation_id)

    def set_visible(self, annotation_id: int, visible: bool) -> None:
        if visible == (annotation_id not in self.hidden):
            return
        (self.hidden.discard if visible else self.hidden.add)(annotation_id)
        self.events.visibility_changed.emit(annotation_id)

    # -- tools ---------------------------------------------------------------------------------------
    def set_tool(self, tool: str) -> None:
        if tool not in TOOLS:
            raise ValueError(f"tool must be one of {TOOLS}, got {tool!r}")
        self.set_stroke(None)
        self.set_polygon(())
        if tool != self.tool:
            self.tool = tool
            self.events.tool_changed.emit(tool)

    def set_radius(self, radius: float) -> float:
        """Set the brush radius, clamped to [MIN_RADIUS, MAX_RADIUS]; returns what it became."""
        radius = float(min(MAX_RADIUS, max(MIN_RADIUS, radius)))
        if radius != self.radius:
            self.radius = radius
            self.events.radius_changed.emit(radius)
        return radius

    def set_no_overlap(self, on: bool) -> None:
        if bool(on) != self.no_overlap:
            self.no_overlap = bool(on)
            self.events.options_changed.emit("no_overlap")

    def set_speck_area(self, pixels: int) -> None:
        pixels = max(1, int(pixels))
        if pixels != self.speck_area:
            self.speck_area = pixels
            self.events.options_changed.emit("speck_area")

    def set_stroke(self, stroke: Stroke | None, target: int | None = None) -> None:
        """Begin (or, with None, end or cancel) the live brush stroke on ``target``."""
        if stroke is None and self.stroke is None:
            return
        self.stroke, self.stroke_target = stroke, (target if stroke is not None else None)
        self.events.stroke_changed.emit(None)

    def stroke_moved(self) -> None:
        """The live stroke grew (its pixels changed in place)."""
        self.events.stroke_changed.emit(None)

    def set_polygon(self, vertices) -> None:
        """The polygon being drawn: its (x, y) vertices so far (original frame), () for none."""
        vertices = tuple((float(x), float(y)) for x, y in vertices)
        if vertices != self.polygon:
            self.polygon = vertices
            self.events.polygon_changed.emit(vertices)

    # -- category ------------------------------------------------------------------------------------
    @property
    def current_category(self) -> int | None:
        """The category new annotations get: the chosen one, else the first (None without any)."""
        dataset = self.dataset
        if dataset is None or not dataset.categories:
            return None
        return self._category if self._category in dataset.categories else next(iter(dataset.categories))

    def set_category(self, category_id: int | None) -> None:
        dataset = self.dataset
        if category_id is None or dataset is None or category_id not in dataset.categories:
            return
        before, self._category = self.current_category, category_id
        if category_id != before:
            self.events.category_changed.emit(category_id)

    # -- SAM -----------------------------------------------------------------------------------------
    def set_sam(self, status: SamStatus) -> None:
        if status != self.sam:
            self.sam = status
            self.events.sam_changed.emit(status)

    # -- following the document ----------------------------------------------------------------------
    def _on_document(self, event) -> None:
        if event.type == "annotation_removed":
            removed = event.value.id
            if removed == self.selected:
                self.select(None)
        elif event.type == "category_removed" and event.value.id == self._category:
            self._category = None
            self.events.category_changed.emit(self.current_category)


__all__ = ["MAX_RADIUS", "MIN_RADIUS", "TOOLS", "LabelingState", "SamStatus", "ShownImage", "View"]
