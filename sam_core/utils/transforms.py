"""Resizing to the network's input frame and mapping prompts into it.

Frames: the *original* frame is the user's image (H x W pixels). SAM v1's *input*
frame (:class:`ResizeLongestSide`) is that image resized so its longest side is
``target_length`` (1024), before padding; SAM 2's (:class:`ResizeSquare`) is the
image stretched to 1024 x 1024. Coordinates scale by newsize/oldsize per axis, as
in each reference.
"""
from __future__ import annotations

from copy import deepcopy

import numpy as np
import torch
from torch.nn import functional as F


def get_preprocess_shape(oldh: int, oldw: int, long_side_length: int) -> tuple[int, int]:
    """(h, w) after scaling the longest side to ``long_side_length``, rounded half up."""
    scale = long_side_length * 1.0 / max(oldh, oldw)
    return int(oldh * scale + 0.5), int(oldw * scale + 0.5)


class ResizeLongestSide:
    """Resize images and prompts so that the longest image side is ``target_length``."""

    def __init__(self, target_length: int) -> None:
        self.target_length = target_length

    def input_size(self, original_size: tuple[int, ...]) -> tuple[int, int]:
        """(h, w) of the resized image, before padding."""
        return get_preprocess_shape(original_size[0], original_size[1], self.target_length)

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


class ResizeSquare:
    """SAM 2's frames: the image is resized to ``size`` x ``size`` whatever its aspect (no
    padding), and prompts scale by size/W and size/H, as ``SAM2Transforms`` does.

    ``apply_image`` gives HxWx3 float32 in [0, 1] (torchvision's ToTensor, then its
    antialiased bilinear resize of float tensors).
    """

    def __init__(self, size: int) -> None:
        self.size = size

    def input_size(self, original_size: tuple[int, ...]) -> tuple[int, int]:
        return self.size, self.size

    def apply_image(self, image: np.ndarray) -> np.ndarray:
        """HxWx3 uint8 -> size x size x 3 float32 in [0, 1]."""
        tensor = torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1)[None].float().div(255)
        return self.apply_image_torch(tensor)[0].permute(1, 2, 0).contiguous().numpy()

    def apply_image_torch(self, image: torch.Tensor) -> torch.Tensor:
        """Bx3xHxW float -> Bx3xSxS float, antialiased bilinear."""
        return F.interpolate(image, (self.size, self.size), mode="bilinear", align_corners=False, antialias=True)

    def apply_coords(self, coords: np.ndarray, original_size: tuple[int, ...]) -> np.ndarray:
        """...x2 (x, y) in the original frame -> the input frame (float32 arithmetic, as the reference)."""
        coords = self.apply_coords_torch(torch.as_tensor(np.asarray(coords), dtype=torch.float), original_size)
        return coords.numpy()

    def apply_boxes(self, boxes: np.ndarray, original_size: tuple[int, ...]) -> np.ndarray:
        """...x4 XYXY boxes in the original frame -> Nx4 in the input frame."""
        return self.apply_coords(np.asarray(boxes).reshape(-1, 2, 2), original_size).reshape(-1, 4)

    def apply_coords_torch(self, coords: torch.Tensor, original_size: tuple[int, ...]) -> torch.Tensor:
        h, w = original_size
        coords = coords.clone().to(torch.float)
        coords[..., 0] = coords[..., 0] / w
        coords[..., 1] = coords[..., 1] / h
        return coords * self.size

    def apply_boxes_torch(self, boxes: torch.Tensor, original_size: tuple[int, ...]) -> torch.Tensor:
        return self.apply_coords_torch(boxes.reshape(-1, 2, 2), original_size).reshape(-1, 4)
