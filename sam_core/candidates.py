"""Candidates: SAM's masks for one prompt, upscaled to full resolution only on demand.

An interactive click needs all candidates' scores but usually one full-resolution
mask (the one shown); the rest are shown as low-resolution thumbnails.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch
from torch.nn import functional as F

from .utils.generation import stability_score


def stability_scores(logits: torch.Tensor, threshold: float = 0.0, offset: float = 1.0) -> torch.Tensor:
    """:func:`sam_core.utils.generation.stability_score`, with 0 instead of NaN for a mask that
    is empty even at the low cut (a score the candidates panel can show)."""
    return torch.nan_to_num(stability_score(logits, threshold, offset), nan=0.0)


@dataclass
class Candidates:
    """Masks predicted for one prompt on one image.

    Attributes:
        iou_predictions: (C,) float32 predicted IoU, in SAM's output order.
        stability_scores: (C,) float32, measured on the 256x256 low-res logits.
        low_res_logits: (C, 256, 256) float32 in the padded 1024 input frame (/4);
            feed one back as ``mask_input`` (1x256x256) for the next click.
        original_size: (H, W) of the image. input_size: (h, w) resized, before padding.
    """

    iou_predictions: np.ndarray
    stability_scores: np.ndarray
    low_res_logits: np.ndarray
    original_size: tuple[int, int]
    input_size: tuple[int, int]
    _upscale: Callable[[int], np.ndarray] = field(repr=False)
    _masks: dict[int, np.ndarray] = field(default_factory=dict, repr=False)

    def __len__(self) -> int:
        return len(self.iou_predictions)

    @property
    def best(self) -> int:
        """Index of the candidate with the highest predicted IoU."""
        return int(np.argmax(self.iou_predictions))

    @property
    def order(self) -> list[int]:
        """Candidate indices by predicted IoU, highest first."""
        return [int(i) for i in np.argsort(-self.iou_predictions, kind="stable")]

    def mask(self, index: int) -> np.ndarray:
        """Full-resolution HxW bool mask of candidate ``index`` (computed once, then cached)."""
        if index not in self._masks:
            self._masks[index] = self._upscale(index)
        return self._masks[index]

    def thumbnail(self, index: int, max_side: int = 128) -> np.ndarray:
        """A cheap hxw bool preview from the low-res logits: the image area only (no
        padding), in the image's aspect ratio (SAM 2's input frame is stretched square),
        its longest side at most ``max_side``."""
        h = max(1, round(self.input_size[0] / 4))
        w = max(1, round(self.input_size[1] / 4))
        logits = torch.from_numpy(self.low_res_logits[index, :h, :w])[None, None]
        height, width = self.original_size
        longest = min(max_side, max(h, w))
        size = (max(1, round(height * longest / max(height, width))), max(1, round(width * longest / max(height, width))))
        if size != (h, w):
            logits = F.interpolate(logits, size, mode="bilinear", align_corners=False)
        return (logits[0, 0] > 0).numpy()
