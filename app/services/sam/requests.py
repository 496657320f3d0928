"""What the UI thread asks the SAM worker for that is more than a key and an image (no Qt)."""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class DecodeRequest:
    """One interactive prompt on one image, in the original image frame.

    ``points`` Nx2 float (x, y) pixels, ``labels`` N int (1 positive, 0 negative),
    ``box`` XYXY or None, ``mask_input`` 1x256x256 low-res logits or None.
    ``id`` grows with every request: only the latest one's result is ever emitted.
    """

    id: int
    key: str
    points: np.ndarray
    labels: np.ndarray
    box: np.ndarray | None = None
    mask_input: np.ndarray | None = None
    multimask: bool = True
    started: float = field(default_factory=time.perf_counter)


@dataclass(frozen=True)
class PrecomputeRequest:
    """Encode ``image`` (HxWx3 uint8) into the disk cache under its pixel hash.
    ``generation`` is the worker's precompute generation when it was asked for: a
    cancel bumps it, so a request of an older generation is never resumed."""

    key: str
    image: np.ndarray
    image_hash: str
    generation: int
