"""The ViewBox that turns mouse gestures into labelling intents.

Prompt tool: left click is a positive point; right click or Alt+left click a
negative one; left drag a box. Brush and eraser tools: left click paints one
disc, left drag paints a stroke, Shift+left drag a straight line from where the
drag began. Polygon tool: left click adds a vertex, and a click within
``CLOSE_PX`` screen pixels of the first vertex (of three or more) closes the polygon;
a left drag pans. Always: middle or right drag, or Ctrl+left drag, pans; the wheel
zooms around the cursor (pyqtgraph's own). The view box never changes the
document: it only emits intents in the original image frame.
"""
from __future__ import annotations

import math

import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QPen
from PySide6.QtWidgets import QGraphicsRectItem

PAINT_TOOLS = ("brush", "eraser")
CLOSE_PX = 10.0  # screen pixels: how near the first vertex a click closes the polygon


class LabelViewBox(pg.ViewBox):
    point_requested = Signal(float, float, bool)  # x, y (original pixels), positive
    box_requested = Signal(float, float, float, float)  # XYXY, original pixels
    stroke_started = Signal(float, float)  # x, y (original pixels)
    stroke_moved = Signal(float, float, bool)  # x, y, straight (a line from the start)
    stroke_finished = Signal()
    vertex_requested = Signal(float, float)  # x, y (original pixels): the polygon's next vertex
    polygon_close_requested = Signal()

    def __init__(self) -> None:
        super().__init__(invertY=True, lockAspect=True, enableMenu=False, defaultPadding=0.02)
        self.tool = "prompt"
        self.polygon: tuple[tuple[float, float], ...] = ()  # the vertices drawn so far, original frame
        self._preview = QGraphicsRectItem()
        pen = QPen(Qt.yellow)
        pen.setCosmetic(True)
        pen.setWidth(2)
        pen.setStyle(Qt.DashLine)
        self._preview.setPen(pen)
        self._preview.setZValue(100)
        self._preview.hide()
        self.addItem(self._preview, ignoreBounds=True)

    @property
    def painting(self) -> bool:
        return self.tool in PAINT_TOOLS

    def mouseClickEvent(self, ev) -> None:
        if ev.button() not in (Qt.LeftButton, Qt.RightButton):
            return super().mouseClickEvent(ev)
        ev.accept()
        p = self.mapSceneToView(ev.scenePos())
        if self.tool == "polygon":
            if ev.button() == Qt.LeftButton:
                self._polygon_click(ev.scenePos(), p)
            return
        if self.painting:
            if ev.button() == Qt.LeftButton:
                self.stroke_started.emit(p.x(), p.y())
                self.stroke_finished.emit()
            return
        negative = ev.button() == Qt.RightButton or bool(ev.modifiers() & Qt.AltModifier)
        self.point_requested.emit(p.x(), p.y(), not negative)

    def mouseDragEvent(self, ev, axis=None) -> None:
        ev.accept()
        left = ev.button() == Qt.LeftButton and not (ev.modifiers() & Qt.ControlModifier)
        if not left:
            last, now = self.mapSceneToView(ev.lastScenePos()), self.mapSceneToView(ev.scenePos())
            self.translateBy(x=last.x() - now.x(), y=last.y() - now.y())
            return
        start = self.mapSceneToView(ev.buttonDownScenePos())
        now = self.mapSceneToView(ev.scenePos())
        if self.tool == "polygon":
            last = self.mapSceneToView(ev.lastScenePos())
            self.translateBy(x=last.x() - now.x(), y=last.y() - now.y())
        elif self.painting:
            self._stroke(ev, start, now)
        else:
            self._box(ev, start, now)

    def _polygon_click(self, scene_pos: QPointF, p: QPointF) -> None:
        if len(self.polygon) >= 3:
            first = self.mapViewToScene(QPointF(*self.polygon[0]))
            if math.hypot(first.x() - scene_pos.x(), first.y() - scene_pos.y()) <= CLOSE_PX:
                self.polygon_close_requested.emit()
                return
        self.vertex_requested.emit(p.x(), p.y())

    def _stroke(self, ev, start: QPointF, now: QPointF) -> None:
        if ev.isStart():
            self.stroke_started.emit(start.x(), start.y())
        self.stroke_moved.emit(now.x(), now.y(), bool(ev.modifiers() & Qt.ShiftModifier))
        if ev.isFinish():
            self.stroke_finished.emit()

    def _box(self, ev, start: QPointF, now: QPointF) -> None:
        rect = QRectF(start, now).normalized()
        if ev.isFinish():
            self._preview.hide()
            if rect.width() >= 2 and rect.height() >= 2:
                self.box_requested.emit(rect.left(), rect.top(), rect.right(), rect.bottom())
        else:
            self._preview.setRect(rect)
            self._preview.show()
