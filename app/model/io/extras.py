"""Maskwright's own fields inside COCO and SA-1B files, and categories.

Provenance rides in an extra ``"maskwright"`` object that other consumers
ignore. A file without it is foreign: its annotations get ``source="import"``
and its categories a default colour.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from app.model.annotation import SOURCES, AttributeValue, Category, Provenance, default_color
from app.model.io.fields import (
    Where,
    as_bool,
    as_dict,
    as_int,
    as_list,
    as_numbers,
    as_optional_number,
    as_str,
    field,
)

KEY = "maskwright"


def provenance_to_json(provenance: Provenance) -> dict[str, Any]:
    """All provenance fields as JSON values (coordinates in the image pixel frame)."""
    p = provenance
    return {
        "source": p.source,
        "edited": p.edited,
        "reviewed": p.reviewed,
        "points": [[x, y] for x, y in p.points],
        "point_labels": list(p.point_labels),
        "box": None if p.box is None else list(p.box),
        "predicted_iou": p.predicted_iou,
        "stability_score": p.stability_score,
        "crop_box": None if p.crop_box is None else list(p.crop_box),
    }


def read_points(value: Any, where: Where) -> tuple[tuple[float, float], ...]:
    """A list of [x, y] pairs."""
    return tuple(as_numbers(v, where[i], length=2) for i, v in enumerate(as_list(value, where)))  # type: ignore[misc]


def provenance_from_json(extras: dict[str, Any] | None, where: Where, **known: Any) -> Provenance:
    """Provenance from a ``"maskwright"`` object (``None`` for foreign data).

    ``known`` holds fields the caller already read and checked elsewhere in the
    file (SA-1B keeps points and scores in its own fields); they win over
    ``extras``. Missing keys take their defaults.
    """
    values: dict[str, Any] = {}
    if extras is not None:
        d = as_dict(extras, where)
        readers = {
            "source": lambda v, w: _source(v, w),
            "edited": as_bool,
            "reviewed": as_bool,
            "points": read_points,
            "point_labels": lambda v, w: tuple(_label(x, w[i]) for i, x in enumerate(as_list(v, w))),
            "box": lambda v, w: None if v is None else as_numbers(v, w, length=4),
            "predicted_iou": as_optional_number,
            "stability_score": as_optional_number,
            "crop_box": lambda v, w: None if v is None else as_numbers(v, w, length=4),
        }
        for key, read in readers.items():
            if key in d and key not in known:
                values[key] = read(d[key], where[key])
    else:
        values["source"] = "import"
    values.update(known)
    if len(values.get("points", ())) != len(values.get("point_labels", ())):
        if extras is None or "point_labels" not in extras:
            # Foreign SA-1B points come without labels: they are foreground clicks.
            values["point_labels"] = (1,) * len(values.get("points", ()))
        else:
            raise where["point_labels"].error(
                f"has {len(values['point_labels'])} labels for {len(values.get('points', ()))} points"
            )
    return Provenance(**values)


def _source(value: Any, where: Where) -> str:
    value = as_str(value, where)
    if value not in SOURCES:
        raise where.error(f"must be one of {', '.join(SOURCES)}, got {value!r}")
    return value


def _label(value: Any, where: Where) -> int:
    label = as_int(value, where)
    if label not in (0, 1):
        raise where.error(f"must be 0 or 1, got {label}")
    return label


def attributes_to_json(attributes: tuple[tuple[str, AttributeValue], ...]) -> dict[str, AttributeValue]:
    return dict(attributes)


def read_attributes(value: Any, where: Where) -> tuple[tuple[str, AttributeValue], ...]:
    """A JSON object of named bool, number or string values (CVAT's COCO ``attributes``,
    labelme's flags); null counts as none."""
    if value is None:
        return ()
    pairs = []
    for name, item in as_dict(value, where).items():
        if not isinstance(item, (bool, int, float, str)):
            raise where[name].error(f"must be a bool, number or string, got {type(item).__name__}")
        pairs.append((name, item))
    return tuple(sorted(pairs))


def category_to_json(category: Category) -> dict[str, Any]:
    """A COCO category with the colour in the extra field."""
    return {
        "id": category.id,
        "name": category.name,
        "supercategory": category.supercategory,
        KEY: {"color": list(category.color)},
    }


def category_from_json(value: Any, where: Where) -> Category:
    d = as_dict(value, where)
    category_id = as_int(*field(d, "id", where), minimum=0)
    name = as_str(*field(d, "name", where), nonempty=True)
    supercategory = as_str(*field(d, "supercategory", where, default=""))
    color = default_color(category_id)
    if KEY in d:
        extras = as_dict(d[KEY], where[KEY])
        if "color" in extras:
            w = where[KEY]["color"]
            items = as_list(extras["color"], w)
            if len(items) != 3:
                raise w.error(f"must have 3 values, got {len(items)}")
            color = tuple(as_int(c, w[i], minimum=0) for i, c in enumerate(items))  # type: ignore[assignment]
            if max(color) > 255:
                raise w.error(f"values must be at most 255, got {list(color)}")
    return Category(category_id, name, color, supercategory)


def read_categories(
    value: Any, where: Where, parse: Callable[[Any, Where], Category] = category_from_json
) -> list[Category]:
    """A list of categories with unique ids and names, each read by ``parse`` (COCO's by default)."""
    categories: list[Category] = []
    ids: set[int] = set()
    names: set[str] = set()
    for i, item in enumerate(as_list(value, where)):
        category = parse(item, where[i])
        if category.id in ids:
            raise where[i]["id"].error(f"duplicate category id {category.id}")
        if category.name in names:
            raise where[i]["name"].error(f"duplicate category name {category.name!r}")
        ids.add(category.id)
        names.add(category.name)
        categories.append(category)
    return categories
