"""Hiera's blocks for inference: same arithmetic as ``MultiScaleBlock.forward``, on token rows.

Tokens are (B*H*W) x C rows in grid order; a block updates them in place (or, when it
pools, returns new rows). Per block:

* windowed attention: the normed tokens go once into zero-padded window order (the
  padding rows of that kept buffer are never written, so they stay zero and their keys
  and values are the projection biases, as in the reference) and come back with one
  gather;
* a pooling block (the first of stages 2-4) projects the padded windows once with the
  query/key/value *and* the residual projection stacked, max-pools queries and residual
  inside each window, attends, adds the output projection to the pooled residual and
  gathers the result into the new grid;
* residual additions are folded into the output GEMMs (``addmm_`` into the rows), and
  the large intermediates live in a kept workspace (:mod:`sam_core.modeling.workspace`).

Attention has no positional terms in Hiera, so windows are just a batch of
``scaled_dot_product_attention`` (on a CPU its flash kernel runs as fast as the GEMMs,
even for 4x4 windows). Max-pooling 2x2 cells is three elementwise maxima of strided
views (``amax`` over the two cell axes is four times slower).
"""
from __future__ import annotations

import torch
from torch.nn import functional as F

from ...utils import gemm
from ..workspace import buffer, window_index

def block_tokens(
    block, x: torch.Tensor, grid: tuple[int, int, int], workspace: dict
) -> tuple[torch.Tensor, tuple[int, int, int]]:
    """Run ``block`` (a ``MultiScaleBlock``) on rows ``x`` of a (B, H, W) grid.

    Returns the output rows (``x`` itself, updated, unless the block pools) and their grid.
    """
    if block.q_stride:
        x, grid = _pooling_attention(block, x, grid, workspace)
    else:
        _attention_in_place(block, x, grid, workspace)
    _mlp_in_place(block, x, workspace)
    return x, grid


def _attention_in_place(block, x: torch.Tensor, grid: tuple[int, int, int], workspace: dict) -> None:
    attn, window = block.attn, block.window_size
    c = x.shape[1]
    normed = block.norm1(x)
    if window == 0:
        groups, rows = grid[0], normed
    else:
        index = window_index(workspace, grid, window, x.device)
        b, h, w = grid
        groups = b * -(-h // window) * -(-w // window)
        rows = buffer(workspace, "window_tokens", (groups * window * window, c), x, zeros=True)
        rows.index_copy_(0, index, normed)
    qkv = buffer(workspace, "qkv", (rows.shape[0], 3 * c), x)
    gemm.linear_into(rows, attn.qkv.weight, attn.qkv.bias, qkv)
    tokens = rows.shape[0] // groups
    q, k, v = qkv.view(groups, tokens, 3, attn.num_heads, -1).permute(2, 0, 3, 1, 4).unbind(0)
    attended = _attend(q, k, v)
    if window > 0:
        attended = torch.index_select(attended, 0, index, out=buffer(workspace, "attended", (x.shape[0], c), x))
    gemm.add_linear_(x, attended, attn.proj.weight, attn.proj.bias)


def _pooling_attention(
    block, x: torch.Tensor, grid: tuple[int, int, int], workspace: dict
) -> tuple[torch.Tensor, tuple[int, int, int]]:
    attn, window, stride = block.attn, block.window_size, block.q_stride
    b, h, w = grid
    c, c_out = x.shape[1], block.dim_out
    normed = block.norm1(x)
    index = window_index(workspace, grid, window, x.device)
    groups = b * -(-h // window) * -(-w // window)
    rows = buffer(workspace, "window_tokens", (groups * window * window, c), x, zeros=True)
    rows.index_copy_(0, index, normed)
    weight, bias = _stacked_projection(block)
    projected = buffer(workspace, "pool_projection", (rows.shape[0], 4 * c_out), x)
    gemm.linear_into(rows, weight, bias, projected)
    small = window // stride
    cells = projected.view(groups, small, stride, small, stride, 4 * c_out)
    queries = _max_pool_cells(cells[..., :c_out], buffer(workspace, "pooled_queries", (groups, small, small, c_out), x))
    queries = queries.view(groups, small * small, attn.num_heads, -1).transpose(1, 2)
    residual = _max_pool_cells(cells[..., 3 * c_out :], x.new_empty(groups, small, small, c_out))
    residual = residual.view(groups * small * small, c_out)
    kv = projected.view(groups, window * window, 4, attn.num_heads, -1)
    attended = _attend(queries, kv[:, :, 1].transpose(1, 2), kv[:, :, 2].transpose(1, 2))
    gemm.add_linear_(residual, attended, attn.proj.weight, attn.proj.bias)
    pooled = (b, h // stride, w // stride)
    out_index = window_index(workspace, pooled, small, x.device)
    return torch.index_select(residual, 0, out_index), pooled


def _stacked_projection(block) -> tuple[torch.Tensor, torch.Tensor]:
    """``[qkv; proj]`` weights (4*C_out x C) and biases, kept while the weights are unchanged."""
    qkv, proj = block.attn.qkv, block.proj
    key = tuple((p._version, p.data_ptr(), p.dtype, p.device) for p in (qkv.weight, qkv.bias, proj.weight, proj.bias))
    cached = getattr(block, "_stacked", None)
    if cached is None or cached[0] != key:
        cached = (key, torch.cat([qkv.weight, proj.weight]), torch.cat([qkv.bias, proj.bias]))
        block._stacked = cached
    return cached[1], cached[2]


def _max_pool_cells(cells: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
    """G x h x s x w x s x C (a strided view) -> ``out`` G x h x w x C, the max of each s x s cell."""
    stride = cells.shape[2]
    offsets = [(i, j) for i in range(stride) for j in range(stride)]
    torch.maximum(cells[:, :, 0, :, 0], cells[:, :, 0, :, 1], out=out)
    for i, j in offsets[2:]:
        torch.maximum(out, cells[:, :, i, :, j], out=out)
    return out


def _attend(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """q: G x heads x Tq x D, k and v: G x heads x T x D (views) -> (G*Tq) x (heads*D) rows."""
    groups, heads, queries, dim = q.shape
    out = F.scaled_dot_product_attention(q, k, v)
    return out.transpose(1, 2).reshape(groups * queries, heads * dim)  # a view when SDPA wrote token-major


def _mlp_in_place(block, x: torch.Tensor, workspace: dict) -> None:
    lin1, lin2 = block.mlp.layers
    hidden = buffer(workspace, "mlp_hidden", (x.shape[0], lin1.out_features), x)
    gemm.linear_into(block.norm2(x), lin1.weight, lin1.bias, hidden)
    torch.ops.aten.gelu_(hidden)
    gemm.add_linear_(x, hidden, lin2.weight, lin2.bias)
