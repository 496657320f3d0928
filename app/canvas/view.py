"""The canvas widget: image, annotation overlay, candidate overlay, outline, prompts.

Everything is placed in the original image frame (x = column, y = row, pixel
(c, r) covers [c, c+1) x [r, r+1)), whatever the resolution of the display copy.
``setImage`` is called only when pixels change.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QPainterPath, QPen, QPolygonF
from PySide6.QtWidgets import QGraphicsPathItem

from app.canvas.prompt_items import PromptItems
from app.canvas.viewbox import LabelViewBox


def _image_item(z: float) -> pg.ImageItem:
    item = pg.ImageItem(axisOrder="row-major")
    item.setZValue(z)
    return item


class CanvasView(pg.GraphicsView):
    """Shows one image with its masks; re-emits the view box's intents."""

    point_requested = Signal(float, float, bool)
    box_requested = Signal(float, float, float, float)

    def __init__(self, parent=None) -> None:
        super().__init__(parent, background=QColor(40, 40, 44))
        self.view_box = LabelViewBox()
        self.setCentralItem(self.view_box)
        self.image_item = _image_item(0)
        self.annotation_item = _image_item(10)
        self.candidate_item = _image_item(20)
        for item in (self.image_item, self.annotation_item, self.candidate_item):
            self.view_box.addItem(item)
        self.outline_item = QGraphicsPathItem()
        pen = QPen(QColor(255, 255, 255))
        pen.setCosmetic(True)
        pen.setWidth(2)
        self.outline_item.setPen(pen)
        self.outline_item.setZValue(30)
        self.view_box.addItem(self.outline_item, ignoreBounds=True)
        self.prompts = PromptItems(self.view_box)
        self.image_shape: tuple[int, int] | None = None  # (H, W), original frame
        self.factor = 1.0
        self.view_box.point_requested.connect(self._on_point)
        self.view_box.box_requested.connect(self.box_requested)
        self.setFocusPolicy(Qt.StrongFocus)

    def _on_point(self, x: float, y: float, positive: bool) -> None:
        if self.image_shape is not None and 0 <= x < self.image_shape[1] and 0 <= y < self.image_shape[0]:
            self.point_requested.emit(x, y, positive)

    # -- content --------------------------------------------------------------------------------------
    def set_image(self, display: np.ndarray | None, shape: tuple[int, int] | None = None, factor: float = 1.0) -> None:
        """Show ``display`` (hxwx3 uint8, the image shrunk by ``factor``) for an image of ``shape`` (H, W)."""
        self.clear_overlays()
        if display is None:
            self.image_shape = None
            self.image_item.clear()
            return
        self.image_shape, self.factor = tuple(shape or display.shape[:2]), factor
        self.image_item.setImage(display, autoLevels=False, levels=(0, 255))
        rect = QRectF(0, 0, self.image_shape[1], self.image_shape[0])
        for item in (self.image_item, self.annotation_item, self.candidate_item):
            item.setRect(rect)
        self.fit()

    def set_annotation_overlay(self, rgba: np.ndarray | None) -> None:
        self._set_rgba(self.annotation_item, rgba)

    def set_candidate_overlay(self, rgba: np.ndarray | None) -> None:
        self._set_rgba(self.candidate_item, rgba)

    def _set_rgba(self, item: pg.ImageItem, rgba: np.ndarray | None) -> None:
        if rgba is None:
            item.clear()
            return
        item.setImage(rgba, autoLevels=False, levels=(0, 255))
        if self.image_shape is not None:
            item.setRect(QRectF(0, 0, self.image_shape[1], self.image_shape[0]))

    def set_outline(self, lines: list[np.ndarray]) -> None:
        """Polylines (Kx2, original frame) around the selected annotation."""
        path = QPainterPath()
        for line in lines:
            # Plain floats: numpy scalars through PySide6 here corrupted refcounts (6.12).
            path.addPolygon(QPolygonF([QPointF(x, y) for x, y in np.asarray(line, dtype=float).tolist()]))
        self.outline_item.setPath(path)

    def clear_overlays(self) -> None:
        self.annotation_item.clear()
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
