"""Records of the document: images, categories, and annotations with provenance.

All records are frozen dataclasses. To change one, build a new one
(``dataclasses.replace`` or the ``with_*`` helpers) and hand it to the dataset,
which swaps it in and emits an event. Coordinates are in the pixel frame of the
original image: x = column, y = row.
"""

from __future__ import annotations

import colorsys
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Literal, Union

from app.model.mask import Mask

Source = Literal["sam", "auto", "brush", "box", "polygon", "import"]
SOURCES: tuple[str, ...] = ("sam", "auto", "brush", "box", "polygon", "import")

RGB = tuple[int, int, int]
AttributeValue = Union[bool, int, float, str]


def normalize_attributes(attributes: Mapping[str, AttributeValue] | Iterable[tuple[str, AttributeValue]]
                         ) -> tuple[tuple[str, AttributeValue], ...]:
    """Attributes as ``(name, value)`` pairs sorted by name; ``ValueError`` for a value that is
    not a bool, int, finite float or str, or a name used twice."""
    pairs = list(attributes.items()) if isinstance(attributes, Mapping) else list(attributes)
    names = set()
    for name, value in pairs:
        if not isinstance(name, str) or not name:
            raise ValueError(f"attribute names must be non-empty strings, got {name!r}")
        if name in names:
            raise ValueError(f"attribute {name!r} given twice")
        names.add(name)
        if not isinstance(value, (bool, int, float, str)) or (isinstance(value, float) and not math.isfinite(value)):
            raise ValueError(f"attribute {name!r}: value must be a bool, number or string, got {value!r}")
    return tuple(sorted(pairs))


def default_color(category_id: int) -> RGB:
    """A distinct, deterministic RGB colour for a category without one."""
    hue = (category_id * 0.618033988749895) % 1.0  # golden-ratio steps spread hues
    r, g, b = colorsys.hsv_to_rgb(hue, 0.65, 0.95)
    return round(r * 255), round(g * 255), round(b * 255)


@dataclass(frozen=True)
class ImageRecord:
    """An image of the project: ``file_name`` is relative to the project folder
    (forward slashes), ``width`` and ``height`` are in pixels."""

    id: int
    file_name: str
    width: int
    height: int

    def __post_init__(self) -> None:
        if self.width <= 0 or self.height <= 0:
            raise ValueError(f"image {self.file_name!r}: size must be positive, got {self.width}x{self.height}")
        if not self.file_name:
            raise ValueError("image file_name must not be empty")

    @property
    def shape(self) -> tuple[int, int]:
        """(H, W), the shape of this image's masks."""
        return self.height, self.width


@dataclass(frozen=True)
class Category:
    """A class name and its display colour (RGB, 0-255)."""

    id: int
    name: str
    color: RGB = (255, 0, 0)
    supercategory: str = ""

    def __post_init__(self) -> None:
        color = tuple(self.color)
        if len(color) != 3 or not all(int(c) == c and 0 <= c <= 255 for c in color):
            raise ValueError(f"category {self.name!r}: color must be three ints in 0..255, got {self.color!r}")
        object.__setattr__(self, "color", tuple(int(c) for c in color))


@dataclass(frozen=True)
class Provenance:
    """How an annotation was made.

    - ``points``: prompt points, (x, y) in the image pixel frame; ``point_labels``
      one per point, 1 = foreground, 0 = background.
    - ``box``: prompt box, XYXY in the image pixel frame, or ``None``.
    - ``predicted_iou`` / ``stability_score``: SAM's scores for the accepted
      candidate, ``None`` when SAM did not make the mask.
    - ``crop_box``: XYWH of the image crop the automatic mask generator ran on
      (SA-1B's ``crop_box``), ``None`` when not known.
    - ``source``: ``"sam"`` (interactive prompt), ``"auto"`` (automatic mask
      generator), ``"brush"`` (painted), ``"box"`` (a dragged rectangle taken as it
      is, made while no SAM checkpoint was loaded), ``"polygon"`` (drawn with the
      polygon tool) or ``"import"`` (read from a file).
    - ``edited``: a brush changed the mask after it was made.
    - ``reviewed``: the user accepted an automatic mask as it is.
    """

    points: tuple[tuple[float, float], ...] = ()
    point_labels: tuple[int, ...] = ()
    box: tuple[float, float, float, float] | None = None
    predicted_iou: float | None = None
    stability_score: float | None = None
    crop_box: tuple[float, float, float, float] | None = None
    source: Source = "sam"
    edited: bool = False
    reviewed: bool = False

    def __post_init__(self) -> None:
        points = tuple((float(x), float(y)) for x, y in self.points)
        labels = tuple(int(v) for v in self.point_labels)
        if len(labels) != len(points):
            raise ValueError(f"{len(points)} points but {len(labels)} point labels")
        if any(v not in (0, 1) for v in labels):
            raise ValueError(f"point labels must be 0 or 1, got {labels}")
        if self.source not in SOURCES:
            raise ValueError(f"source must be one of {SOURCES}, got {self.source!r}")
        object.__setattr__(self, "points", points)
        object.__setattr__(self, "point_labels", labels)
        for name in ("box", "crop_box"):
            value = getattr(self, name)
            if value is not None:
                if len(value) != 4:
                    raise ValueError(f"{name} must have 4 numbers, got {value!r}")
                object.__setattr__(self, name, tuple(float(v) for v in value))
        for name in ("predicted_iou", "stability_score"):
            value = getattr(self, name)
            if value is not None:
                value = float(value)
                if not math.isfinite(value):
                    raise ValueError(f"{name} must be finite, got {value}")
                object.__setattr__(self, name, value)
        object.__setattr__(self, "edited", bool(self.edited))
        object.__setattr__(self, "reviewed", bool(self.reviewed))


@dataclass(frozen=True)
class Annotation:
    """An accepted mask with a category and its provenance.

    ``mask`` is the truth; area and bbox (XYWH) derive from it. ``iscrowd``
    follows COCO. ``polygons`` holds the COCO polygons (flat ``[x0, y0, x1, y1,
    ...]`` lists in the image pixel frame) the mask was rasterised from on import:
    exporters reuse them rather than re-trace the mask. :meth:`with_mask` drops
    them, since they no longer describe the new mask.
    """

    id: int
    image_id: int
    category_id: int
    mask: Mask
    provenance: Provenance = field(default_factory=Provenance)
    iscrowd: bool = False
    polygons: tuple[tuple[float, ...], ...] | None = None
    attributes: tuple[tuple[str, AttributeValue], ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.mask, Mask):
            raise TypeError(f"annotation mask must be a Mask, got {type(self.mask).__name__}")
        if self.polygons is not None:
            polygons = tuple(tuple(float(v) for v in p) for p in self.polygons)
            object.__setattr__(self, "polygons", polygons)
        object.__setattr__(self, "attributes", normalize_attributes(self.attributes))

    @property
    def waits_for_sam(self) -> bool:
        """A box-only label (empty mask, ``provenance.box`` set) that SAM is to turn into a mask."""
        return self.mask.is_empty and self.provenance.box is not None

    @property
    def area(self) -> int:
        return self.mask.area

    @property
    def bbox(self) -> tuple[int, int, int, int]:
        """Tight XYWH box of the mask in pixels."""
        return self.mask.bbox

    def with_mask(self, mask: Mask, *, edited: bool = True) -> Annotation:
        """A copy with ``mask`` swapped in; ``edited`` marks a brush change."""
        provenance = replace(self.provenance, edited=self.provenance.edited or edited)
        return replace(self, mask=mask, provenance=provenance, polygons=None)

    def with_category(self, category_id: int) -> Annotation:
        return replace(self, category_id=category_id)
