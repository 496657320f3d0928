"""The ViT image encoder: 1024x1024 image -> 256x64x64 embedding.

Blocks alternate windowed attention (14x14 windows) with a few global-attention
blocks. Both use decomposed relative-position terms, passed to
``scaled_dot_product_attention`` as an additive bias so that the attention
scores themselves are never materialised by Python code.

During inference one forward pass keeps its large intermediates (qkv, the MLP
hidden layer, the attention bias) in buffers reused by every block (a
*workspace*): allocating such a tensor afresh costs more in page faults than
filling it. The residual additions are folded into the output GEMMs. With
autograd on, the blocks run the plain functional code instead.
"""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from .common import LayerNorm2d, MLPBlock


BIAS_BYTES = 256 * 2**20  # most memory one attention bias may take during inference


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
        x = (self.patch_embed(x) + self.pos_embed).contiguous()  # B x H x W x C
        workspace: dict = {}
        for block in self.blocks:
            x = block(x, workspace)
        return self.neck(x.permute(0, 3, 1, 2))


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
        y = self.norm1(x)
        if self.window_size > 0:
            windows, padded_hw = window_partition(y, self.window_size)
            heads_out = self.attn.attend(windows, workspace)  # B' x heads x N x d
            y = merge_heads_unpartition(heads_out, self.window_size, padded_hw, (h, w))
        else:
            y = merge_heads(self.attn.attend(y, workspace), (h, w))
        proj = self.attn.proj
        tokens.add_(proj.bias).addmm_(y.view(-1, c), proj.weight.t())

        lin1, lin2 = self.mlp.lin1, self.mlp.lin2
        hidden = _buffer(workspace, "mlp_hidden", (tokens.shape[0], lin1.out_features), x)
        torch.addmm(lin1.bias, self.norm2(tokens), lin1.weight.t(), out=hidden)
        self.mlp.activate_(hidden)
        tokens.add_(lin2.bias).addmm_(hidden, lin2.weight.t())
        return x


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

    def forward(self, x: torch.Tensor, workspace: dict | None = None) -> torch.Tensor:
        """``x``: BxHxWxC -> BxHxWxC. ``workspace``: a dict shared by the blocks of one
        forward pass, holding reusable buffers."""
        b, h, w, c = x.shape
        return self.proj(merge_heads(self.attend(x, workspace), (h, w)))

    def attend(self, x: torch.Tensor, workspace: dict | None = None) -> torch.Tensor:
        """Attention before the output projection: BxHxWxC -> B x heads x (H*W) x head_dim."""
        b, h, w, c = x.shape
        heads = self.num_heads
        if torch.is_grad_enabled():  # buffers written with out= cannot carry gradients
            workspace = None
        if workspace is not None:
            qkv = _buffer(workspace, "qkv", (b * h * w, 3 * c), x)
            torch.addmm(self.qkv.bias, x.reshape(-1, c), self.qkv.weight.t(), out=qkv)
        else:
            qkv = self.qkv(x)
        # 3 x B x heads x (H*W) x head_dim, as views
        q, k, v = qkv.view(b, h * w, 3, heads, c // heads).permute(2, 0, 3, 1, 4).unbind(0)
        bias_h, bias_w = rel_pos_terms(q, self.rel_pos_h, self.rel_pos_w, (h, w))
        if workspace is None:  # differentiable
            bias = (bias_h[..., :, None] + bias_w[..., None, :]).reshape(b, heads, h * w, h * w)
            return F.scaled_dot_product_attention(q, k, v, attn_mask=bias)
        # The bias for all queries of a global block is heads x 4096 x 4096 (805 MB for
        # vit_b); a block of query rows at a time keeps it to BIAS_BYTES at the same speed.
        n = h * w
        most_rows = max(w, min(n, BIAS_BYTES // (b * heads * n * q.element_size())) // w * w)
        blocks = -(-n // most_rows)
        rows = -(-n // blocks // w) * w if blocks > 1 else n  # equal blocks of whole grid rows
        buffer = _buffer(workspace, "rel_pos_bias", (b, heads, rows, n), x)
        out = q.new_empty(q.shape) if rows < n else None
        for start in range(0, n, rows):
            stop = min(n, start + rows)
            bias = buffer[:, :, : stop - start]
            torch.add(
                bias_h[:, :, start:stop, :, None],
                bias_w[:, :, start:stop, None, :],
                out=bias.view(b, heads, stop - start, h, w),
            )
            attended = F.scaled_dot_product_attention(q[:, :, start:stop], k, v, attn_mask=bias)
            if out is None:
                return attended
            out[:, :, start:stop] = attended
        return out


def _buffer(workspace: dict, name: str, shape: tuple[int, ...], like: torch.Tensor) -> torch.Tensor:
    """A reusable buffer of ``shape`` from ``workspace`` (allocated once per name, shape, dtype, device)."""
    key = (name, shape, like.dtype, like.device)
    if key not in workspace:
        workspace[key] = like.new_empty(shape)
    return workspace[key]


def merge_heads(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """B x heads x (H*W) x head_dim -> BxHxWx(heads*head_dim), contiguous."""
    b, heads, _, dim = x.shape
    return x.transpose(1, 2).reshape(b, size[0], size[1], heads * dim)


def merge_heads_unpartition(
    windows: torch.Tensor, window: int, padded_hw: tuple[int, int], hw: tuple[int, int]
) -> torch.Tensor:
    """(B*nWindows) x heads x window^2 x head_dim -> BxHxWxC in one copy, cropping the padding."""
    hp, wp = padded_hw
    n_h, n_w = hp // window, wp // window
    _, heads, _, dim = windows.shape
    b = windows.shape[0] // (n_h * n_w)
    # b, window row, row in window, window column, column in window, head, channel
    x = windows.view(b, n_h, n_w, heads, window, window, dim).permute(0, 1, 4, 2, 5, 3, 6)
    return x.reshape(b, hp, wp, heads * dim)[:, : hw[0], : hw[1], :].contiguous()


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


def relative_table(rel_pos: torch.Tensor, size: int) -> torch.Tensor:
    """Gather the size x size x dim table ``rel_pos[i - j + size - 1]``.

    A table trained for another size (length != 2*size-1) is linearly resized first.
    """
    length = 2 * size - 1
    if rel_pos.shape[0] != length:
        rel_pos = F.interpolate(
            rel_pos.T[None].float(), size=length, mode="linear"
        )[0].T.to(rel_pos.dtype)
    coords = torch.arange(size, device=rel_pos.device)
    index = coords[:, None] - coords[None, :] + (size - 1)
    return rel_pos[index]


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
