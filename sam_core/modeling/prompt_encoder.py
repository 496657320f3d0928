"""Prompt encoder: points, boxes and a mask become sparse and dense embeddings."""
from __future__ import annotations

import math

import torch
from torch import nn

from .common import LayerNorm2d


class PositionEmbeddingRandom(nn.Module):
    """Random-Fourier-feature positional encoding of normalised (x, y) coordinates."""

    def __init__(self, num_pos_feats: int = 64) -> None:
        super().__init__()
        self.register_buffer("positional_encoding_gaussian_matrix", torch.randn((2, num_pos_feats)))

    def encode(self, coords: torch.Tensor) -> torch.Tensor:
        """``coords``: ...x2 (x, y) in [0, 1]. Returns ...x(2*num_pos_feats): [sin, cos]."""
        coords = (2 * coords - 1) @ self.positional_encoding_gaussian_matrix
        coords = 2 * math.pi * coords
        return torch.cat([torch.sin(coords), torch.cos(coords)], dim=-1)

    def forward(self, size: tuple[int, int]) -> torch.Tensor:
        """Dense encoding of an HxW grid of pixel centres. Returns CxHxW."""
        h, w = size
        matrix = self.positional_encoding_gaussian_matrix
        ys = (torch.arange(h, device=matrix.device, dtype=matrix.dtype) + 0.5) / h
        xs = (torch.arange(w, device=matrix.device, dtype=matrix.dtype) + 0.5) / w
        grid = torch.stack(
            [xs[None, :].expand(h, w), ys[:, None].expand(h, w)], dim=-1
        )
        return self.encode(grid).permute(2, 0, 1)

    def forward_with_coords(self, coords: torch.Tensor, image_size: tuple[int, int]) -> torch.Tensor:
        """``coords``: BxNx2 (x, y) in pixels of an image of ``image_size`` (H, W)."""
        coords = coords.clone()
        coords[:, :, 0] = coords[:, :, 0] / image_size[1]
        coords[:, :, 1] = coords[:, :, 1] / image_size[0]
        return self.encode(coords.to(self.positional_encoding_gaussian_matrix.dtype))


class MaskDownscaling(nn.Sequential):
    """Bx1x4hx4w mask logits -> BxCxhxw: two 2x2 stride-2 convolutions (LayerNorm, GELU),
    then a 1x1 convolution. A ``Sequential`` so the keys stay Meta's
    (``mask_downscaling.0.weight`` ...); the layers are named here, once."""

    def __init__(self, mask_in_chans: int, embed_dim: int) -> None:
        super().__init__(
            nn.Conv2d(1, mask_in_chans // 4, kernel_size=2, stride=2),
            LayerNorm2d(mask_in_chans // 4),
            nn.GELU(),
            nn.Conv2d(mask_in_chans // 4, mask_in_chans, kernel_size=2, stride=2),
            LayerNorm2d(mask_in_chans),
            nn.GELU(),
            nn.Conv2d(mask_in_chans, embed_dim, kernel_size=1),
        )

    conv1 = property(lambda self: self[0])
    norm1 = property(lambda self: self[1])
    conv2 = property(lambda self: self[3])
    norm2 = property(lambda self: self[4])
    embed = property(lambda self: self[6])  # the last, 1x1 convolution: F features -> C

    def features(self, masks: torch.Tensor) -> torch.Tensor:
        """Everything before :attr:`embed`, on B x 1 x 4h x 4w logits: B x (h*w) x F
        token-major features (F = 16) for the click path.

        Each 2x2, stride-2 convolution is a GEMM over 2x2 patches in channels-last
        layout, which skips the layout conversions the convolutions need on a CPU.
        """
        conv1, norm1, conv2, norm2 = self.conv1, self.norm1, self.conv2, self.norm2
        b, _, height, width = masks.shape
        x = masks.reshape(b, height // 2, 2, width // 2, 2).permute(0, 1, 3, 2, 4).reshape(-1, 4)
        x = torch.addmm(conv1.bias, x, conv1.weight.reshape(conv1.out_channels, 4).t())
        x = nn.functional.layer_norm(x, (conv1.out_channels,), norm1.weight, norm1.bias, norm1.eps)
        x = nn.functional.gelu(x)
        channels = conv1.out_channels
        # (b, row, 2, col, 2, channel) patches -> (di, dj, channel) rows, as the weight is permuted
        x = x.view(b, height // 4, 2, width // 4, 2, channels).permute(0, 1, 3, 2, 4, 5).reshape(-1, 4 * channels)
        x = torch.addmm(conv2.bias, x, conv2.weight.permute(0, 2, 3, 1).reshape(conv2.out_channels, -1).t())
        x = nn.functional.layer_norm(x, (conv2.out_channels,), norm2.weight, norm2.bias, norm2.eps)
        return nn.functional.gelu(x).view(b, (height // 4) * (width // 4), conv2.out_channels)


class PromptEncoder(nn.Module):
    """Embeds prompts for the mask decoder.

    Coordinates are in the padded 1024x1024 input frame, (x, y) order. Point
    labels: 1 foreground, 0 background, -1 padding. Masks are Bx1x256x256 logits.
    """

    def __init__(
        self,
        embed_dim: int = 256,
        image_embedding_size: tuple[int, int] = (64, 64),
        input_image_size: tuple[int, int] = (1024, 1024),
        mask_in_chans: int = 16,
    ) -> None:
        super().__init__()
        self.embed_dim = embed_dim
        self.image_embedding_size = image_embedding_size
        self.input_image_size = input_image_size
        self.pe_layer = PositionEmbeddingRandom(embed_dim // 2)
        # 0: background point, 1: foreground point, 2: box top-left, 3: box bottom-right.
        self.point_embeddings = nn.ModuleList(nn.Embedding(1, embed_dim) for _ in range(4))
        self.not_a_point_embed = nn.Embedding(1, embed_dim)
        self.mask_input_size = (4 * image_embedding_size[0], 4 * image_embedding_size[1])
        self.mask_downscaling = MaskDownscaling(mask_in_chans, embed_dim)
        self.no_mask_embed = nn.Embedding(1, embed_dim)

    def get_dense_pe(self) -> torch.Tensor:
        """Positional encoding of the image embedding grid: 1xCx64x64."""
        return self.pe_layer(self.image_embedding_size).unsqueeze(0)

    def embed_points(self, points: torch.Tensor, labels: torch.Tensor, pad: bool) -> torch.Tensor:
        """BxNx2 points, BxN labels -> BxN'xC (N' = N+1 when ``pad``)."""
        points = points + 0.5  # pixel centres
        if pad:
            points = torch.cat([points, points.new_zeros(points.shape[0], 1, 2)], dim=1)
            labels = torch.cat([labels, -labels.new_ones(labels.shape[0], 1)], dim=1)
        emb = self.pe_layer.forward_with_coords(points, self.input_image_size)
        labels = labels[..., None]
        emb = torch.where(labels == -1, self.not_a_point_embed.weight, emb)
        emb = emb + torch.where(labels == 0, self.point_embeddings[0].weight, 0.0)
        emb = emb + torch.where(labels == 1, self.point_embeddings[1].weight, 0.0)
        return emb

    def embed_boxes(self, boxes: torch.Tensor) -> torch.Tensor:
        """Bx4 XYXY boxes -> Bx2xC corner embeddings."""
        corners = (boxes + 0.5).reshape(-1, 2, 2)
        emb = self.pe_layer.forward_with_coords(corners, self.input_image_size)
        corner_type = torch.cat([self.point_embeddings[2].weight, self.point_embeddings[3].weight])
        return emb + corner_type

    def forward(
        self,
        points: tuple[torch.Tensor, torch.Tensor] | None,
        boxes: torch.Tensor | None,
        masks: torch.Tensor | None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Returns (sparse BxNxC, dense BxCx64x64)."""
        if points is not None:
            batch = points[0].shape[0]
        elif boxes is not None:
            batch = boxes.shape[0]
        elif masks is not None:
            batch = masks.shape[0]
        else:
            batch = 1
        weight = self.no_mask_embed.weight
        sparse = [weight.new_empty(batch, 0, self.embed_dim)]
        if points is not None:
            sparse.append(self.embed_points(points[0], points[1], pad=boxes is None))
        if boxes is not None:
            sparse.append(self.embed_boxes(boxes))
        if masks is not None:
            dense = self.mask_downscaling(masks)
        else:
            h, w = self.image_embedding_size
            dense = weight.reshape(1, -1, 1, 1).expand(batch, -1, h, w)
        return torch.cat(sparse, dim=1), dense
