"""Inference buffers kept between calls (a *workspace*), shared by the encoders' fast paths.

Allocating a large tensor afresh for every image costs more in page faults than
filling it, so the encoders keep their big intermediates in a dict of storages.
"""
from __future__ import annotations

import math

import torch


def buffer(workspace: dict, name: str, shape: tuple[int, ...], like: torch.Tensor, zeros: bool = False) -> torch.Tensor:
    """A reusable buffer of ``shape`` from ``workspace``, like ``like`` (dtype, device).

    Blocks of different kinds take differently shaped buffers of one name from the same
    storage, grown to the largest. ``zeros``: zero-filled when first allocated and kept
    per shape, for buffers whose untouched part must stay zero.
    """
    numel = math.prod(shape)
    key = (name, tuple(shape) if zeros else None, like.dtype, like.device)
    storage = workspace.get(key)
    if storage is None or storage.numel() < numel:
        storage = like.new_zeros(numel) if zeros else like.new_empty(numel)
        workspace[key] = storage
    return storage[:numel].view(shape)


def window_index(workspace: dict, grid: tuple[int, int, int], window: int, device: torch.device) -> torch.Tensor:
    """For each token of a BxHxW grid (row-major), its row in zero-padded window order:
    (B*nWindows) x window x window, windows row-major (as ``window_partition`` lays them out)."""
    key = ("window_index", grid, window, device)
    if key not in workspace:
        b, h, w = grid
        n_h, n_w = -(-h // window), -(-w // window)
        image = torch.arange(b, device=device)[:, None, None]
        row = torch.arange(h, device=device)[None, :, None]
        col = torch.arange(w, device=device)[None, None, :]
        window_number = (image * n_h + row // window) * n_w + col // window
        workspace[key] = ((window_number * window + row % window) * window + col % window).reshape(-1)
    return workspace[key]
