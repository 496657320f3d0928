"""The polygon being drawn, on the canvas: its vertices, its edges, and a dashed edge from the
last vertex to the cursor. It observes ``state.polygon`` and sends the view box's polygon
gestures to the :class:`~app.workflow.polygon.PolygonTool`; it never changes the document.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QLineF, QPointF, Qt
from PySide6.QtGui import QColor, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsLineItem, QGraphicsPathItem

from app.model.labeling_state import LabelingState
from app.ui.canvas.view import CanvasView
from app.workflow.polygon import PolygonTool

EDGE = QColor(0, 220, 255)
FIRST_SIZE, VERTEX_SIZE = 13, 7  # screen pixels; the first vertex is the one a click closes on


def _pen(width: int, style: Qt.PenStyle = Qt.SolidLine) -> QPen:
    pen = QPen(EDGE)
    pen.setCosmetic(True)
    pen.setWidth(width)
    pen.setStyle(style)
    return pen


class _Markers(pg.ScatterPlotItem):
    """Vertex markers that leave clicks to the view box: a click on the first vertex closes
    the polygon there (a plain scatter item would take it as a click on its point)."""

    def mouseClickEvent(self, ev) -> None:
        ev.ignore()


class PolygonLayer:
    def __init__(self, canvas: CanvasView, state: LabelingState, tool: PolygonTool) -> None:
        self.canvas, self.state = canvas, state
        view_box = canvas.view_box
        self.edges = QGraphicsPathItem()
        self.edges.setPen(_pen(2))
        self.rubber = QGraphicsLineItem()
        self.rubber.setPen(_pen(1, Qt.DashLine))
        self.vertices = _Markers(pxMode=True, pen=pg.mkPen(EDGE, width=2), brush=pg.mkBrush(20, 20, 24))
        for z, item in enumerate((self.edges, self.rubber, self.vertices)):
            item.setZValue(55 + z)  # above the candidate and the outline, beside the prompts
            view_box.addItem(item, ignoreBounds=True)
        self.rubber.hide()
        view_box.vertex_requested.connect(tool.add_vertex)
        view_box.polygon_close_requested.connect(tool.close)
        canvas.scene().sigMouseMoved.connect(self._on_mouse_moved)
        state.events.polygon_changed.connect(lambda _e: self.redraw())
        self.redraw()

    def redraw(self) -> None:
        vertices = self.state.polygon
        self.canvas.view_box.polygon = vertices
        path = QPainterPath()
        if vertices:
            path.moveTo(QPointF(*vertices[0]))
            for vertex in vertices[1:]:
                path.lineTo(QPointF(*vertex))
        self.edges.setPath(path)
        points = np.asarray(vertices, dtype=float).reshape(-1, 2)
        sizes = [FIRST_SIZE] + [VERTEX_SIZE] * (len(points) - 1) if len(points) else []
        self.vertices.setData(pos=points, size=sizes)
        if not vertices:
            self.rubber.hide()

    def _on_mouse_moved(self, scene_pos) -> None:
        vertices = self.state.polygon
        if self.state.tool != "polygon" or not vertices:
            self.rubber.hide()
            return
        cursor = self.canvas.view_box.mapSceneToView(scene_pos)
        self.rubber.setLine(QLineF(QPointF(*vertices[-1]), cursor))
        self.rubber.show()


__all__ = ["PolygonLayer"]
