"""Graphics items for prompts: green (positive) and red (negative) dots and a box."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF
from PySide6.QtGui import QColor, QPen
from PySide6.QtWidgets import QGraphicsRectItem

POSITIVE = QColor(40, 220, 60)
NEGATIVE = QColor(235, 40, 40)
BOX = QColor(60, 160, 255)


class PromptItems:
    """Owns the prompt items of one ViewBox; :meth:`show` redraws them."""

    def __init__(self, view_box: pg.ViewBox) -> None:
        self.points = pg.ScatterPlotItem(pxMode=True, size=13, pen=pg.mkPen("w", width=2))
        self.points.setZValue(50)
        self.box = QGraphicsRectItem()
        pen = QPen(BOX)
        pen.setCosmetic(True)
        pen.setWidth(2)
        self.box.setPen(pen)
        self.box.setZValue(49)
        self.box.hide()
        view_box.addItem(self.points, ignoreBounds=True)
        view_box.addItem(self.box, ignoreBounds=True)

    def show(self, points: np.ndarray, labels: np.ndarray, box: np.ndarray | None) -> None:
        """``points`` Nx2 (x, y) and ``labels`` N (1/0) in the original frame, ``box`` XYXY."""
        brushes = [pg.mkBrush(POSITIVE if label else NEGATIVE) for label in labels]
        # Pixel centres: pixel (c, r) spans [c, c+1) x [r, r+1) in the view.
        self.points.setData(pos=np.asarray(points, dtype=float).reshape(-1, 2), brush=brushes)
        if box is None:
            self.box.hide()
        else:
            x0, y0, x1, y1 = (float(v) for v in box)
            self.box.setRect(QRectF(x0, y0, x1 - x0, y1 - y0))
            self.box.show()


__all__ = ["PromptItems"]
