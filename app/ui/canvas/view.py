"""The canvas widget: image, annotation overlay, stroke preview, candidate overlay,
outline, prompts, and the brush footprint under the cursor.

Everything is placed in the original image frame (x = column, y = row, pixel
(c, r) covers [c, c+1) x [r, r+1)), whatever the resolution of the display copy.
``setImage`` is called only when pixels change: the annotation overlay is tiled
(:class:`~app.ui.canvas.tiles.TiledOverlay`) and the candidate and the stroke are
patches over their own boxes, so a change sends Qt only the pixels around it.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QPainterPath, QPen, QPolygonF
from PySide6.QtWidgets import QGraphicsEllipseItem, QGraphicsPathItem

from app.ui.canvas.prompt_items import PromptItems
from app.ui.canvas.tiles import TiledOverlay
from app.ui.canvas.viewbox import LabelViewBox


def _image_item(z: float) -> pg.ImageItem:
    item = pg.ImageItem(axisOrder="row-major")
    item.setZValue(z)
    return item


class CanvasView(pg.GraphicsView):
    """Shows one image with its masks; re-emits the view box's intents."""

    point_requested = Signal(float, float, bool)
    box_requested = Signal(float, float, float, float)
    stroke_started = Signal(float, float)
    stroke_moved = Signal(float, float, bool)
    stroke_finished = Signal()

    def __init__(self, parent=None) -> None:
        super().__init__(parent, background=QColor(40, 40, 44))
        self.view_box = LabelViewBox()
        self.setCentralItem(self.view_box)
        self.image_item = _image_item(0)
        self.view_box.addItem(self.image_item)
        self.annotations = TiledOverlay(self.view_box, 10)
        self.stroke_item = _image_item(15)  # the annotation being painted, live
        self.candidate_item = _image_item(20)
        for item in (self.stroke_item, self.candidate_item):
            self.view_box.addItem(item, ignoreBounds=True)
        self.outline_item = self._line_item(QGraphicsPathItem(), 2, 30)
        self.prompts = PromptItems(self.view_box)
        self.footprint = self._line_item(QGraphicsEllipseItem(), 1, 60)
        self.footprint.hide()
        self.brush_radius = 8.0  # original pixels
        self.image_shape: tuple[int, int] | None = None  # (H, W), original frame
        self.factor = 1.0
        self.view_box.point_requested.connect(self._on_point)
        self.view_box.box_requested.connect(self.box_requested)
        self.view_box.stroke_started.connect(self._on_stroke_started)
        self.view_box.stroke_moved.connect(self.stroke_moved)
        self.view_box.stroke_finished.connect(self.stroke_finished)
        self.scene().sigMouseMoved.connect(self._on_mouse_moved)
        self.setFocusPolicy(Qt.StrongFocus)

    def _on_point(self, x: float, y: float, positive: bool) -> None:
        if self.image_shape is not None and 0 <= x < self.image_shape[1] and 0 <= y < self.image_shape[0]:
            self.point_requested.emit(x, y, positive)

    def _line_item(self, item, width: int, z: float):
        """``item`` drawn as a white line ``width`` screen pixels wide at any zoom, added to the view."""
        pen = QPen(QColor(255, 255, 255))
        pen.setCosmetic(True)
        pen.setWidth(width)
        item.setPen(pen)
        item.setZValue(z)
        self.view_box.addItem(item, ignoreBounds=True)
        return item

    def _on_stroke_started(self, x: float, y: float) -> None:
        if self.image_shape is not None:
            self.stroke_started.emit(x, y)

    # -- tools ----------------------------------------------------------------------------------------
    def set_tool(self, tool: str, radius: float) -> None:
        """``tool``: "prompt", "brush", "eraser" or "polygon"; ``radius`` of the brush in original pixels."""
        self.view_box.tool, self.brush_radius = tool, float(radius)
        precise = self.view_box.painting or tool == "polygon"
        self.viewport().setCursor(Qt.CrossCursor if precise else Qt.ArrowCursor)
        if not self.view_box.painting:
            self.footprint.hide()
        elif self.footprint.isVisible():
            self._place_footprint(self.footprint.rect().center())

    def _on_mouse_moved(self, scene_pos) -> None:
        if self.view_box.painting and self.image_shape is not None:
            self._place_footprint(self.view_box.mapSceneToView(scene_pos))

    def _place_footprint(self, centre: QPointF) -> None:
        """The brush's disc around ``centre`` (original frame): the pixels a click would paint."""
        r = self.brush_radius
        self.footprint.setRect(QRectF(centre.x() - r, centre.y() - r, 2 * r, 2 * r))
        self.footprint.show()

    # -- content --------------------------------------------------------------------------------------
    def set_image(self, display: np.ndarray | None, shape: tuple[int, int] | None = None, factor: float = 1.0) -> None:
        """Show ``display`` (hxwx3 uint8, the image shrunk by ``factor``) for an image of ``shape`` (H, W)."""
        self.clear_overlays()
        if display is None:
            self.image_shape = None
            self.image_item.clear()
            return
        self.image_shape, self.factor = tuple(shape or display.shape[:2]), factor
        self.image_item.setImage(display, autoLevels=False, levels=None)  # uint8 shown as is: no per-pixel rescale
        self.image_item.setRect(QRectF(0, 0, self.image_shape[1], self.image_shape[0]))
        self.fit()

    def set_annotation_overlay(self, rgba: np.ndarray | None) -> bool:
        """Show ``rgba`` (hxwx4 uint8, the display frame) over the image; the array is read
        again, tile by tile, by :meth:`refresh_annotations`. True when its tiles were kept
        from when it was last shown: refresh what changed since."""
        size = None if self.image_shape is None else (self.image_shape[1], self.image_shape[0])
        return self.annotations.set_source(rgba, size)

    def refresh_annotations(self, boxes) -> None:
        """The annotation overlay changed in these display boxes (x0, y0, x1, y1)."""
        self.annotations.refresh(boxes)

    def annotation_image(self) -> np.ndarray | None:
        """The annotation overlay as shown (hxwx4 uint8, display frame), or None."""
        return self.annotations.image()

    def set_annotation_style(self, opacity: float, visible: bool) -> None:
        """The annotation overlay's opacity (0..1) and whether it is shown at all."""
        self.annotations.group.setOpacity(opacity)
        self.annotations.group.setVisible(visible)

    def set_candidate_overlay(self, rgba: np.ndarray | None, rect: QRectF | None = None) -> None:
        """The shown candidate: an RGBA patch placed over ``rect`` (original frame)."""
        self._set_rgba(self.candidate_item, rgba, rect)

    def set_stroke_overlay(self, rgba: np.ndarray | None, rect: QRectF | None = None) -> None:
        """The live stroke: an RGBA patch placed over ``rect`` (original frame)."""
        self._set_rgba(self.stroke_item, rgba, rect)

    def _set_rgba(self, item: pg.ImageItem, rgba: np.ndarray | None, rect: QRectF | None = None) -> None:
        if rgba is None:
            item.clear()
            return
        item.setImage(rgba, autoLevels=False, levels=None)  # no levels: RGBA uint8 is shown as is, no conversion
        if rect is not None:
            item.setRect(rect)
        elif self.image_shape is not None:
            item.setRect(QRectF(0, 0, self.image_shape[1], self.image_shape[0]))

    def set_outline(self, lines: list[np.ndarray]) -> None:
        """Polylines (Kx2, original frame) around the selected annotation."""
        path = QPainterPath()
        for line in lines:
            # Plain floats: numpy scalars through PySide6 here corrupted refcounts (6.12).
            path.addPolygon(QPolygonF([QPointF(x, y) for x, y in np.asarray(line, dtype=float).tolist()]))
        self.outline_item.setPath(path)

    def clear_overlays(self) -> None:
        self.annotations.set_source(None)
        self.stroke_item.clear()
        self.candidate_item.clear()
        self.set_outline([])
        self.prompts.show(np.zeros((0, 2)), np.zeros(0), None)

    # -- navigation -----------------------------------------------------------------------------------
    def fit(self) -> None:
        if self.image_shape is not None:
            h, w = self.image_shape
            self.view_box.setRange(QRectF(0, 0, w, h), padding=0.02)

    def zoom(self, factor: float) -> None:
        """Zoom in (factor > 1) around the cursor when it is over the view, else the centre."""
        cursor = self.mapFromGlobal(self.cursor().pos())
        if self.rect().contains(cursor):
            center = self.view_box.mapSceneToView(self.mapToScene(cursor))
        else:
            center = self.view_box.viewRect().center()
        self.view_box.scaleBy(s=(1 / factor, 1 / factor), center=center)

    def pan(self, dx: float, dy: float) -> None:
        """Pan by fractions of the visible width/height."""
        rect = self.view_box.viewRect()
        self.view_box.translateBy(x=dx * rect.width(), y=dy * rect.height())
