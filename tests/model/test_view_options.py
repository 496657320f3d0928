"""ViewOptions: clamped values, one event per real change, no Qt."""
from __future__ import annotations

import pytest

from app.model.labeling_state import LabelingState
from app.model.view_options import DEFAULT_OPACITY, ViewOptions


def test_options_clamp_and_emit_only_real_changes():
    options = ViewOptions()
    seen = []
    options.events.changed.connect(lambda e: seen.append((e.value, getattr(options, e.value))))
    assert options.opacity == DEFAULT_OPACITY
    assert options.set_opacity(1.7) == 1.0 and options.set_opacity(1.0) == 1.0
    assert options.step_opacity(-3) == 0.7 and options.step_opacity(-20) == 0.0
    options.set_hide_all(True)
    options.set_hide_all(True)
    options.set_outline_only(True)
    options.set_color_by("instance")
    options.set_color_by("instance")
    with pytest.raises(ValueError):
        options.set_color_by("size")
    assert seen == [("opacity", 1.0), ("opacity", 0.7), ("opacity", 0.0), ("hide_all", True),
                    ("outline_only", True), ("color_by", "instance")]


def test_the_labelling_state_holds_the_view_options():
    state = LabelingState()
    assert isinstance(state.view_options, ViewOptions) and state.view_options.color_by == "category"


def test_remembered_options_restore_and_damaged_values_keep_the_defaults():
    options = ViewOptions()
    options.set_opacity(0.7)
    options.set_color_by("instance")
    options.set_hide_all(True)
    saved = options.remembered()
    assert "hide_all" not in saved
    fresh = ViewOptions()
    fresh.restore(saved)
    assert (fresh.opacity, fresh.color_by, fresh.outline_only, fresh.hide_all) == (0.7, "instance", False, False)
    damaged = ViewOptions()
    damaged.restore({"opacity": "loud", "outline_only": 1, "color_by": "rainbow"})
    damaged.restore({"opacity": float("nan")})
    assert (damaged.opacity, damaged.outline_only, damaged.color_by) == (DEFAULT_OPACITY, False, "category")
    damaged.restore({"opacity": 7})
    assert damaged.opacity == 1.0  # clamped
