"""Convert whatever image array a user hands over into HxWx3 uint8 RGB."""
from __future__ import annotations

import numpy as np


def to_rgb_uint8(image: np.ndarray, image_format: str = "RGB") -> np.ndarray:
    """Accept HxW or HxWx1 grey, HxWx3 RGB/BGR, HxWx4 RGBA/BGRA; uint8, uint16 or float.

    * 16-bit values are scaled by 255/65535 (rounded); floats are taken as [0, 1]
      when their max is <= 1, else as [0, 255]; bools become 0/255.
    * Alpha is dropped (SAM sees colour only).
    * ``image_format`` "BGR" reverses the channel order.

    Returns a C-contiguous HxWx3 uint8 RGB array.
    """
    image = np.asarray(image)
    if image.ndim == 2:
        image = image[:, :, None]
    if image.ndim != 3 or image.shape[2] not in (1, 3, 4):
        raise ValueError(f"expected an HxW, HxWx3 or HxWx4 image, got shape {image.shape}")
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise ValueError(f"image is empty (shape {image.shape})")
    image = _to_uint8(image)
    if image.shape[2] == 1:
        image = np.repeat(image, 3, axis=2)
    elif image.shape[2] == 4:
        image = image[:, :, :3]
    if image_format.upper() == "BGR":
        image = image[:, :, ::-1]
    elif image_format.upper() != "RGB":
        raise ValueError(f"image_format must be 'RGB' or 'BGR', got {image_format!r}")
    return np.ascontiguousarray(image)


def _to_uint8(image: np.ndarray) -> np.ndarray:
    if image.dtype == np.uint8:
        return image
    if image.dtype == np.bool_:
        return image.astype(np.uint8) * 255
    if image.dtype == np.uint16:
        return ((image.astype(np.uint32) * 255 + 32767) // 65535).astype(np.uint8)
    if np.issubdtype(image.dtype, np.floating):
        scale = 255.0 if np.nanmax(image) <= 1.0 else 1.0
        return np.clip(np.nan_to_num(image) * scale + 0.5, 0, 255).astype(np.uint8)
    if np.issubdtype(image.dtype, np.integer):
        return np.clip(image, 0, 255).astype(np.uint8)
    raise ValueError(f"unsupported image dtype {image.dtype}")
