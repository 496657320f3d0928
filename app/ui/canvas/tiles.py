"""An RGBA overlay drawn as tiles, so a change re-sends only the tiles it touches.

pyqtgraph converts an ImageItem's whole array into a QImage whenever ``setImage`` is
called: 48 MB for a 4000x3000 overlay, on every change. Split into tiles of ``TILE``
display pixels, one ImageItem each under one parent item, a change that touches one
annotation's box converts a tile or a few. Tiles with nothing in them are hidden, so
they cost nothing to paint. The parent carries the layer's opacity and visibility.
"""
from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF

TILE = 512  # display pixels per side


class TiledOverlay:
    def __init__(self, view_box: pg.ViewBox, z: float, tile: int = TILE) -> None:
        self.group = pg.ItemGroup()
        self.group.setZValue(z)
        view_box.addItem(self.group, ignoreBounds=True)
        self.tile = tile
        self.source: np.ndarray | None = None  # hxwx4 uint8, display frame
        self._items: dict[tuple[int, int], pg.ImageItem] = {}  # (row, column) -> item
        self._scale = (1.0, 1.0)
        self.uploads = 0  # tiles sent to Qt since the overlay was made (what a change cost)

    def set_source(self, rgba: np.ndarray | None, size: tuple[float, float] | None = None) -> None:
        """Show ``rgba`` (the display frame) stretched over ``size`` (W, H of the original frame),
        or nothing. The array is read again on :meth:`refresh`: change it in place."""
        for item in self._items.values():
            item.setParentItem(None)
            item.scene() and item.scene().removeItem(item)
        self._items.clear()
        self.source = rgba
        if rgba is None or rgba.size == 0:
            return
        h, w = rgba.shape[:2]
        width, height = size if size is not None else (w, h)
        self._scale = (width / w, height / h)
        self.refresh([(0, 0, w, h)])

    def refresh(self, boxes: Iterable[tuple[int, int, int, int]]) -> None:
        """Send again the tiles that the display boxes (x0, y0, x1, y1) touch."""
        if self.source is None:
            return
        h, w = self.source.shape[:2]
        t = self.tile
        touched = set()
        for x0, y0, x1, y1 in boxes:
            x0, y0, x1, y1 = max(0, x0), max(0, y0), min(w, x1), min(h, y1)
            if x0 < x1 and y0 < y1:
                touched.update((r, c) for r in range(y0 // t, (y1 - 1) // t + 1)
                               for c in range(x0 // t, (x1 - 1) // t + 1))
        for row, column in sorted(touched):
            self._send(row, column)

    def _send(self, row: int, column: int) -> None:
        t, (sx, sy) = self.tile, self._scale
        y0, x0 = row * t, column * t
        part = self.source[y0 : y0 + t, x0 : x0 + t]
        item = self._items.get((row, column))
        if not part[..., 3].any():
            if item is not None:
                item.hide()
            return
        if item is None:
            item = self._items[(row, column)] = pg.ImageItem(axisOrder="row-major")
            item.setParentItem(self.group)
        # A copy: pyqtgraph converts C-contiguous RGBA uint8 as it is, and the source changes in place.
        item.setImage(np.ascontiguousarray(part), autoLevels=False, levels=None)
        item.setRect(QRectF(x0 * sx, y0 * sy, part.shape[1] * sx, part.shape[0] * sy))
        item.show()
        self.uploads += 1

    def image(self) -> np.ndarray | None:
        """What the overlay shows (the source array), for tests and screenshots."""
        return self.source


__all__ = ["TILE", "TiledOverlay"]
