"""Boundaries that import-linter cannot see: action specs and the PySide6 refcount guard.

Which layer imports what is checked by the contracts in pyproject.toml (tests/test_layers.py)."""


def test_every_action_has_a_handler_and_unique_shortcuts(qtbot):
    from app.ui.actions import ACTIONS

    ids = [a.id for a in ACTIONS]
    assert len(ids) == len(set(ids))
    keys = [k for a in ACTIONS for k in a.shortcuts]
    assert len(keys) == len(set(keys)), "two actions share a shortcut"


def test_the_none_refcount_guard_makes_void_calls_safe():
    import sys

    from PySide6.QtCore import QPointF

    from app.services.qt_compat import guard_none_refcount, none_leaks_per_call

    guard_none_refcount()
    if sys.version_info < (3, 12) and none_leaks_per_call() > 0:
        assert sys.getrefcount(None) > 1 << 39  # far more than any session can leak
    point = QPointF()
    for _ in range(100_000):  # without the guard this aborts the interpreter on 6.12 + 3.11
        point.setX(1.0)
