"""SAM's decomposed relative-position attention bias.

For a query at grid cell (i, j) and a key at (k, l) the bias is
``q_ij . Rh[i - k] + q_ij . Rw[j - l]``, with ``Rh``/``Rw`` the learnt tables
(``rel_pos_h``/``rel_pos_w``, (2H-1) x head_dim, resized when trained for another
grid). The two factors are computed here; adding them gives the
(H*W) x (H*W) bias.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F


def rel_pos_terms(
    q: torch.Tensor, rel_pos_h: torch.Tensor, rel_pos_w: torch.Tensor, size: tuple[int, int]
) -> tuple[torch.Tensor, torch.Tensor]:
    """The two factors of the decomposed relative-position bias.

    ``q``: B x heads x (H*W) x head_dim, unscaled queries. Returns ``bias_h``
    (B x heads x (H*W) x H) and ``bias_w`` (B x heads x (H*W) x W); the attention bias is
    ``bias[(i,j),(k,l)] = bias_h[(i,j),k] + bias_w[(i,j),l] = q_ij . Rh[i-k] + q_ij . Rw[j-l]``.
    """
    h, w = size
    rh = relative_table(rel_pos_h, h)  # H x H x head_dim
    rw = relative_table(rel_pos_w, w)  # W x W x head_dim
    b, heads, _, dim = q.shape
    r_q = q.reshape(b, heads, h, w, dim)
    bias_h = torch.einsum("bnhwc,hkc->bnhwk", r_q, rh).reshape(b, heads, h * w, h)
    bias_w = torch.einsum("bnhwc,wkc->bnhwk", r_q, rw).reshape(b, heads, h * w, w)
    return bias_h, bias_w


def rel_pos_views(
    q: torch.Tensor,
    rel_pos_h: torch.Tensor,
    rel_pos_w: torch.Tensor,
    size: tuple[int, int],
    buffers: dict | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The factors of :func:`rel_pos_terms` without gathering tables: ``bias_h`` as a
    B x heads x H x W x H view and ``bias_w`` as a B x heads x H x W x W view (same values).

    One batched product of every query with every relative offset (both tables, rows
    reversed) gives ``p[.., i, j, m]``; query (i, j) needs offsets ``i - k`` for k = 0..H-1,
    which in the reversed table are the contiguous run ``m = H-1-i+k``, so each factor is a
    strided view of ``p``. ``q``: B x heads x (H*W) x head_dim, unscaled. ``buffers``: where
    to keep ``p`` (heads x (B*H*W) x offsets) for the next call of the same shape.
    """
    h, w = size
    b, heads, n, dim = q.shape
    table = torch.cat([resized_rel_pos(rel_pos_h, h).flip(0), resized_rel_pos(rel_pos_w, w).flip(0)])
    offsets = table.shape[0]  # (2H-1) + (2W-1)
    shape = (heads, b * n, offsets)
    key = ("rel_pos_products", shape, q.dtype, q.device)
    products = buffers.get(key) if buffers is not None else None
    if products is None:
        products = q.new_empty(shape)
        if buffers is not None:
            buffers[key] = products
    per_head = q.transpose(0, 1).reshape(heads, b * n, dim)  # a view of qkv
    torch.bmm(per_head, table.t().to(q.dtype).expand(heads, dim, offsets), out=products)
    image_stride, head_stride, base = n * offsets, b * n * offsets, products.storage_offset()
    bias_h = products.as_strided(
        (b, heads, h, w, h), (image_stride, head_stride, w * offsets - 1, offsets, 1), base + h - 1
    )
    bias_w = products.as_strided(
        (b, heads, h, w, w), (image_stride, head_stride, w * offsets, offsets - 1, 1), base + 2 * h - 1 + w - 1
    )
    return bias_h, bias_w


def resized_rel_pos(rel_pos: torch.Tensor, size: int) -> torch.Tensor:
    """``rel_pos`` (L x dim) linearly resized to 2*size-1 rows when it was trained for another size."""
    length = 2 * size - 1
    if rel_pos.shape[0] == length:
        return rel_pos
    return F.interpolate(rel_pos.T[None].float(), size=length, mode="linear")[0].T.to(rel_pos.dtype)


def relative_table(rel_pos: torch.Tensor, size: int) -> torch.Tensor:
    """Gather the size x size x dim table ``rel_pos[i - j + size - 1]``.

    A table trained for another size (length != 2*size-1) is linearly resized first.
    """
    rel_pos = resized_rel_pos(rel_pos, size)
    coords = torch.arange(size, device=rel_pos.device)
    index = coords[:, None] - coords[None, :] + (size - 1)
    return rel_pos[index]
