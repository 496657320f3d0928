"""SAM 2's prompt encoder: SAM v1's, except that points may carry the box-corner labels.

SAM 2's image predictor passes a box as its two corners, labelled 2 (top-left) and 3
(bottom-right), ahead of the points, and always appends the padding point.
"""
from __future__ import annotations

import torch

from ..prompt_encoder import PromptEncoder


class Sam2PromptEncoder(PromptEncoder):
    """Labels: -1 padding, 0 background, 1 foreground, 2 and 3 box corners."""

    def embed_points(self, points: torch.Tensor, labels: torch.Tensor, pad: bool) -> torch.Tensor:
        emb = super().embed_points(points, labels, pad)
        if pad:
            labels = torch.cat([labels, -labels.new_ones(labels.shape[0], 1)], dim=1)
        labels = labels[..., None]
        emb = emb + torch.where(labels == 2, self.point_embeddings[2].weight, 0.0)
        return emb + torch.where(labels == 3, self.point_embeddings[3].weight, 0.0)
