"""Rows of the zero padding that an encoder's convolutional stages need not compute.

SAM pads a resized image with zeros at the bottom (or right) up to a square. In a
convolutional stage, an output row whose receptive field holds only padding rows has
exactly the value it has for an input that is padding everywhere (a *blank* input):
the arithmetic is the same. So those rows are copied from the stage's output on the
blank input, made once per network and input size (:class:`BlankOutputs`), instead of
computed: about a third of the rows for a 3:2 photo. Only rows are skipped (a portrait
image pads columns, which is computed in full).

Frames: ``rows`` counts rows from the top of a map; rows ``>= rows`` are *clean* (equal
to the blank run's).
"""
from __future__ import annotations

import torch


def content_rows(x: torch.Tensor) -> int:
    """Rows of a 1 x C x H x W input above its trailing all-zero rows."""
    nonzero = x[0].ne(0).any(dim=0).any(dim=1).nonzero()
    return int(nonzero[-1]) + 1 if len(nonzero) else 0


def conv_reach(rows: int, stride: int, halo: int = 1) -> int:
    """Dirty output rows of a convolution with padding ``halo`` (a 3x3 convolution's is 1) and
    ``stride``, when input rows ``< rows`` are dirty: output row o reads input rows from
    ``o * stride - halo``."""
    return -(-(rows + halo) // stride)


def weights_key(module: torch.nn.Module) -> tuple:
    """Identifies the current values of every tensor of ``module`` (storage and version counter)."""
    return tuple((t.data_ptr(), t._version) for t in list(module.parameters()) + list(module.buffers()))


class BlankOutputs:
    """The outputs of an encoder's convolutional steps on a blank input, by step name.

    Valid for one input shape, dtype, device and set of weight values; :meth:`fresh` says
    whether the kept ones still are.
    """

    def __init__(self, key: tuple) -> None:
        self.key = key
        self.outputs: dict[str, torch.Tensor] = {}

    def fresh(self, key: tuple) -> bool:
        return self.key == key and bool(self.outputs)
