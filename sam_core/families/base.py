"""What every SAM family provides: the network interface the one ``SamPredictor`` drives,
the embedding it produces, and the loader's description of a family.

A *network* (``nn.Module``, parameter names equal to the official checkpoint's) offers:

* ``config`` with ``family`` ("sam", "sam2", "sam2.1", ...), ``variant`` ("vit_b",
  "hiera_t", ...) and ``title`` (for people: "SAM 2.1 hiera_t");
* ``transform``: the family's image resize and prompt frames (``apply_image``,
  ``apply_coords``, ``apply_boxes`` and their ``_torch`` forms, ``input_size``);
* ``preprocess(x)``: the transformed 1x3xhxw image tensor -> the encoder's input;
* ``encode(pixels)`` -> :class:`ImageEmbedding`, float32, batch of one image;
* ``embedding_shapes()``: the name -> shape that ``encode`` produces, for checks;
* ``build_decoder_cache(embedding)``: what decoding reuses for every prompt on one image;
* ``decode(cache, point_coords, point_labels, boxes, mask_input, multimask_output)``:
  prompts in the input frame -> (low-res logits B x M x 256 x 256, predicted IoU B x M);
* ``postprocess_masks(low_res, input_size, original_size)`` -> logits in the original frame;
* ``low_res_logit_limit``: None, or the bound the family's predictor clamps returned
  low-res logits to (SAM 2: 32);
* ``generator_defaults``: the family's own ``SamAutomaticMaskGenerator`` arguments;
* ``mask_threshold``, ``image_format``, ``device``, and ``image_encoder`` (its
  ``blocks`` in order, for progress hooks).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Collection, Iterator, Mapping

import torch

IMAGE_EMBED = "image_embed"


class ImageEmbedding(Mapping[str, torch.Tensor]):
    """An encoder's output for one image: named tensors, each 1 x C x h x w.

    SAM v1 has one (``image_embed``, 1x256x64x64); SAM 2 adds its two high-resolution
    feature maps. Read-only; :meth:`to` makes a converted copy.
    """

    def __init__(self, tensors: Mapping[str, torch.Tensor]) -> None:
        if IMAGE_EMBED not in tensors:
            raise ValueError(f"an image embedding needs {IMAGE_EMBED!r}, got {sorted(tensors)}")
        self._tensors = dict(tensors)

    def __getitem__(self, name: str) -> torch.Tensor:
        return self._tensors[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._tensors)

    def __len__(self) -> int:
        return len(self._tensors)

    def __repr__(self) -> str:
        shapes = ", ".join(f"{k}={tuple(v.shape)}" for k, v in self._tensors.items())
        return f"ImageEmbedding({shapes})"

    @property
    def image_embed(self) -> torch.Tensor:
        """The main embedding, 1 x C x 64 x 64 for every family so far."""
        return self._tensors[IMAGE_EMBED]

    def shapes(self) -> dict[str, tuple[int, ...]]:
        return {name: tuple(tensor.shape) for name, tensor in self._tensors.items()}

    def to(self, *args, **kwargs) -> "ImageEmbedding":
        """Every tensor through ``Tensor.to(*args, **kwargs)`` (device and/or dtype)."""
        return ImageEmbedding({name: tensor.to(*args, **kwargs) for name, tensor in self._tensors.items()})

    def detach(self) -> "ImageEmbedding":
        return ImageEmbedding({name: tensor.detach() for name, tensor in self._tensors.items()})


class ConfigError(ValueError):
    """The tensors do not describe a network of the family that claimed them."""


@dataclass(frozen=True)
class Family:
    """How the loader recognises, sizes and builds one SAM family from a state_dict.

    ``owns(keys)`` says whether the key layout is this family's (checked in registry
    order, the most specific family first). ``build(state_dict)`` reads the shape off the
    tensors (all of them: SAM 2.1 is told by a video tensor) and returns an untrained
    network in eval mode, or raises :class:`ConfigError`. ``network_weights(state_dict)``
    keeps the tensors the image network owns and loads (SAM 2 drops its video modules). ``title`` names the family in messages ("SAM 2 / 2.1").
    """

    title: str
    owns: Callable[[Collection[str]], bool]
    build: Callable[[Mapping[str, torch.Tensor]], torch.nn.Module]
    network_weights: Callable[[Mapping[str, torch.Tensor]], dict[str, torch.Tensor]] = dict


@dataclass(frozen=True)
class UnsupportedFamily:
    """A checkpoint layout recognised only to say plainly that it is not supported."""

    title: str
    owns: Callable[[Collection[str]], bool]
