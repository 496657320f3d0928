"""Resizing to the model's input frame and mapping prompts into it.

Frames: the *original* frame is the user's image (H x W pixels). The *input*
frame is that image resized so its longest side is ``target_length`` (1024),
before padding; coordinates scale by newsize/oldsize per axis, as in the
reference.
"""
from __future__ import annotations

from copy import deepcopy

import numpy as np
import torch
from torch.nn import functional as F


def get_preprocess_shape(oldh: int, oldw: int, long_side_length: int) -> tuple[int, int]:
    """(h, w) after scaling the longest side to ``long_side_length``, rounded half up.

    A side that would round to 0 px (a 1x5000 image: 0.2 px) is kept at 1 px, where the
    reference's resize fails; the rest of the input frame is padding, as for every image.
    """
    scale = long_side_length * 1.0 / max(oldh, oldw)
    return max(1, int(oldh * scale + 0.5)), max(1, int(oldw * scale + 0.5))


class ResizeLongestSide:
    """Resize images and prompts so that the longest image side is ``target_length``."""

    def __init__(self, target_length: int) -> None:
        self.target_length = target_length

    def apply_image(self, image: np.ndarray) -> np.ndarray:
        """HxWx3 uint8 -> hxwx3 uint8, antialiased bilinear (Pillow-like, see resize_uint8)."""
        h, w = get_preprocess_shape(image.shape[0], image.shape[1], self.target_length)
        tensor = torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1)[None]
        out = resize_uint8(tensor, (h, w))
        return out[0].permute(1, 2, 0).contiguous().numpy()

    def apply_coords(self, coords: np.ndarray, original_size: tuple[int, ...]) -> np.ndarray:
        """...x2 (x, y) in the original frame -> the input frame (float copy)."""
        old_h, old_w = original_size
        new_h, new_w = get_preprocess_shape(old_h, old_w, self.target_length)
        coords = deepcopy(coords).astype(float)
        coords[..., 0] = coords[..., 0] * (new_w / old_w)
        coords[..., 1] = coords[..., 1] * (new_h / old_h)
        return coords

    def apply_boxes(self, boxes: np.ndarray, original_size: tuple[int, ...]) -> np.ndarray:
        """...x4 XYXY boxes in the original frame -> Nx4 in the input frame."""
        return self.apply_coords(boxes.reshape(-1, 2, 2), original_size).reshape(-1, 4)

    def apply_image_torch(self, image: torch.Tensor) -> torch.Tensor:
        """Bx3xHxW float -> Bx3xhxw float, antialiased bilinear."""
        h, w = get_preprocess_shape(image.shape[2], image.shape[3], self.target_length)
        return F.interpolate(image, (h, w), mode="bilinear", align_corners=False, antialias=True)

    def apply_coords_torch(self, coords: torch.Tensor, original_size: tuple[int, ...]) -> torch.Tensor:
        """Torch version of :meth:`apply_coords` (returns float)."""
        old_h, old_w = original_size
        new_h, new_w = get_preprocess_shape(old_h, old_w, self.target_length)
        coords = coords.clone().to(torch.float)
        coords[..., 0] = coords[..., 0] * (new_w / old_w)
        coords[..., 1] = coords[..., 1] * (new_h / old_h)
        return coords

    def apply_boxes_torch(self, boxes: torch.Tensor, original_size: tuple[int, ...]) -> torch.Tensor:
        """Torch version of :meth:`apply_boxes`."""
        return self.apply_coords_torch(boxes.reshape(-1, 2, 2), original_size).reshape(-1, 4)


def resize_uint8(image: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Bx3xHxW uint8 -> Bx3xhxw uint8 with antialiased bilinear filtering.

    PyTorch's uint8 path implements Pillow's separable antialias filter; results
    agree with ``PIL.Image.resize(BILINEAR)`` (what the reference uses) to within
    one grey level, on a small fraction of pixels.
    """
    if tuple(image.shape[-2:]) == tuple(size):
        return image.clone()
    image = image.contiguous(memory_format=torch.channels_last)
    return F.interpolate(image, size, mode="bilinear", align_corners=False, antialias=True)
