"""A guard against a reference-count bug in PySide6 6.12 on Python 3.11.

PySide6 6.12 returns ``None`` from void methods (``setText``, ``lineTo``,
``processEvents``...) without taking a new reference. From Python 3.12 ``None``
is immortal, so that is harmless; on 3.11 every such call takes one reference
away from ``None`` until the interpreter aborts with "none_dealloc: deallocating
None", after a few minutes of panning. The guard measures the leak and, if there
is one, gives ``None`` a reference count no session can use up, which is what
3.12's immortality amounts to. PySide6 6.11 and earlier do not leak.
"""
from __future__ import annotations

import ctypes
import sys

HEADROOM = 1 << 40  # a trillion leaked references: weeks of non-stop calls


def none_leaks_per_call(calls: int = 64) -> float:
    """References ``None`` loses per void PySide6 call (0 when the binding is sound)."""
    from PySide6.QtCore import QPointF

    point = QPointF()
    before = sys.getrefcount(None)
    for _ in range(calls):
        point.setX(1.0)
    return (before - sys.getrefcount(None)) / calls


def guard_none_refcount() -> bool:
    """Make ``None`` effectively immortal when this PySide6 leaks references to it.
    Returns True when the guard was needed (and applied); safe to call repeatedly."""
    if sys.implementation.name != "cpython" or sys.version_info >= (3, 12):
        return False
    if none_leaks_per_call() <= 0:
        return False
    if sys.getrefcount(None) < HEADROOM // 2:
        ctypes.c_ssize_t.from_address(id(None)).value += HEADROOM
    return True
