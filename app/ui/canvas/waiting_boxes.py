"""Dashed rectangles for the boxes waiting for SAM (imported detection boxes), in their category's colour."""
from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QPen
from PySide6.QtWidgets import QGraphicsRectItem


class WaitingBoxes:
    """Owns one rectangle item per waiting box on one ViewBox; :meth:`show` redraws them all."""

    def __init__(self, view_box: pg.ViewBox) -> None:
        self.view_box = view_box
        self.items: list[QGraphicsRectItem] = []

    def show(self, boxes: list[tuple[tuple[float, float, float, float], tuple[int, int, int], bool]]) -> None:
        """``boxes``: (XYXY in the original frame, RGB, selected) each."""
        while len(self.items) < len(boxes):
            item = QGraphicsRectItem()
            item.setZValue(48)
            self.view_box.addItem(item, ignoreBounds=True)
            self.items.append(item)
        for item, (box, color, selected) in zip(self.items, boxes):
            pen = QPen(QColor(*color))
            pen.setCosmetic(True)
            pen.setWidth(3 if selected else 2)
            pen.setStyle(Qt.SolidLine if selected else Qt.DashLine)
            item.setPen(pen)
            x0, y0, x1, y1 = box
            item.setRect(QRectF(x0, y0, x1 - x0, y1 - y0))
            item.show()
        for item in self.items[len(boxes):]:
            item.hide()


__all__ = ["WaitingBoxes"]
