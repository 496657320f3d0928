"""What an import reader found in a file, before it meets the project (no Qt).

Readers (COCO, SA-1B, labelme, YOLO) turn a file into an :class:`ImportedFile`:
image entries named as the file names them, each with annotations whose
geometry is a :class:`Shape`, not yet a mask. Some formats only know the
geometry relative to the image (YOLO's normalised coordinates), so masks are
made by :meth:`Shape.raster` once the entry is matched to a project image and
its size is known (:mod:`app.model.import_plan`).

Frames: image pixels, x = column, y = row; pixel (c, r) covers [c, c + 1) x
[r, r + 1) and a shape contains it when it contains its centre (c + 0.5,
r + 0.5), as pycocotools rasterises COCO polygons. Normalised coordinates are
those divided by the image's width and height.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from app.model.annotation import RGB, AttributeValue, Provenance
from app.model.io.fields import FormatError, Where
from app.model.io.polygons import polygons_to_rle
from app.model.io.segmentation import read_rle
from app.model.io.skips import Skipped
from app.model.mask import Mask

Polygon = tuple[float, ...]  # flat x0, y0, x1, y1, ...
MAX_COORDINATE = float(2**31 - 1)  # beyond any image; past what pycocotools and OpenCV hold in int32
MAX_OUTLINE_STEPS = 1 << 26  # pycocotools holds two ints for every 1/5 pixel of an outline


def coordinates(value: object, pairs: bool = False) -> np.ndarray | None:
    """A JSON list of numbers (``pairs``: of [x, y] lists) as a float64 array, when every value is
    a finite int or float within :data:`MAX_COORDINATE`; None otherwise, for the caller's
    field-by-field check to say what is wrong. Files hold hundreds of thousands of vertices: this
    reads them in one numpy call."""
    if not isinstance(value, list):
        return None
    flat = [v for p in value for v in p] if pairs and all(isinstance(p, list) and len(p) == 2 for p in value) \
        else (None if pairs else value)
    if flat is None or not all(type(v) in (int, float) for v in flat):
        return None
    array = np.asarray(flat, dtype=np.float64)
    if not np.isfinite(array).all() or (array.size and np.abs(array).max() > MAX_COORDINATE):
        return None
    return array.reshape(-1, 2) if pairs else array


class GeometryError(ValueError):
    """A shape that cannot become a mask of this image; the text is a skip reason ("with ...")."""


class Shape:
    """Geometry that becomes a mask of an image of ``height`` x ``width`` pixels."""

    def raster(self, height: int, width: int) -> np.ndarray | Mask:
        """An HxW bool array (or a :class:`Mask`) of the pixels inside."""
        raise NotImplementedError


@dataclass(frozen=True)
class MaskShape(Shape):
    """A raster already made: its image size must be the project image's."""

    mask: Mask

    def raster(self, height: int, width: int) -> Mask:
        if self.mask.shape != (height, width):
            raise GeometryError("with a mask of another size than its image")
        return self.mask


@dataclass(frozen=True)
class RleShape(Shape):
    """A COCO RLE object as the file holds it, decoded only once its entry matched a project
    image of the size it claims: a crafted size never allocates anything."""

    value: object
    where: Where

    def raster(self, height: int, width: int) -> Mask:
        try:
            return read_rle(self.value, self.where, height, width)
        except FormatError as exc:
            if exc.field.endswith("size"):
                raise GeometryError("with an RLE of another size than its image") from None
            raise GeometryError("with invalid RLE counts") from None


@dataclass(frozen=True)
class PolygonShape(Shape):
    """COCO-style polygons, their union as pycocotools rasterises it (even-odd inside each, so
    a keyhole polygon keeps its holes). ``normalized``: coordinates are fractions of the image."""

    polygons: tuple[Polygon, ...]
    normalized: bool = False

    def pixels(self, height: int, width: int) -> tuple[Polygon, ...]:
        if not self.normalized:
            return self.polygons
        scale = np.array([float(width), float(height)])
        return tuple(tuple((np.asarray(p, dtype=np.float64).reshape(-1, 2) * scale).reshape(-1).tolist())
                     for p in self.polygons)

    def raster(self, height: int, width: int) -> Mask:
        polygons = self.pixels(height, width)
        for polygon in polygons:
            _check_polygon(np.asarray(polygon, dtype=np.float64).reshape(-1, 2), height, width)
        return Mask.from_rle(polygons_to_rle([list(p) for p in polygons], height, width))


def _check_polygon(xy: np.ndarray, height: int, width: int) -> None:
    """Refuse what pycocotools would take gigabytes for: a vertex more than an image size outside
    the image, or an outline too long (it walks outlines in 1/5-pixel steps, two ints each)."""
    if (xy < -np.array([width, height])).any() or (xy > 2 * np.array([width, height])).any():
        raise GeometryError("with a vertex more than an image size outside the image")
    steps = np.abs(np.diff(np.vstack([xy, xy[:1]]), axis=0)).max(axis=1).sum() * 5 + len(xy)
    if steps > MAX_OUTLINE_STEPS:
        raise GeometryError("with an outline too long to rasterise")


@dataclass(frozen=True)
class CircleShape(Shape):
    """Pixels whose centre lies within ``radius`` of (``cx``, ``cy``) (labelme's circles)."""

    cx: float
    cy: float
    radius: float

    def raster(self, height: int, width: int) -> Mask:
        x0, y0 = max(int(np.floor(self.cx - self.radius)), 0), max(int(np.floor(self.cy - self.radius)), 0)
        x1 = min(int(np.ceil(self.cx + self.radius)) + 1, width)
        y1 = min(int(np.ceil(self.cy + self.radius)) + 1, height)
        if x0 >= x1 or y0 >= y1:
            return Mask.empty(height, width)
        rows = (np.arange(y0, y1) + 0.5 - self.cy) ** 2
        cols = (np.arange(x0, x1) + 0.5 - self.cx) ** 2
        return Mask.from_crop(rows[:, None] + cols[None, :] <= self.radius**2, x0, y0, (height, width))


@dataclass(frozen=True)
class PatchShape(Shape):
    """A bool crop placed with its top-left pixel at column ``x``, row ``y`` (labelme's mask
    shapes), clipped to the image."""

    x: int
    y: int
    patch: np.ndarray

    def raster(self, height: int, width: int) -> Mask:
        h, w = self.patch.shape
        x0, y0, x1, y1 = max(self.x, 0), max(self.y, 0), min(self.x + w, width), min(self.y + h, height)
        if x0 >= x1 or y0 >= y1:
            return Mask.empty(height, width)
        crop = self.patch[y0 - self.y : y1 - self.y, x0 - self.x : x1 - self.x]
        return Mask.from_crop(crop, x0, y0, (height, width))


@dataclass(frozen=True)
class LayeredShape(Shape):
    """Shapes painted in order: a ``True`` layer adds its pixels, a ``False`` one erases them
    (labelme's instances: parts of one group, and the holes cut into them)."""

    layers: tuple[tuple[Shape, bool], ...]

    def raster(self, height: int, width: int) -> Mask:
        layers = [(_as_mask(shape.raster(height, width)), adds) for shape, adds in self.layers]
        added = [m.bbox for m, adds in layers if adds and not m.is_empty]
        if not added:
            return Mask.empty(height, width)
        # Work only in the box the added pixels span: a few thousand pixels, not the whole image.
        x0, y0 = min(b[0] for b in added), min(b[1] for b in added)
        x1, y1 = max(b[0] + b[2] for b in added), max(b[1] + b[3] for b in added)
        work = np.zeros((y1 - y0, x1 - x0), dtype=bool)
        for mask, adds in layers:
            if adds:
                work |= mask.region(x0, y0, x1 - x0, y1 - y0)
            else:
                work &= ~mask.region(x0, y0, x1 - x0, y1 - y0)
        return Mask.from_crop(work, x0, y0, (height, width))


def _as_mask(pixels: np.ndarray | Mask) -> Mask:
    return pixels if isinstance(pixels, Mask) else Mask.from_full(pixels)


@dataclass(frozen=True)
class BoxShape(Shape):
    """A box-only label, XYXY (``normalized``: fractions of the image). It becomes a box waiting
    for SAM, not pixels: :meth:`raster` gives an empty mask and :meth:`xyxy` the box."""

    box: tuple[float, float, float, float]
    normalized: bool = False

    def xyxy(self, height: int, width: int) -> tuple[float, float, float, float]:
        """The box in image pixels, clipped to the image; ``GeometryError`` when nothing is left."""
        x0, y0, x1, y1 = self.box
        if self.normalized:
            x0, x1, y0, y1 = x0 * width, x1 * width, y0 * height, y1 * height
        x0, x1 = sorted((min(max(x0, 0.0), width), min(max(x1, 0.0), width)))
        y0, y1 = sorted((min(max(y0, 0.0), height), min(max(y1, 0.0), height)))
        if x1 - x0 < 1 or y1 - y0 < 1:
            raise GeometryError("with a box that has less than a pixel inside its image")
        return x0, y0, x1, y1

    def raster(self, height: int, width: int) -> Mask:
        return Mask.empty(height, width)


@dataclass(frozen=True)
class ImportedAnnotation:
    """One label: its category's name, geometry, and what else the file said.

    ``provenance`` None: a foreign label (``source="import"``). ``polygons`` keeps a COCO
    file's polygons for re-export when the mask is exactly their raster."""

    category: str
    shape: Shape
    iscrowd: bool = False
    provenance: Provenance | None = None
    attributes: tuple[tuple[str, AttributeValue], ...] = ()
    keep_polygons: bool = False


@dataclass
class ImportedImage:
    """An image entry as the file names it (``name``: its path, ``/``-separated, or only a stem
    when ``stem`` is True, as YOLO names label files), with its size when the file says it."""

    name: str
    size: tuple[int, int] | None = None  # (H, W)
    annotations: list[ImportedAnnotation] = field(default_factory=list)
    stem: bool = False
    where: str = ""  # the file (and field) it came from, for messages


@dataclass(frozen=True)
class ImportedCategory:
    name: str
    color: RGB | None = None  # None: the project picks one
    supercategory: str = ""


@dataclass
class ImportedFile:
    """Everything one import read: ``format`` is "COCO", "SA-1B", "labelme" or "YOLO"."""

    path: Path
    format: str
    images: list[ImportedImage] = field(default_factory=list)
    categories: list[ImportedCategory] = field(default_factory=list)
    skipped: Skipped = field(default_factory=Skipped)
    files: int = 1  # files read (a folder format reads many)

    @property
    def annotation_count(self) -> int:
        return sum(len(i.annotations) for i in self.images)

    def category(self, name: str) -> ImportedCategory:
        """The category called ``name``, added at the end when the file did not list it."""
        for category in self.categories:
            if category.name == name:
                return category
        category = ImportedCategory(name)
        self.categories.append(category)
        return category


__all__ = [
    "BoxShape",
    "CircleShape",
    "GeometryError",
    "ImportedAnnotation",
    "ImportedCategory",
    "ImportedFile",
    "ImportedImage",
    "LayeredShape",
    "MaskShape",
    "PatchShape",
    "PolygonShape",
    "RleShape",
    "Shape",
]
