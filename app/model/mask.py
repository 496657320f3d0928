"""The immutable binary mask behind every annotation.

A :class:`Mask` means a full HxW bool array in the pixel frame of the original
image (row-major: ``mask[row, column]``), holes and several parts included. It is
stored as the tight bounding-box crop of its True pixels plus that crop's
position, so thousands of masks of a large image stay small.

Masks never change after construction (the crop is a read-only array), which
keeps the cached area, bounding box and RLE valid. Editing means building a new
mask, e.g. with :meth:`Mask.with_region`, and swapping it into the annotation.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from app.model import crop_rle as rle_codec


class Mask:
    """A binary mask of an image of ``height`` x ``width`` pixels.

    Frames: ``bbox`` is XYWH in pixels (x = column, y = row, width and height count
    pixels, as ``pycocotools.mask.toBbox``); ``crop`` is the bool (h, w) array of
    rows ``y:y+h`` and columns ``x:x+w`` of the full mask.
    """

    __slots__ = ("_crop", "_x", "_y", "_height", "_width", "_area", "_counts", "_rle", "_hash")

    def __init__(self, crop: np.ndarray, x: int, y: int, height: int, width: int) -> None:
        """Wrap ``crop`` placed at column ``x``, row ``y`` of a ``height`` x ``width``
        image. The crop is copied and trimmed to its True pixels; it must lie inside
        the image. Prefer the ``from_*`` constructors."""
        crop = np.asarray(crop)
        if crop.ndim != 2:
            raise ValueError(f"mask crop must be 2-D, got shape {crop.shape}")
        height, width, x, y = int(height), int(width), int(x), int(y)
        if height <= 0 or width <= 0:
            raise ValueError(f"image size must be positive, got {height} x {width}")
        h, w = crop.shape
        if crop.size and (x < 0 or y < 0 or x + w > width or y + h > height):
            raise ValueError(f"crop {h}x{w} at x={x}, y={y} lies outside a {height}x{width} image")
        crop = crop.astype(bool, copy=False)
        rows = np.flatnonzero(crop.any(axis=1)) if crop.size else np.zeros(0, dtype=np.intp)
        if len(rows) == 0:
            crop, x, y = np.zeros((0, 0), dtype=bool), 0, 0
        else:
            cols = np.flatnonzero(crop.any(axis=0))
            r0, r1, c0, c1 = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
            crop = np.array(crop[r0:r1, c0:c1], dtype=bool, order="C")
            x, y = x + int(c0), y + int(r0)
        self._set(crop, x, y, height, width)

    def _set(self, crop: np.ndarray, x: int, y: int, height: int, width: int) -> None:
        crop.flags.writeable = False
        self._crop = crop
        self._x, self._y = x, y
        self._height, self._width = height, width
        self._area = int(np.count_nonzero(crop))
        self._counts: np.ndarray | None = None
        self._rle: str | None = None
        self._hash: int | None = None

    # -- construction -------------------------------------------------------

    @classmethod
    def from_full(cls, mask: np.ndarray) -> Mask:
        """From a full HxW array; nonzero pixels are in the mask."""
        mask = np.asarray(mask)
        if mask.ndim != 2:
            raise ValueError(f"full mask must be HxW, got shape {mask.shape}")
        return cls(mask, 0, 0, mask.shape[0], mask.shape[1])

    @classmethod
    def from_crop(cls, crop: np.ndarray, x: int, y: int, image_size: tuple[int, int]) -> Mask:
        """From an (h, w) crop at column ``x``, row ``y``; ``image_size`` is (H, W)."""
        return cls(crop, x, y, image_size[0], image_size[1])

    @classmethod
    def empty(cls, height: int, width: int) -> Mask:
        return cls(np.zeros((0, 0), dtype=bool), 0, 0, height, width)

    @classmethod
    def from_counts(cls, counts: np.ndarray, height: int, width: int,
                    reserve: Callable[[int], None] | None = None) -> Mask:
        """From uncompressed column-major RLE counts (see :mod:`app.model.crop_rle`).
        Raises ``ValueError`` when they do not describe a ``height`` x ``width`` mask.
        ``reserve`` is told the crop's pixel count before it is allocated (a budget may refuse it)."""
        if height <= 0 or width <= 0:
            raise ValueError(f"image size must be positive, got {height} x {width}")
        crop, x, y = rle_codec.counts_to_crop(counts, height, width, reserve)
        mask = cls.__new__(cls)
        mask._set(crop, x, y, int(height), int(width))  # already tight, new and C-contiguous
        return mask

    @classmethod
    def from_rle(cls, rle: dict[str, Any]) -> Mask:
        """From a COCO RLE dict ``{"size": [H, W], "counts": str | bytes | list[int]}``."""
        height, width = (int(v) for v in rle["size"])
        counts = rle["counts"]
        if isinstance(counts, (str, bytes)):
            counts = rle_codec.string_to_counts(counts)
        return cls.from_counts(np.asarray(counts, dtype=np.int64), height, width)

    # -- geometry -----------------------------------------------------------

    @property
    def shape(self) -> tuple[int, int]:
        """(H, W) of the image the mask belongs to."""
        return self._height, self._width

    @property
    def crop(self) -> np.ndarray:
        """Read-only bool (h, w) crop of the True pixels; (0, 0) when empty."""
        return self._crop

    @property
    def origin(self) -> tuple[int, int]:
        """(x, y): column and row of the crop's top-left pixel."""
        return self._x, self._y

    @property
    def bbox(self) -> tuple[int, int, int, int]:
        """Tight XYWH box in pixels; (0, 0, 0, 0) when empty."""
        h, w = self._crop.shape
        return self._x, self._y, w, h

    @property
    def area(self) -> int:
        """Number of True pixels."""
        return self._area

    @property
    def is_empty(self) -> bool:
        return self._area == 0

    def full_mask(self) -> np.ndarray:
        """A new, writable HxW bool array of the whole mask."""
        full = np.zeros(self.shape, dtype=bool)
        h, w = self._crop.shape
        full[self._y : self._y + h, self._x : self._x + w] = self._crop
        return full

    def region(self, x: int, y: int, w: int, h: int) -> np.ndarray:
        """A writable (h, w) bool copy of the mask over the XYWH box, which must lie
        inside the image (e.g. what a brush stroke is about to change, for undo)."""
        self._check_box(x, y, w, h)
        out = np.zeros((h, w), dtype=bool)
        ch, cw = self._crop.shape
        ix0, iy0 = max(x, self._x), max(y, self._y)
        ix1, iy1 = min(x + w, self._x + cw), min(y + h, self._y + ch)
        if ix0 < ix1 and iy0 < iy1:
            out[iy0 - y : iy1 - y, ix0 - x : ix1 - x] = self._crop[
                iy0 - self._y : iy1 - self._y, ix0 - self._x : ix1 - self._x
            ]
        return out

    def with_region(self, x: int, y: int, patch: np.ndarray) -> Mask:
        """A new mask equal to this one except over the (h, w) ``patch`` at column
        ``x``, row ``y``, whose pixels replace the mask's there."""
        patch = np.asarray(patch, dtype=bool)
        ph, pw = patch.shape
        self._check_box(x, y, pw, ph)
        ch, cw = self._crop.shape
        if ch == 0:
            return Mask(patch, x, y, self._height, self._width)
        bx0, by0 = min(x, self._x), min(y, self._y)
        bx1, by1 = max(x + pw, self._x + cw), max(y + ph, self._y + ch)
        work = np.zeros((by1 - by0, bx1 - bx0), dtype=bool)
        work[self._y - by0 : self._y - by0 + ch, self._x - bx0 : self._x - bx0 + cw] = self._crop
        work[y - by0 : y - by0 + ph, x - bx0 : x - bx0 + pw] = patch
        return Mask(work, bx0, by0, self._height, self._width)

    def _check_box(self, x: int, y: int, w: int, h: int) -> None:
        if w < 0 or h < 0 or x < 0 or y < 0 or x + w > self._width or y + h > self._height:
            raise ValueError(f"box {(x, y, w, h)} (XYWH) lies outside a {self._height}x{self._width} image")

    # -- encodings ----------------------------------------------------------

    def counts(self) -> np.ndarray:
        """Uncompressed column-major COCO RLE counts (read-only uint32, cached)."""
        if self._counts is None:
            counts = rle_codec.crop_to_counts(self._crop, self._x, self._y, self._height, self._width)
            counts.flags.writeable = False
            self._counts = counts
        return self._counts

    def rle(self) -> dict[str, Any]:
        """Compressed COCO RLE ``{"size": [H, W], "counts": str}`` (string cached),
        exactly what ``pycocotools.mask.encode`` gives for the full mask."""
        if self._rle is None:
            self._rle = rle_codec.counts_to_string(self.counts(), self._height, self._width)
        return {"size": [self._height, self._width], "counts": self._rle}

    # -- value semantics ----------------------------------------------------

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Mask):
            return NotImplemented
        return (
            self.shape == other.shape
            and self.origin == other.origin
            and self._area == other._area
            and np.array_equal(self._crop, other._crop)
        )

    def __hash__(self) -> int:
        if self._hash is None:
            self._hash = hash((self.shape, self.origin, self._crop.shape, self._crop.tobytes()))
        return self._hash

    def __repr__(self) -> str:
        return f"Mask(image={self._height}x{self._width}, bbox={self.bbox}, area={self._area})"
