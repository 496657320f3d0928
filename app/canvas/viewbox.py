"""The ViewBox that turns mouse gestures into labelling intents.

Left click: positive point. Right click or Alt+left click: negative point.
Left drag: a box. Middle or right drag, or Ctrl+left drag: pan. Wheel: zoom
around the cursor (pyqtgraph's own). The view box never changes the document:
it only emits intents in the original image frame.
"""
from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QPen
from PySide6.QtWidgets import QGraphicsRectItem


class LabelViewBox(pg.ViewBox):
    point_requested = Signal(float, float, bool)  # x, y (original pixels), positive
    box_requested = Signal(float, float, float, float)  # XYXY, original pixels

    def __init__(self) -> None:
        super().__init__(invertY=True, lockAspect=True, enableMenu=False, defaultPadding=0.02)
        self._drag_start: QPointF | None = None
        self._preview = QGraphicsRectItem()
        pen = QPen(Qt.yellow)
        pen.setCosmetic(True)
        pen.setWidth(2)
        pen.setStyle(Qt.DashLine)
        self._preview.setPen(pen)
        self._preview.setZValue(100)
        self._preview.hide()
        self.addItem(self._preview, ignoreBounds=True)

    def mouseClickEvent(self, ev) -> None:
        if ev.button() not in (Qt.LeftButton, Qt.RightButton):
            return super().mouseClickEvent(ev)
        ev.accept()
        p = self.mapSceneToView(ev.scenePos())
        negative = ev.button() == Qt.RightButton or bool(ev.modifiers() & Qt.AltModifier)
        self.point_requested.emit(p.x(), p.y(), not negative)

    def mouseDragEvent(self, ev, axis=None) -> None:
        ev.accept()
        box_gesture = ev.button() == Qt.LeftButton and not (ev.modifiers() & Qt.ControlModifier)
        if not box_gesture:
            last, now = self.mapSceneToView(ev.lastScenePos()), self.mapSceneToView(ev.scenePos())
            self.translateBy(x=last.x() - now.x(), y=last.y() - now.y())
            return
        start = self.mapSceneToView(ev.buttonDownScenePos())
        now = self.mapSceneToView(ev.scenePos())
        rect = QRectF(start, now).normalized()
        if ev.isFinish():
            self._preview.hide()
            if rect.width() >= 2 and rect.height() >= 2:
                self.box_requested.emit(rect.left(), rect.top(), rect.right(), rect.bottom())
        else:
            self._preview.setRect(rect)
            self._preview.show()
