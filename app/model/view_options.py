"""How the canvas shows the annotations: opacity, hide all, outlines only, colour by category or
instance. Qt-free view state beside the labelling state (``LabelingState.view_options``); the
canvas observes it, and the actions and the View panel set it.

Event: ``changed`` (value: the option's name, one of :data:`OPTIONS`), emitted only when a
value really changes.
"""
from __future__ import annotations

from app.model.events import EmitterGroup

COLOR_BY = ("category", "instance")
OPTIONS = ("opacity", "hide_all", "outline_only", "color_by")
DEFAULT_OPACITY = 0.45  # masks over the image, both still readable
OPACITY_STEP = 0.1


class ViewOptions:
    def __init__(self) -> None:
        self.events = EmitterGroup(self, ("changed",))
        self.opacity = DEFAULT_OPACITY  # 0 (invisible) .. 1 (opaque)
        self.hide_all = False
        self.outline_only = False
        self.color_by = "category"

    def _set(self, name: str, value) -> None:
        if getattr(self, name) != value:
            setattr(self, name, value)
            self.events.changed.emit(name)

    def set_opacity(self, opacity: float) -> float:
        """Clamped to 0..1 (and rounded to a percent); returns what it became."""
        opacity = round(min(1.0, max(0.0, float(opacity))), 2)
        self._set("opacity", opacity)
        return opacity

    def step_opacity(self, steps: int) -> float:
        """More opaque (steps > 0) or more transparent, by :data:`OPACITY_STEP` each."""
        return self.set_opacity(self.opacity + steps * OPACITY_STEP)

    def set_hide_all(self, hidden: bool) -> None:
        self._set("hide_all", bool(hidden))

    def set_outline_only(self, on: bool) -> None:
        self._set("outline_only", bool(on))

    def set_color_by(self, mode: str) -> None:
        if mode not in COLOR_BY:
            raise ValueError(f"colour by one of {COLOR_BY}, got {mode!r}")
        self._set("color_by", mode)

    def remembered(self) -> dict:
        """What the next session starts with: opacity, outlines, colour (not *hide all*: a
        window that opens showing no annotations would look like lost work)."""
        return {"opacity": self.opacity, "outline_only": self.outline_only, "color_by": self.color_by}

    def restore(self, saved: dict) -> None:
        """Apply what :meth:`remembered` gave; a missing or damaged value keeps the default."""
        opacity = saved.get("opacity")
        if isinstance(opacity, (int, float)) and not isinstance(opacity, bool) and opacity == opacity:
            self.set_opacity(opacity)
        if isinstance(saved.get("outline_only"), bool):
            self.set_outline_only(saved["outline_only"])
        if saved.get("color_by") in COLOR_BY:
            self.set_color_by(saved["color_by"])


__all__ = ["COLOR_BY", "DEFAULT_OPACITY", "OPACITY_STEP", "OPTIONS", "ViewOptions"]
