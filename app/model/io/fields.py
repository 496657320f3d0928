"""Reading untrusted JSON with errors that name the file and the field.

Importers parse through :class:`Where`, which tracks the path to the value being
read (``annotations[12].segmentation.counts``) and turns any problem into a
:class:`FormatError` whose one-line message is ``"<file>: <field>: <problem>"``.
:func:`load_json` applies :mod:`sam_core.limits` (file size, nesting depth) before
parsing, and the ``as_*`` readers keep every number finite and in range, so a
crafted file gets a FormatError, never a MemoryError, RecursionError or OverflowError.
"""

from __future__ import annotations

import json
import math
import os
import stat
from pathlib import Path
from typing import Any

from sam_core.limits import DEFAULT_LIMITS, MAX_INT, LimitError, Limits

_MISSING = object()
#: Coordinates (points, boxes, polygon vertices, a view) beyond this are refused: far outside any image
#: the limits allow, and past what Qt, OpenCV and pycocotools hold in 32-bit integers.
MAX_COORDINATE = float(2**31 - 1)


class FormatError(ValueError):
    """A file is not valid JSON of the expected format.

    ``file`` is the path as given, ``field`` the dotted path of the offending
    value (empty for the whole file) and ``problem`` what is wrong with it.
    """

    def __init__(self, file: str, field: str, problem: str) -> None:
        self.file, self.field, self.problem = file, field, problem
        super().__init__(f"{file}: {field}: {problem}" if field else f"{file}: {problem}")


class Where:
    """The location of a JSON value: the file it came from and its field path.

    Every value read gets one, so the path string is only built for errors.
    """

    __slots__ = ("file", "_parent", "_key")

    def __init__(self, file: str, parent: Where | None = None, key: str | int | None = None) -> None:
        self.file, self._parent, self._key = file, parent, key

    def __getitem__(self, key: str | int) -> Where:
        return Where(self.file, self, key)

    @property
    def path(self) -> str:
        """Dotted path from the file's root, e.g. ``annotations[12].segmentation``."""
        if self._parent is None:
            return ""
        parent = self._parent.path
        if isinstance(self._key, int):
            return f"{parent}[{self._key}]"
        return f"{parent}.{self._key}" if parent else str(self._key)

    def error(self, problem: str) -> FormatError:
        return FormatError(self.file, self.path, problem)


def load_json(path: Path | str, limits: Limits = DEFAULT_LIMITS) -> tuple[Any, Where]:
    """Parse a JSON file; returns the value and the root :class:`Where`.

    Raises :class:`FormatError` for text that is not UTF-8 JSON (NaN and Infinity
    included) and for a file beyond ``limits`` (bytes, nesting depth: checked before
    parsing), ``OSError`` when the file cannot be read.
    """
    where = Where(str(path))
    # Non-blocking open: a FIFO put where a file belongs must not hang the reader.
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    with open(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise where.error("not a regular file")
        try:
            limits.check_json_size(info.st_size)
            data = handle.read(limits.max_json_bytes + 1)
            limits.check_json_size(len(data))  # it grew meanwhile
            limits.check_json_depth(data)
        except LimitError as exc:
            raise where.error(str(exc)) from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise where.error(f"not UTF-8 text (byte {exc.start})") from None

    def reject(constant: str) -> None:
        raise ValueError(f"{constant} is not valid JSON")

    try:
        value = json.loads(text, parse_constant=reject)
    except json.JSONDecodeError as exc:
        raise where.error(f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from None
    except ValueError as exc:
        if "integer string conversion" in str(exc):  # Python refuses ints of more than 4,300 digits
            raise where.error("holds an integer thousands of digits long") from None
        raise where.error(str(exc)) from None
    except RecursionError:  # the depth check makes this unreachable; kept for a parser that recurses more
        raise where.error("nested too deep to parse") from None
    except MemoryError:
        raise where.error(f"too big to parse in the memory this machine has ({len(data):,} bytes)") from None
    return value, where


def field(obj: dict[str, Any], key: str, where: Where, default: Any = _MISSING) -> tuple[Any, Where]:
    """``obj[key]`` and its location; a missing key is an error unless ``default`` is given."""
    if key in obj:
        return obj[key], where[key]
    if default is _MISSING:
        raise where[key].error("missing")
    return default, where[key]


def as_dict(value: Any, where: Where) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise where.error(f"must be an object, got {_kind(value)}")
    return value


def as_list(value: Any, where: Where) -> list[Any]:
    if not isinstance(value, list):
        raise where.error(f"must be a list, got {_kind(value)}")
    return value


def as_int(value: Any, where: Where, minimum: int | None = None, maximum: int = MAX_INT) -> int:
    """An integer in ``minimum`` .. ``maximum`` (by default the largest a float64 holds exactly)."""
    # JSON writers often emit whole numbers as 3.0; accept those, not booleans.
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise where.error(f"must be an integer, got {_kind(value)}")
    if minimum is not None and value < minimum:
        raise where.error(f"must be at least {minimum}, got {_short(value)}")
    if value > maximum:
        raise where.error(f"must be at most {maximum:,}, got {_short(value)}")
    return value


def as_side(value: Any, where: Where, limits: Limits = DEFAULT_LIMITS) -> int:
    """An image width or height: 1 .. ``limits.max_side`` pixels."""
    return as_int(value, where, minimum=1, maximum=limits.max_side)


def check_image_size(width: int, height: int, where: Where, limits: Limits = DEFAULT_LIMITS) -> None:
    """Refuse an image record (``where``: the record) bigger than ``limits`` allow; a size this big
    cannot have come from an image this app reads, and masks of it would not fit in memory."""
    try:
        limits.check_image_size(width, height)
    except LimitError as exc:
        raise where.error(str(exc)) from None


def as_number(value: Any, where: Where, bound: float = float(MAX_INT)) -> float:
    """A finite number with ``|value| <= bound``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise where.error(f"must be a number, got {_kind(value)}")
    try:
        value = float(value)
    except OverflowError:  # an integer too big for a float
        raise where.error(f"must be at most {bound:g} in size, got {_short(value)}") from None
    if not math.isfinite(value):
        raise where.error("must be finite")
    if abs(value) > bound:
        raise where.error(f"must be at most {bound:g} in size, got {value:g}")
    return value


def as_coordinate(value: Any, where: Where) -> float:
    """A position or length in pixels: finite, ``|value| <=`` :data:`MAX_COORDINATE`."""
    return as_number(value, where, MAX_COORDINATE)


def as_optional_number(value: Any, where: Where) -> float | None:
    return None if value is None else as_number(value, where)


def as_str(value: Any, where: Where, nonempty: bool = False) -> str:
    if not isinstance(value, str):
        raise where.error(f"must be a string, got {_kind(value)}")
    if nonempty and not value:
        raise where.error("must not be empty")
    return value


def as_bool(value: Any, where: Where) -> bool:
    if not isinstance(value, bool):
        raise where.error(f"must be true or false, got {_kind(value)}")
    return value


def as_numbers(value: Any, where: Where, length: int | None = None, bound: float = MAX_COORDINATE) -> tuple[float, ...]:
    """A list of numbers (coordinates by default: ``|v| <= bound``), of exactly ``length`` items when given."""
    items = as_list(value, where)
    if length is not None and len(items) != length:
        raise where.error(f"must have {length} numbers, got {len(items)}")
    return tuple(as_number(v, where[i], bound) for i, v in enumerate(items))


def _short(value: int) -> str:
    """An integer as a readable number, however long (``10**30`` has 31 digits)."""
    if abs(value) < 10**20:
        return str(value)
    return f"a number of {int(abs(value).bit_length() * 0.30103) + 1} digits"  # str() refuses > 4300 digits


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return f"the number {_short(value)}"
    if isinstance(value, float):
        return f"the number {value!r}"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__
