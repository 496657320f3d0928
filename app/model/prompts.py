"""The interactive state of the image being labelled: prompts and SAM's candidates.

Qt-free. Prompts are kept in the order they were given, so Backspace removes the
last one. After each decode the selected candidate's low-res logits are kept per
prompt count: the next decode feeds them back as ``mask_input`` (SAM's iterative
refinement) and removing a prompt restores the logits of the state before it.

Prompt changes are undoable: :class:`PromptState` is a snapshot (prompts plus
those logits, shared rather than copied), the ``with_*`` methods compute the
state a change leads to without applying it, and :meth:`PromptSession.restore`
applies a state. Each image keeps its prompts while the app runs, so its undo
history stays valid after visiting other images.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from app.model import EmitterGroup


@dataclass(frozen=True)
class Prompt:
    """A point ((x, y), label 1 positive / 0 negative) or a box (XYXY), original frame."""

    kind: str  # "point" or "box"
    coords: tuple[float, ...]
    label: int = 1


@dataclass(frozen=True)
class PromptState:
    """The prompts of one image and the logits kept per prompt count (for ``mask_input``)."""

    prompts: tuple[Prompt, ...] = ()
    logits: dict[int, np.ndarray] = field(default_factory=dict)


class CandidateSet(Protocol):
    """What the session needs of :class:`sam_core.candidates.Candidates`."""

    iou_predictions: np.ndarray
    stability_scores: np.ndarray
    low_res_logits: np.ndarray | None

    def __len__(self) -> int: ...
    @property
    def best(self) -> int: ...
    @property
    def order(self) -> list[int]: ...
    def mask(self, index: int) -> np.ndarray: ...
    def thumbnail(self, index: int, max_side: int = 128) -> np.ndarray: ...


class BoxCandidates:
    """One rectangular candidate, for labelling with a box when no checkpoint is loaded."""

    def __init__(self, box: tuple[float, float, float, float], shape: tuple[int, int]) -> None:
        h, w = shape
        x0, y0, x1, y1 = box
        self._mask = np.zeros(shape, dtype=bool)
        self._mask[max(0, round(y0)) : min(h, round(y1)), max(0, round(x0)) : min(w, round(x1))] = True
        self.iou_predictions = np.array([np.nan], dtype=np.float32)
        self.stability_scores = np.array([np.nan], dtype=np.float32)
        self.low_res_logits = None
        self.best, self.order = 0, [0]

    def __len__(self) -> int:
        return 1

    def mask(self, index: int) -> np.ndarray:
        return self._mask

    def thumbnail(self, index: int, max_side: int = 128) -> np.ndarray:
        step = max(1, int(np.ceil(max(self._mask.shape) / max_side)))
        return self._mask[::step, ::step]


class PromptSession:
    """Prompts and candidates of one image.

    Events: ``prompts_changed``, ``candidates_changed``, ``selection_changed``.
    """

    def __init__(self, image_id: int | None = None, shape: tuple[int, int] | None = None) -> None:
        self.events = EmitterGroup(self, ("prompts_changed", "candidates_changed", "selection_changed"))
        self.image_id = image_id
        self.shape = shape  # (H, W)
        self.use_mask_input = True
        self.prompts: list[Prompt] = []
        self.candidates: CandidateSet | None = None
        self.selected: int | None = None
        self._logits: dict[int, np.ndarray] = {}  # prompt count -> selected candidate's logits
        self._saved: dict[int, PromptState] = {}  # other images' prompts

    def reset(self, image_id: int | None, shape: tuple[int, int] | None) -> None:
        """Switch to another image: this image's prompts are kept for when it comes
        back, and that image's are restored (without candidates: decode again).
        ``image_id=None`` (a new project) forgets every image's prompts."""
        if self.image_id is not None:
            self._saved[self.image_id] = self.state()
        if image_id is None:
            self._saved.clear()
        self.image_id, self.shape = image_id, shape
        self.set_candidates(None)
        self.restore(self._saved.pop(image_id, PromptState()) if image_id is not None else PromptState())

    # -- prompt states (undo) ------------------------------------------------------------------------
    def state(self) -> PromptState:
        return PromptState(tuple(self.prompts), dict(self._logits))

    def restore(self, state: PromptState) -> None:
        """Make ``state`` the current prompts (an undo, a redo, or a change)."""
        self.prompts = list(state.prompts)
        self._logits = dict(state.logits)
        self._prompts_changed()

    def with_point(self, x: float, y: float, positive: bool) -> PromptState:
        return self._then(self.prompts + [Prompt("point", (float(x), float(y)), int(bool(positive)))])

    def with_box(self, x0: float, y0: float, x1: float, y1: float) -> PromptState:
        """SAM takes one box: a new one replaces the old."""
        box = (min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))
        return self._then([p for p in self.prompts if p.kind != "box"] + [Prompt("box", tuple(map(float, box)))])

    def without_last(self) -> PromptState | None:
        return self._then(self.prompts[:-1]) if self.prompts else None

    def _then(self, prompts: list[Prompt]) -> PromptState:
        return PromptState(tuple(prompts), {n: v for n, v in self._logits.items() if n < len(prompts)})

    # -- prompts -------------------------------------------------------------------------------------
    def _prompts_changed(self) -> None:
        count = len(self.prompts)
        self._logits = {n: v for n, v in self._logits.items() if n < count}
        if not self.prompts:
            self.set_candidates(None)
        self.events.prompts_changed.emit(self.prompts)

    @property
    def points(self) -> np.ndarray:
        """Nx2 float32 (x, y) in the original frame."""
        pts = [p.coords for p in self.prompts if p.kind == "point"]
        return np.array(pts, dtype=np.float32).reshape(-1, 2)

    @property
    def labels(self) -> np.ndarray:
        return np.array([p.label for p in self.prompts if p.kind == "point"], dtype=np.int32)

    @property
    def box(self) -> np.ndarray | None:
        boxes = [p.coords for p in self.prompts if p.kind == "box"]
        return np.array(boxes[-1], dtype=np.float32) if boxes else None

    @property
    def multimask(self) -> bool:
        """SAM's rule: three candidates for one ambiguous prompt, one once there are more."""
        return len(self.prompts) <= 1

    @property
    def mask_input(self) -> np.ndarray | None:
        """1x256x256 logits of the previous state's selected candidate, if refining."""
        if not self.use_mask_input:
            return None
        logits = self._logits.get(len(self.prompts) - 1)
        return None if logits is None else logits[None]

    # -- candidates ----------------------------------------------------------------------------------
    def set_candidates(self, candidates: CandidateSet | None) -> None:
        self.candidates = candidates
        self.selected = None if candidates is None else candidates.best
        self._remember_logits()
        self.events.candidates_changed.emit(candidates)
        self.events.selection_changed.emit(self.selected)

    def select(self, index: int) -> bool:
        """Select candidate ``index`` (SAM's output order); False when there is none such."""
        if self.candidates is None or not 0 <= index < len(self.candidates):
            return False
        self.selected = index
        self._remember_logits()
        self.events.selection_changed.emit(index)
        return True

    def select_rank(self, rank: int) -> bool:
        """Select the candidate ranked ``rank`` by predicted IoU (0 = best)."""
        if self.candidates is None or not 0 <= rank < len(self.candidates):
            return False
        return self.select(self.candidates.order[rank])

    def cycle(self) -> bool:
        if self.candidates is None or self.selected is None:
            return False
        order = self.candidates.order
        return self.select(order[(order.index(self.selected) + 1) % len(order)])

    def selected_mask(self) -> np.ndarray | None:
        if self.candidates is None or self.selected is None:
            return None
        return self.candidates.mask(self.selected)

    def _remember_logits(self) -> None:
        if self.candidates is not None and self.candidates.low_res_logits is not None and self.selected is not None:
            self._logits[len(self.prompts)] = self.candidates.low_res_logits[self.selected]
