"""The ViT image encoder: 1024x1024 image -> 256x64x64 embedding.

Blocks alternate windowed attention (14x14 windows) with a few global-attention
blocks. Both use decomposed relative-position terms, passed to
``scaled_dot_product_attention`` as an additive bias so that the attention
scores themselves are never materialised by Python code.

During inference the large intermediates (qkv, the MLP hidden layer, the
attention scores or bias) live in buffers reused by every block and
kept from one image to the next (a *workspace*): allocating such a tensor afresh
costs more in page faults than filling it. The residual additions are folded into
the output GEMMs; windowed blocks move tokens into padded window order and back
with one index copy each; the relative-position factors are strided views of one
batched product. With autograd on, the blocks run the plain functional code
instead, as Meta's reference does.
"""
from __future__ import annotations

import threading
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ..utils import gemm
from .common import LayerNorm2d, MLPBlock
from .rel_pos import rel_pos_terms, rel_pos_views
from .workspace import buffer as _buffer, window_index as _window_index


BIAS_BYTES = 256 * 2**20  # most memory one attention bias may take during inference
CHUNK_BYTES = 32 * 2**20  # the scores of one chunk of query rows, global attention on a CPU
CHUNKED_MIN_TOKENS = 1024  # below this many tokens per grid, SDPA with a bias is as fast
_WORKSPACE_LOCK = threading.Lock()  # one encoder call at a time uses an encoder's kept workspace


class ImageEncoderViT(nn.Module):
    """ViT backbone plus the convolutional neck.

    Input: Bx3x``img_size``x``img_size`` float, already normalised and padded.
    Output: Bx``out_chans``x(img_size/patch_size)x(img_size/patch_size).
    """

    def __init__(
        self,
        img_size: int = 1024,
        patch_size: int = 16,
        in_chans: int = 3,
        embed_dim: int = 768,
        depth: int = 12,
        num_heads: int = 12,
        mlp_ratio: float = 4.0,
        out_chans: int = 256,
        window_size: int = 14,
        global_attn_indexes: Sequence[int] = (),
    ) -> None:
        super().__init__()
        self.img_size = img_size
        self._workspace: dict = {}
        grid = img_size // patch_size
        self.patch_embed = PatchEmbed(patch_size, in_chans, embed_dim)
        self.pos_embed = nn.Parameter(torch.zeros(1, grid, grid, embed_dim))
        self.blocks = nn.ModuleList(
            Block(
                dim=embed_dim,
                num_heads=num_heads,
                mlp_ratio=mlp_ratio,
                window_size=0 if i in global_attn_indexes else window_size,
                input_size=(grid, grid),
            )
            for i in range(depth)
        )
        self.neck = nn.Sequential(
            nn.Conv2d(embed_dim, out_chans, kernel_size=1, bias=False),
            LayerNorm2d(out_chans),
            nn.Conv2d(out_chans, out_chans, kernel_size=3, padding=1, bias=False),
            LayerNorm2d(out_chans),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._run(x, keep_early=False)[0]

    def forward_with_early(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(embedding, early feature): the early feature is the tokens after the first
        global-attention block, B x H x W x C (what HQ-SAM's decoder reads)."""
        embedding, early = self._run(x, keep_early=True)
        if early is None:
            raise ValueError("this encoder has no global-attention block")
        return embedding, early

    def _run(self, x: torch.Tensor, keep_early: bool) -> tuple[torch.Tensor, torch.Tensor | None]:
        x = (self.patch_embed(x) + self.pos_embed).contiguous()  # B x H x W x C
        early = None
        if torch.is_grad_enabled():
            for block in self.blocks:
                x = block(x)
                if keep_early and early is None and block.window_size == 0:
                    early = x
            return self.neck(x.permute(0, 3, 1, 2)), early
        # The workspace outlives the call: buffers kept from the last image cost no page
        # faults (about 0.2 s of a vit_b encode on 2 cores). A call made while another
        # one holds it (another thread, a hook) gets a workspace of its own.
        owned = _WORKSPACE_LOCK.acquire(blocking=False)
        workspace = self._workspace if owned else {}
        try:
            for block in self.blocks:
                x = block(x, workspace)
                if keep_early and early is None and block.window_size == 0:
                    early = x.clone()  # the blocks after it update x in place
        finally:
            if owned:
                _WORKSPACE_LOCK.release()
        return self.neck(x.permute(0, 3, 1, 2)), early

    def release_workspace(self) -> None:
        """Free the inference buffers kept between calls (on a CPU about 280 MB for vit_b, 430 MB for vit_h)."""
        with _WORKSPACE_LOCK:
            self._workspace = {}

    def _apply(self, fn, *args, **kwargs):  # .to(), .half(), ...: buffers of the old device or dtype go
        self._workspace = {}
        return super()._apply(fn, *args, **kwargs)


class PatchEmbed(nn.Module):
    """Non-overlapping patch projection; returns channels-last BxHxWxC."""

    def __init__(self, patch_size: int, in_chans: int, embed_dim: int) -> None:
        super().__init__()
        self.proj = nn.Conv2d(in_chans, embed_dim, kernel_size=patch_size, stride=patch_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(x).permute(0, 2, 3, 1)


class Block(nn.Module):
    """Pre-norm transformer block; ``window_size == 0`` means global attention."""

    def __init__(
        self, dim: int, num_heads: int, mlp_ratio: float, window_size: int, input_size: tuple[int, int]
    ) -> None:
        super().__init__()
        # SAM's encoder was trained with eps 1e-6 (the decoder keeps PyTorch's 1e-5).
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        attn_size = input_size if window_size == 0 else (window_size, window_size)
        self.attn = Attention(dim, num_heads, attn_size)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = MLPBlock(dim, int(dim * mlp_ratio))
        self.window_size = window_size

    def forward(self, x: torch.Tensor, workspace: dict | None = None) -> torch.Tensor:
        """``x``: BxHxWxC. With a ``workspace`` and autograd off, ``x`` itself is updated in
        place and returned (the encoder owns it); otherwise a new tensor is returned."""
        if workspace is None or torch.is_grad_enabled():
            return self._forward_functional(x)
        return self._forward_in_place(x, workspace)

    def _forward_functional(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = x
        x = self.norm1(x)
        if self.window_size > 0:
            h, w = x.shape[1], x.shape[2]
            x, padded_hw = window_partition(x, self.window_size)
            x = self.attn(x)
            x = window_unpartition(x, self.window_size, padded_hw, (h, w))
        else:
            x = self.attn(x)
        x = shortcut + x
        return x + self.mlp(self.norm2(x))

    def _forward_in_place(self, x: torch.Tensor, workspace: dict) -> torch.Tensor:
        # Same arithmetic as _forward_functional, but the residual additions are folded
        # into the output GEMMs (beta=1 into x) and the big intermediates (qkv, the MLP
        # hidden) go to buffers reused by every block: a fresh 50 MB tensor costs more
        # in page faults than the GELU that fills it.
        b, h, w, c = x.shape
        tokens = x.view(-1, c)
        y = self.norm1(tokens)
        if self.window_size > 0:
            attended = self.attn.attend_windows(y, (b, h, w), self.window_size, workspace)
        else:
            attended = self.attn.attend_tokens(y, b, (h, w), workspace)
        proj = self.attn.proj
        gemm.add_linear_(tokens, attended, proj.weight, proj.bias)

        lin1, lin2 = self.mlp.lin1, self.mlp.lin2
        if gemm.routes(tokens) and _exact_gelu(self.mlp.act):
            # oneDNN: the MLP a block of rows at a time, GELU fused into the first product;
            # the hidden rows (12 MB) stay in cache and no 50 MB buffer is needed.
            for top in range(0, tokens.shape[0], gemm.CHUNK_ROWS):
                rows = tokens[top : top + gemm.CHUNK_ROWS]
                hidden = gemm.linear(self.norm2(rows), lin1.weight, lin1.bias, gelu=True)
                rows.copy_(gemm.linear(hidden, lin2.weight, lin2.bias, residual=rows))
            return x
        hidden = _buffer(workspace, "mlp_hidden", (tokens.shape[0], lin1.out_features), x)
        gemm.linear_into(self.norm2(tokens), lin1.weight, lin1.bias, out=hidden)
        self.mlp.activate_(hidden)
        gemm.add_linear_(tokens, hidden, lin2.weight, lin2.bias)
        return x


def _exact_gelu(act: nn.Module) -> bool:
    """Whether ``act`` is the erf GELU that oneDNN's fused product computes."""
    return isinstance(act, nn.GELU) and act.approximate == "none"


class Attention(nn.Module):
    """Multi-head attention over a BxHxWxC grid with decomposed relative positions."""

    def __init__(self, dim: int, num_heads: int, input_size: tuple[int, int]) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.qkv = nn.Linear(dim, dim * 3)
        self.proj = nn.Linear(dim, dim)
        head_dim = dim // num_heads
        self.rel_pos_h = nn.Parameter(torch.zeros(2 * input_size[0] - 1, head_dim))
        self.rel_pos_w = nn.Parameter(torch.zeros(2 * input_size[1] - 1, head_dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x``: BxHxWxC -> BxHxWxC (the plain, differentiable path)."""
        b, h, w, c = x.shape
        return self.proj(merge_heads(self.attend(x), (h, w)))

    def attend(self, x: torch.Tensor) -> torch.Tensor:
        """Attention before the output projection: BxHxWxC -> B x heads x (H*W) x head_dim."""
        b, h, w, c = x.shape
        q, k, v = split_heads(self.qkv(x).view(b * h * w, 3 * c), b, self.num_heads)
        bias_h, bias_w = rel_pos_terms(q, self.rel_pos_h, self.rel_pos_w, (h, w))
        bias = (bias_h[..., :, None] + bias_w[..., None, :]).reshape(b, self.num_heads, h * w, h * w)
        return F.scaled_dot_product_attention(q, k, v, attn_mask=bias)

    def attend_windows(
        self, tokens: torch.Tensor, grid: tuple[int, int, int], window: int, workspace: dict
    ) -> torch.Tensor:
        """Windowed attention for inference: ``tokens`` (B*H*W) x C in grid order -> the same
        shape, before the output projection.

        The tokens go once into zero-padded window order (the padding rows of that buffer
        are never written, so they stay zero) and come back with one gather.
        """
        b, h, w = grid
        c = tokens.shape[1]
        index = _window_index(workspace, grid, window, tokens.device)
        n_h, n_w = -(-h // window), -(-w // window)
        windows = b * n_h * n_w
        padded = _buffer(workspace, "window_tokens", (windows * window * window, c), tokens, zeros=True)
        padded.index_copy_(0, index, tokens)
        attended = self.attend_tokens(padded, windows, (window, window), workspace)
        out = _buffer(workspace, "attended", tokens.shape, tokens)
        return torch.index_select(attended, 0, index, out=out)

    def attend_tokens(
        self, tokens: torch.Tensor, grids: int, size: tuple[int, int], workspace: dict
    ) -> torch.Tensor:
        """Attention within each of ``grids`` HxW grids, for inference: ``tokens``
        (grids*H*W) x C, grid after grid in row-major order -> the same shape, before the
        output projection. Intermediates live in ``workspace``.
        """
        h, w = size
        n, c, heads = h * w, tokens.shape[1], self.num_heads
        qkv = _buffer(workspace, "qkv", (tokens.shape[0], 3 * c), tokens)
        gemm.linear_into(tokens, self.qkv.weight, self.qkv.bias, out=qkv)
        q, k, v = split_heads(qkv, grids, heads)
        bias_h, bias_w = rel_pos_views(q, self.rel_pos_h, self.rel_pos_w, size, workspace)
        if grids == 1 and n > CHUNKED_MIN_TOKENS and qkv.device.type == "cpu":
            return attend_in_row_chunks(q[0], k[0], v[0], bias_h[0], bias_w[0], workspace).view(-1, c)
        # The bias for all queries of a global block is heads x 4096 x 4096 (805 MB for
        # vit_b); a block of query rows at a time keeps it to BIAS_BYTES at the same speed.
        most_rows = max(1, min(h, BIAS_BYTES // (grids * heads * n * w * q.element_size())))
        blocks = -(-h // most_rows)
        rows = -(-h // blocks)  # grid rows per block, blocks of equal size
        buffer = _buffer(workspace, "rel_pos_bias", (grids, heads, rows, w, h, w), tokens)
        if blocks == 1:
            torch.add(bias_h[..., None], bias_w[..., None, :], out=buffer)
            attended = F.scaled_dot_product_attention(q, k, v, attn_mask=buffer.view(grids, heads, n, n))
            return attended.transpose(1, 2).reshape(-1, c)  # a view when SDPA wrote token-major
        out = _buffer(workspace, "attended_rows", (grids, n, heads, c // heads), tokens)
        for top in range(0, h, rows):
            bottom = min(h, top + rows)
            bias = buffer[:, :, : bottom - top]
            torch.add(bias_h[:, :, top:bottom, ..., None], bias_w[:, :, top:bottom, :, None, :], out=bias)
            span = slice(top * w, bottom * w)
            attended = F.scaled_dot_product_attention(
                q[:, :, span], k, v, attn_mask=bias.view(grids, heads, (bottom - top) * w, n)
            )
            out[:, span] = attended.transpose(1, 2)
        return out.view(-1, c)


def attend_in_row_chunks(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, bias_h: torch.Tensor, bias_w: torch.Tensor, workspace: dict
) -> torch.Tensor:
    """Global attention on a CPU, a few query rows of the grid at a time: N x heads x head_dim.

    ``q``, ``k``, ``v``: heads x N x head_dim (N = H*W); ``bias_h``/``bias_w``: heads x H x W
    x H and heads x H x W x W (:func:`~sam_core.modeling.rel_pos.rel_pos_views`). Each chunk's
    scores start as its relative-position bias, take ``q k^T`` in the same product, and are
    turned into weights in place, all within ~CHUNK_BYTES that stay in the CPU's cache. On
    the CPU this is ~40% faster than building the bias for SDPA, which writes and reads
    heads x N x N floats (805 MB per block for vit_b) through main memory.
    """
    if gemm.routes(q):
        return _attend_in_row_chunks_per_head(q, k, v, bias_h, bias_w, workspace)
    heads, n, dim = q.shape
    _, h, w, _ = bias_h.shape
    rows = max(1, min(h, CHUNK_BYTES // (heads * w * n * q.element_size())))
    keys_t = _buffer(workspace, "keys_t", (heads, dim, n), q)
    keys_t.copy_(k.transpose(1, 2))
    values = _buffer(workspace, "values", (heads, n, dim), q)
    values.copy_(v)
    out = _buffer(workspace, "attended_rows", (n, heads, dim), q)
    scale = dim**-0.5
    for top in range(0, h, rows):
        bottom = min(h, top + rows)
        span = slice(top * w, bottom * w)
        scores = _buffer(workspace, "scores", (heads, (bottom - top) * w, n), q)
        torch.add(bias_h[:, top:bottom, ..., None], bias_w[:, top:bottom, :, None, :], out=scores.view(
            heads, bottom - top, w, h, w))
        scores.baddbmm_(q[:, span], keys_t, alpha=scale)
        torch.ops.aten._softmax.out(scores, -1, False, out=scores)
        out[span] = torch.bmm(scores, values).transpose(0, 1)
    return out


def _attend_in_row_chunks_per_head(q, k, v, bias_h, bias_w, workspace: dict) -> torch.Tensor:
    """:func:`attend_in_row_chunks` with oneDNN's products (:mod:`sam_core.utils.gemm`), one
    head at a time: batched ``bmm`` has no oneDNN op in torch, so each head's chunk is two
    2-D products, the bias added in the first. A chunk's scores take ~CHUNK_BYTES / 8 per
    head (more query rows per product than the batched path). Same arguments and result."""
    heads, n, dim = q.shape
    _, h, w, _ = bias_h.shape
    rows = max(1, min(h, CHUNK_BYTES // (8 * w * n * q.element_size())))
    keys = _buffer(workspace, "keys", (heads, n, dim), q)
    keys.copy_(k)
    values = _buffer(workspace, "values", (heads, n, dim), q)
    values.copy_(v)
    out = _buffer(workspace, "attended_rows", (n, heads, dim), q)
    bias = _buffer(workspace, "head_bias", (rows * w, n), q)
    scale = dim**-0.5
    for top in range(0, h, rows):
        bottom = min(h, top + rows)
        span = slice(top * w, bottom * w)
        chunk_bias = bias[: (bottom - top) * w]
        for head in range(heads):
            torch.add(bias_h[head, top:bottom, ..., None], bias_w[head, top:bottom, :, None, :],
                      out=chunk_bias.view(bottom - top, w, h, w))  # fmt: skip
            scores = gemm.linear(q[head, span] * scale, keys[head], residual=chunk_bias)
            torch.ops.aten._softmax.out(scores, -1, False, out=scores)
            out[span, head] = gemm.matmul(scores, values[head])
    return out


def split_heads(qkv: torch.Tensor, grids: int, heads: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(grids*N) x 3C qkv rows -> q, k, v, each grids x heads x N x head_dim, as views."""
    rows, three_c = qkv.shape
    dim = three_c // 3 // heads
    return qkv.view(grids, rows // grids, 3, heads, dim).permute(2, 0, 3, 1, 4).unbind(0)


def merge_heads(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """B x heads x (H*W) x head_dim -> BxHxWx(heads*head_dim), contiguous."""
    b, heads, _, dim = x.shape
    return x.transpose(1, 2).reshape(b, size[0], size[1], heads * dim)


def window_partition(x: torch.Tensor, window: int) -> tuple[torch.Tensor, tuple[int, int]]:
    """BxHxWxC -> (B*nWindows) x window x window x C, zero-padding H and W up to multiples."""
    b, h, w, c = x.shape
    pad_h = (window - h % window) % window
    pad_w = (window - w % window) % window
    if pad_h or pad_w:
        x = F.pad(x, (0, 0, 0, pad_w, 0, pad_h))
    hp, wp = h + pad_h, w + pad_w
    x = x.view(b, hp // window, window, wp // window, window, c)
    windows = x.permute(0, 1, 3, 2, 4, 5).reshape(-1, window, window, c)
    return windows, (hp, wp)


def window_unpartition(
    windows: torch.Tensor, window: int, padded_hw: tuple[int, int], hw: tuple[int, int]
) -> torch.Tensor:
    """Inverse of :func:`window_partition`, cropping the padding away."""
    hp, wp = padded_hw
    h, w = hw
    b = windows.shape[0] // (hp * wp // window // window)
    x = windows.view(b, hp // window, wp // window, window, window, -1)
    x = x.permute(0, 1, 3, 2, 4, 5).reshape(b, hp, wp, -1)
    return x[:, :h, :w, :].contiguous() if (hp > h or wp > w) else x
