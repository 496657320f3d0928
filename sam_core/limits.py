"""The sizes Maskwright accepts from files, stated once.

Every reader of a size that comes from a file (an image's header, the project's
sidecar, COCO, SA-1B, labelme and YOLO imports, the data engine's inputs) checks it
against a :class:`Limits` before it allocates for it, so that a crafted file of a few
hundred bytes cannot ask for gigabytes or nest deeper than Python can parse, and a
real file too big for this machine gets a one-line message instead of a MemoryError.

=====================  =====================  ==========================================
limit                  default                why
=====================  =====================  ==========================================
``warn_pixels``        100 MP                 above: loads, with a warning (slow, GBs)
``max_pixels``         500 MP                 above: refused; the user may raise it (the
                                              app's ``max_image_megapixels`` setting) up
                                              to :data:`PIXEL_CEILING`
``max_side``           2**20 px               OpenCV's own limit on a side
``max_json_bytes``     1 GiB                  a JSON file (sidecar, import) to parse
``max_json_depth``     64 levels              ours nest 6 deep; Python's parser fails
                                              (RecursionError) near 1,000
``max_mask_pixels``    2**31 px (2 GiB)       the bounding boxes of the masks one file
                                              decodes to, summed (one byte per pixel)
=====================  =====================  ==========================================

:data:`PIXEL_CEILING` (2**32 - 1) is fixed: COCO RLE, as pycocotools stores it, counts
runs in uint32, so no mask of a bigger image can be written. :data:`MAX_INT` (2**53 - 1)
bounds every integer read from JSON (ids, sizes, counts), the largest that JavaScript
and float64 readers keep exact.

Numbers only; no I/O. Callers name the file in their message: ``LimitError``'s text is
the problem alone ("30000 x 20000 = 600 MP is more than the 500 MP limit ...").
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

PIXEL_CEILING = 2**32 - 1
MAX_INT = 2**53 - 1
MP = 1_000_000


class LimitError(ValueError):
    """A size read from a file is beyond a limit; ``str(error)`` is one line without the file name."""


def _mb(count: int) -> str:
    return f"{count / MP:,.0f} MP" if count >= 10 * MP else f"{count / MP:,.1f} MP"


def _bytes(count: int) -> str:
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if count >= scale:
            return f"{count / scale:,.1f} {unit}"
    return f"{count} bytes"


@dataclass(frozen=True)
class Limits:
    """The limits one reader applies (see the module docstring). Frozen: pass one in, never change it."""

    warn_pixels: int = 100 * MP
    max_pixels: int = 500 * MP
    max_side: int = 1 << 20
    max_json_bytes: int = 1 << 30
    max_json_depth: int = 64
    max_mask_pixels: int = 1 << 31

    def __post_init__(self) -> None:
        if not 1 <= self.max_pixels <= PIXEL_CEILING:
            raise ValueError(f"max_pixels must be in 1..{PIXEL_CEILING} (what COCO RLE can describe)")
        if not 1 <= self.warn_pixels:
            raise ValueError("warn_pixels must be positive")
        for name in ("max_side", "max_json_bytes", "max_json_depth", "max_mask_pixels"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be positive")

    @classmethod
    def with_max_megapixels(cls, megapixels: float) -> Limits:
        """The default limits with ``max_pixels`` set to ``megapixels`` million (clamped to
        1 pixel .. :data:`PIXEL_CEILING`); the warning stays at 100 MP or below the maximum."""
        max_pixels = int(min(max(float(megapixels) * MP, 1.0), PIXEL_CEILING))
        return cls(max_pixels=max_pixels, warn_pixels=min(cls.warn_pixels, max_pixels))

    # -- images ---------------------------------------------------------------------------------------
    def check_image_size(self, width: int, height: int) -> str | None:
        """Refuse (``LimitError``) an image of ``width`` x ``height`` pixels beyond the limits;
        return a one-line warning above ``warn_pixels``, else None."""
        width, height = int(width), int(height)
        if width < 1 or height < 1:
            raise LimitError(f"{width} x {height} pixels is an empty image")
        if max(width, height) > self.max_side:
            raise LimitError(f"{width} x {height} pixels: a side longer than {self.max_side:,} pixels is refused")
        pixels = width * height
        if pixels > self.max_pixels:
            raise LimitError(
                f"{width} x {height} = {_mb(pixels)} is more than the {_mb(self.max_pixels)} limit "
                "(max_image_megapixels in the settings raises it)")
        if pixels > self.warn_pixels:
            return (f"{width} x {height} = {_mb(pixels)} is a very large image: it is slow and needs "
                    f"about {_bytes(pixels * 4)} of memory")
        return None

    # -- JSON -----------------------------------------------------------------------------------------
    def check_json_size(self, size: int) -> None:
        """Refuse a JSON file of ``size`` bytes above ``max_json_bytes``."""
        if size > self.max_json_bytes:
            raise LimitError(f"the file is {_bytes(size)}, more than the {_bytes(self.max_json_bytes)} limit")

    def check_json_depth(self, data: bytes) -> None:
        """Refuse JSON text nested deeper than ``max_json_depth`` (before it is parsed)."""
        depth = json_depth(data)
        if depth > self.max_json_depth:
            raise LimitError(f"nested {depth:,} levels deep, more than the limit of {self.max_json_depth}")

    def mask_budget(self) -> MaskBudget:
        """A fresh budget of ``max_mask_pixels`` for the masks of one file."""
        return MaskBudget(self.max_mask_pixels)


DEFAULT_LIMITS = Limits()


class MaskBudget:
    """How many mask pixels (bounding-box pixels, one byte each) one file may still decode to."""

    def __init__(self, pixels: int) -> None:
        self.limit = self.left = int(pixels)

    def take(self, pixels: int) -> None:
        """Spend ``pixels``; ``LimitError`` (nothing spent) when they are more than what is left."""
        if pixels > self.left:
            raise LimitError(
                f"its masks would need more than {_bytes(self.limit)} of memory (a mask of {pixels:,} pixels "
                f"with {self.left:,} left of the limit)")
        self.left -= int(pixels)


# The bytes that shape JSON (quotes, backslashes, which may escape a quote, and brackets) as 1,
# every other byte as 0: ``bytes.translate`` with this table marks them at C speed.
_STRUCTURAL = bytes(1 if chr(code) in '"\\[]{}' else 0 for code in range(256))


def json_depth(data: bytes) -> int:
    """How deep the arrays and objects of the JSON text ``data`` nest (0 for a scalar), without
    parsing it and without recursion, so it is safe on any input: the few structural bytes are
    found in one C pass, then numpy works on those alone (about half the time ``json.loads``
    takes for RLE-heavy files, much less for others). Text that is not JSON gives some number
    (the parser rejects it anyway)."""
    positions = np.flatnonzero(np.frombuffer(bytes(data).translate(_STRUCTURAL), dtype=np.bool_))
    codes = np.frombuffer(data, dtype=np.uint8)
    if not len(positions):
        return 0
    values = codes[positions]
    # In a run of backslashes, pairs stand for one backslash; an odd run's last one escapes
    # the byte right after it, which matters only when that byte is a quote.
    backslash = values == ord("\\")
    adjacent = np.zeros(len(values), dtype=bool)
    adjacent[1:] = positions[1:] == positions[:-1] + 1
    continues = np.zeros(len(values), dtype=bool)
    continues[:-1] = backslash[1:] & adjacent[1:]
    run_start = backslash & ~np.concatenate([[False], backslash[:-1] & adjacent[1:]])
    index = np.arange(len(values))
    first = np.maximum.accumulate(np.where(run_start, index, 0))
    escapes_next = backslash & ~continues & ((index - first) % 2 == 0)
    escaped = np.zeros(len(values), dtype=bool)
    escaped[1:] = escapes_next[:-1] & adjacent[1:]
    quotes = (values == ord('"')) & ~escaped
    in_string = np.cumsum(quotes, dtype=np.int64) % 2 == 1
    steps = np.zeros(len(values), dtype=np.int8)
    steps[(values == ord("[")) | (values == ord("{"))] = 1
    steps[(values == ord("]")) | (values == ord("}"))] = -1
    steps[in_string] = 0
    return max(0, int(np.cumsum(steps, dtype=np.int64).max()))


__all__ = ["DEFAULT_LIMITS", "MAX_INT", "PIXEL_CEILING", "LimitError", "Limits", "MaskBudget", "json_depth"]
