"""fp32 products on the CPU through oneDNN on AMD CPUs, where it beats torch's default BLAS.

torch's CPU ``addmm``/``bmm`` call MKL. On the AMD EPYC (Zen 5) of these machines MKL's fp32
GEMMs ran at 160-200 GFLOP/s on 2 cores (MKL's dispatcher is reported to take its AVX2
kernels on AMD CPUs), where oneDNN, which torch also ships
(``torch.ops.mkldnn._linear_pointwise``, the op Inductor uses on the CPU), ran the same
products at 300-450 GFLOP/s with results equal to fp32 rounding. The two were not compared
on an Intel CPU. So oneDNN runs on AMD x86 CPUs and torch's
own backend elsewhere (:func:`cpu_backend`), unless ``SAM_CORE_CPU_GEMM`` says ``onednn`` or
``default``.

:func:`linear` is ``F.linear`` (optionally plus a residual, or followed by GELU, fused
into the product) and :func:`matmul` a 2-D product; both fall back to torch's own ops
on other devices and dtypes, when autograd needs them, or where the default backend runs.
Shapes: ``x`` ... x K rows, ``weight`` N x K (any strides), ``bias`` N, the result
... x N float32; oneDNN wants ``x`` contiguous (a transposed ``x`` ran 10x slower), so it
is made so. Products under ``MIN_ROUTED_MACS`` stay with torch.
"""
from __future__ import annotations

import os
import platform
from contextlib import contextmanager
from functools import lru_cache
from typing import Iterator

import torch
from torch.nn import functional as F

ENV_VAR = "SAM_CORE_CPU_GEMM"
BACKENDS = ("onednn", "default")
_forced: list[str] = []  # innermost :func:`use_cpu_backend` last


def onednn_available() -> bool:
    """Whether this torch build has oneDNN's fused linear op (x86 and arm64 wheels do)."""
    return torch.backends.mkldnn.is_available() and hasattr(torch.ops.mkldnn, "_linear_pointwise")


def cpu_backend() -> str:
    """"onednn" or "default": the backend :func:`linear` uses for fp32 on the CPU."""
    if _forced:
        return _forced[-1]
    chosen = os.environ.get(ENV_VAR, "").strip().lower()
    if chosen in BACKENDS:
        return chosen if chosen == "default" or onednn_available() else "default"
    return _machine_backend()


@lru_cache(maxsize=1)
def _machine_backend() -> str:
    """oneDNN on AMD x86 CPUs (where MKL takes its AVX2 kernels), torch's own elsewhere.

    Decided by the CPU's vendor, not by timing both: a timing taken on a busy host could pick
    differently in two processes of one machine, whose results would then differ in the
    last bits (the data engine's workers must write what ``sam_core.amg`` writes).
    """
    if not onednn_available() or platform.machine().lower() not in ("x86_64", "amd64"):
        return "default"
    return "onednn" if _cpu_vendor() == "AuthenticAMD" else "default"


def _cpu_vendor() -> str:
    """The x86 vendor string ("AuthenticAMD", "GenuineIntel"), or "" when it is not known."""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("vendor_id"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    described = platform.processor()  # Windows: "AMD64 Family 25 Model 33 Stepping 0, AuthenticAMD"
    for vendor in ("AuthenticAMD", "GenuineIntel"):
        if vendor in described:
            return vendor
    return ""


@contextmanager
def use_cpu_backend(backend: str) -> Iterator[None]:
    """Within the block, :func:`linear` and :func:`matmul` use ``backend`` (tests, the bench)."""
    if backend not in BACKENDS:
        raise ValueError(f"unknown CPU GEMM backend {backend!r}; expected one of {BACKENDS}")
    _forced.append(backend if backend == "default" or onednn_available() else "default")
    try:
        yield
    finally:
        _forced.pop()


# Below this many multiply-adds oneDNN's per-call overhead loses (7 x 256 x 256, a decoder
# token projection: 25 against 15 us; 7 x 256 x 2048, its token MLP: 71 against 120 us).
MIN_ROUTED_MACS = 2**20


def _routed(*tensors: torch.Tensor | None) -> bool:
    first = tensors[0]
    if first.device.type != "cpu" or first.dtype != torch.float32:
        return False
    if torch.is_grad_enabled() and any(t is not None and t.requires_grad for t in tensors):
        return False
    return cpu_backend() == "onednn"


def _onednn(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, attr: str) -> torch.Tensor:
    algorithm = "none" if attr == "gelu" else ""  # exact (erf) GELU, as F.gelu
    return torch.ops.mkldnn._linear_pointwise(x.contiguous(), weight, bias, attr, [], algorithm)


def routes(x: torch.Tensor) -> bool:
    """Whether :func:`linear` sends a product of ``x`` (not needing autograd) to oneDNN."""
    return _routed(x)


def linear(
    x: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None = None,
    residual: torch.Tensor | None = None,
    gelu: bool = False,
    out: torch.Tensor | None = None,
) -> torch.Tensor:
    """``F.linear(x, weight, bias)``, plus ``residual`` (the result's shape) or followed by an
    exact GELU (not both).

    ``out``: a contiguous buffer of the result's shape that torch's own backend writes
    into (a kept buffer spares fresh pages); oneDNN always returns a new tensor. Use the
    returned tensor either way.
    """
    if residual is not None and gelu:
        raise ValueError("linear: a residual and a GELU are not fused together")
    if x.numel() * weight.shape[0] >= MIN_ROUTED_MACS and _routed(x, weight, bias, residual):
        if residual is not None and residual.shape[:-1] == x.shape[:-1]:
            fused = torch.ops.mkldnn._linear_pointwise.binary
            return fused(x.contiguous(), residual.contiguous(), weight, bias, "add")
        if residual is None:
            return _onednn(x, weight, bias, "gelu" if gelu else "none")
        return _onednn(x, weight, bias, "none").add_(residual)
    if out is None:
        result = F.linear(x, weight, bias)
    else:
        flat = out.view(-1, weight.shape[0])
        rows = x.reshape(-1, x.shape[-1])
        if bias is None:
            torch.mm(rows, weight.t(), out=flat)
        else:
            torch.addmm(bias, rows, weight.t(), out=flat)
        result = out
    if residual is not None:
        return result.add_(residual)
    return torch.ops.aten.gelu_(result) if gelu else result


def matmul(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``a @ b`` for 2-D ``a`` (M x K) and ``b`` (K x N): M x N. ``b`` is read as the
    transposed weight of :func:`linear`, so a ``b`` that is itself a transposed view of a
    contiguous N x K tensor costs no copy."""
    if a.numel() * b.shape[1] >= MIN_ROUTED_MACS and _routed(a, b):
        return _onednn(a, b.t(), None, "none")
    return a @ b


def bmm(a: torch.Tensor, b: torch.Tensor, residual: torch.Tensor | None = None) -> torch.Tensor:
    """``a @ b`` (plus ``residual``) for B x M x K ``a`` and 1|B x K x N ``b``: B x M x N.

    oneDNN has no batched op in torch, so a routed product is one :func:`matmul` per item,
    or a single one over all of ``a``'s rows when ``b`` is shared; ``residual`` (1|B x M x
    N) rides in the products. Otherwise torch's ``matmul`` / ``baddbmm``."""
    batch = a.shape[0]
    if not _routed(a, b, residual):
        if residual is None:
            return a @ b
        return torch.baddbmm(residual, a, b.expand(batch, -1, -1))
    if b.shape[0] == 1 and residual is None:
        return matmul(a.reshape(-1, a.shape[-1]), b[0]).view(batch, a.shape[1], -1)
    if residual is not None:
        residual = residual.expand(batch, *residual.shape[1:])
    items = [linear(a[i], b[i if b.shape[0] > 1 else 0].t(), residual=None if residual is None else residual[i])
             for i in range(batch)]  # fmt: skip
    return items[0][None] if batch == 1 else torch.stack(items)


# Rows per oneDNN product when the result goes into an existing tensor: each product's
# fresh output (1024 x 3072 floats at most in SAM's encoders, 12 MB) is reused by the
# allocator from one chunk to the next instead of being mapped afresh, and stays in cache
# until it is copied.
CHUNK_ROWS = 1024


def linear_into(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, out: torch.Tensor) -> torch.Tensor:
    """``out[:] = F.linear(x, weight, bias)`` for 2-D ``x`` (R x K) and a contiguous R x N
    ``out``. Returns ``out``."""
    if x.numel() * weight.shape[0] < MIN_ROUTED_MACS or not _routed(x, weight, bias):
        if bias is None:
            return torch.mm(x, weight.t(), out=out)
        return torch.addmm(bias, x, weight.t(), out=out)
    for top in range(0, x.shape[0], CHUNK_ROWS):
        rows = slice(top, top + CHUNK_ROWS)
        out[rows].copy_(_onednn(x[rows], weight, bias, "none"))
    return out


def add_linear_(into: torch.Tensor, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    """``into += F.linear(x, weight, bias)`` for 2-D ``x`` (R x K) and a contiguous R x N
    ``into`` (a residual stream updated in place). Returns ``into``."""
    if x.numel() * weight.shape[0] < MIN_ROUTED_MACS or not _routed(x, weight, bias, into):
        if bias is not None:
            into.add_(bias)
        return into.addmm_(x, weight.t())
    for top in range(0, x.shape[0], CHUNK_ROWS):
        rows = slice(top, top + CHUNK_ROWS)
        fused = torch.ops.mkldnn._linear_pointwise.binary(
            x[rows].contiguous(), into[rows].contiguous(), weight, bias, "add")
        into[rows].copy_(fused)
    return into
