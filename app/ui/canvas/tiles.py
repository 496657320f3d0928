"""An RGBA overlay drawn as tiles, so a change re-sends only the tiles it touches.

pyqtgraph converts an ImageItem's whole array into a QImage whenever ``setImage`` is
called: 48 MB for a 4000x3000 overlay, on every change. Split into tiles of ``TILE``
display pixels, one ImageItem each, a change that touches one annotation's box
converts a tile or a few. Tiles with nothing in them are hidden, so they cost nothing
to paint. The tiles of the last ``KEPT`` sources shown are kept (hidden), so showing
one of those again sends only what changed meanwhile. The parent item carries the
layer's opacity and visibility.
"""
from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF

TILE = 512  # display pixels per side
KEPT = 2  # sources whose tiles are kept: the image shown and the one before


class _TileSet:
    """The tiles of one source array (hxwx4 uint8, display frame) under their own group."""

    def __init__(self, parent: pg.ItemGroup, source: np.ndarray, scale: tuple[float, float]) -> None:
        self.source, self.scale = source, scale
        self.group = pg.ItemGroup()
        self.group.setParentItem(parent)
        self.items: dict[tuple[int, int], pg.ImageItem] = {}  # (row, column) -> item

    def discard(self) -> None:
        scene = self.group.scene()
        self.group.setParentItem(None)
        if scene is not None:
            scene.removeItem(self.group)
        self.items.clear()


class TiledOverlay:
    def __init__(self, view_box: pg.ViewBox, z: float, tile: int = TILE) -> None:
        self.group = pg.ItemGroup()
        self.group.setZValue(z)
        view_box.addItem(self.group, ignoreBounds=True)
        self.tile = tile
        self._sets: list[_TileSet] = []  # last shown last
        self._shown: _TileSet | None = None
        self.uploads = 0  # tiles sent to Qt since the overlay was made (what a change cost)

    @property
    def source(self) -> np.ndarray | None:
        """The array shown (hxwx4 uint8, display frame), or None."""
        return None if self._shown is None else self._shown.source

    def set_source(self, rgba: np.ndarray | None, size: tuple[float, float] | None = None) -> bool:
        """Show ``rgba`` (the display frame) stretched over ``size`` (W, H of the original frame),
        or nothing. The array is read again on :meth:`refresh`: change it in place.

        Returns True when ``rgba``'s tiles were kept from an earlier call: they are shown
        as they were then, and the caller refreshes what changed since."""
        if self._shown is not None:
            self._shown.group.hide()
            self._shown = None
        if rgba is None or rgba.size == 0:
            return False
        h, w = rgba.shape[:2]
        width, height = size if size is not None else (w, h)
        scale = (width / w, height / h)
        kept = next((s for s in self._sets if s.source is rgba and s.scale == scale), None)
        if kept is not None:
            self._sets.remove(kept)
            self._sets.append(kept)
            self._shown = kept
            kept.group.show()
            return True
        self._shown = _TileSet(self.group, rgba, scale)
        self._sets.append(self._shown)
        while len(self._sets) > KEPT:
            self._sets.pop(0).discard()
        self.refresh([(0, 0, w, h)])
        return False

    def refresh(self, boxes: Iterable[tuple[int, int, int, int]]) -> None:
        """Send again the tiles of the shown source that the display boxes (x0, y0, x1, y1) touch."""
        if self._shown is None:
            return
        h, w = self._shown.source.shape[:2]
        t = self.tile
        touched = set()
        for x0, y0, x1, y1 in boxes:
            x0, y0, x1, y1 = max(0, x0), max(0, y0), min(w, x1), min(h, y1)
            if x0 < x1 and y0 < y1:
                touched.update((r, c) for r in range(y0 // t, (y1 - 1) // t + 1)
                               for c in range(x0 // t, (x1 - 1) // t + 1))
        for row, column in sorted(touched):
            self._send(self._shown, row, column)

    def _send(self, tiles: _TileSet, row: int, column: int) -> None:
        t, (sx, sy) = self.tile, tiles.scale
        y0, x0 = row * t, column * t
        part = tiles.source[y0 : y0 + t, x0 : x0 + t]
        item = tiles.items.get((row, column))
        if not part[..., 3].any():
            if item is not None:
                item.hide()
            return
        if item is None:
            item = tiles.items[(row, column)] = pg.ImageItem(axisOrder="row-major")
            item.setParentItem(tiles.group)
        # A copy: pyqtgraph converts C-contiguous RGBA uint8 as it is, and the source changes in place.
        item.setImage(np.ascontiguousarray(part), autoLevels=False, levels=None)
        item.setRect(QRectF(x0 * sx, y0 * sy, part.shape[1] * sx, part.shape[0] * sy))
        item.show()
        self.uploads += 1

    def image(self) -> np.ndarray | None:
        """What the overlay shows (the source array), for tests and screenshots."""
        return self.source


__all__ = ["KEPT", "TILE", "TiledOverlay"]
