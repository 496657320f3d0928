"""``load_sam``: open an official checkpoint of any supported SAM family, recognise the family
and its shape from the tensors alone, and put the network on a device. (``build_sam`` makes
an untrained SAM v1 of a given shape.)

Every failure is a :class:`CheckpointError` whose message is one sentence that
names the file and what is wrong with it.
"""
from __future__ import annotations

import hashlib
import os
import re
import warnings
from pathlib import Path
from typing import Mapping

import torch

from .config import SamConfig
from .families.base import ConfigError, Family, UnsupportedFamily
from .families.registry import family_of, supported_titles
from .families.sam import GROUPS as SAM_GROUPS, build_sam


class CheckpointError(ValueError):
    """A checkpoint file cannot be used; ``str(error)`` is a one-line explanation."""


def choose_device(device: str | torch.device | None = None) -> torch.device:
    """``None`` or ``"auto"`` picks CUDA, then MPS, then CPU."""
    if device is not None and str(device) != "auto":
        return torch.device(device)
    if torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def reduced_precision(device: str | torch.device) -> torch.dtype | None:
    """The faster encoder dtype for ``device``: bf16 on CUDA and on CPUs with native
    bf16 support, fp16 on MPS, None where reduced precision would not pay off."""
    device = torch.device(device)
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if device.type == "mps":
        return torch.float16
    if device.type == "cpu":
        check = getattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", None)
        return torch.bfloat16 if check is not None and check() else None
    return None


def _resolve_dtype(dtype: torch.dtype | str | None, device: torch.device) -> torch.dtype:
    if dtype is None or dtype in ("fp32", "float32"):
        return torch.float32
    if isinstance(dtype, torch.dtype):
        return dtype
    named = {"bf16": torch.bfloat16, "bfloat16": torch.bfloat16, "fp16": torch.float16, "float16": torch.float16}
    if dtype in named:
        return named[dtype]
    if dtype == "reduced":
        return reduced_precision(device) or torch.float32
    raise ValueError(f"unknown precision {dtype!r}; use fp32, bf16, fp16 or reduced")


def load_sam(
    path: str | os.PathLike,
    device: str | torch.device | None = None,
    dtype: torch.dtype | str | None = None,
) -> torch.nn.Module:
    """Load an official checkpoint unchanged: SAM v1 (``sam_vit_{b,l,h}_*.pth`` or any
    smaller shape) or another family of :mod:`sam_core.families.registry`.

    The returned network is in eval mode, on ``device`` (auto-chosen when None).
    ``dtype`` is the *image encoder's* precision: float32 when None, a torch
    dtype, "bf16"/"fp16", or "reduced" for :func:`reduced_precision` of the
    device. Prompt encoder and mask decoder always stay float32: they are
    cheap, and their logits are thresholded. The network carries ``config``
    (``family``, ``variant``, ``title``), ``checkpoint_path`` and ``checkpoint_id``,
    a content fingerprint used to key cached embeddings.
    """
    path = Path(path)
    state_dict = read_state_dict(path)
    family = family_of(state_dict.keys())
    if family is None:
        raise CheckpointError(f"{path.name}: not a SAM checkpoint ({_missing_groups(state_dict)})")
    if isinstance(family, UnsupportedFamily):
        raise CheckpointError(
            f"{path.name}: this is a {family.title} checkpoint, which Maskwright cannot load; "
            f"it loads {supported_titles()}"
        )
    weights = family.network_weights(state_dict)
    _require_finite(path, weights)
    sam = _build(path, family, state_dict, weights)
    sam.checkpoint_path = str(path)
    sam.checkpoint_id = fingerprint(state_dict)
    device = choose_device(device)
    sam.to(device)
    sam.image_encoder.to(_resolve_dtype(dtype, device))
    return sam


def _build(
    path: Path, family: Family, state_dict: dict[str, torch.Tensor], weights: dict[str, torch.Tensor]
) -> torch.nn.Module:
    """The family's network for ``state_dict`` (its shape and variant are read off all the
    tensors), loaded with ``weights``; one-line errors for shapes and keys."""
    try:
        sam = family.build(state_dict)
    except ConfigError as exc:
        raise CheckpointError(f"{path.name}: not a {family.title} checkpoint ({exc})") from None
    expected = sam.state_dict()
    for key, tensor in weights.items():
        if key in expected and tuple(tensor.shape) != tuple(expected[key].shape):
            shape, want = "x".join(map(str, tensor.shape)), "x".join(map(str, expected[key].shape))
            raise CheckpointError(
                f"{path.name}: tensor {key} is {shape}, but the {sam.config.title} shape read off the "
                f"other tensors needs {want}"
            )
    result = sam.load_state_dict(weights, strict=False)
    if result.missing_keys or result.unexpected_keys:
        raise CheckpointError(f"{path.name}: not a {family.title} checkpoint ({_describe_mismatch(result)})")
    return sam


def read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """Read a tensor-only checkpoint safely (never unpickles code); unwrap ``{"model": ...}``
    (SAM 2) or ``{"state_dict": ...}`` (what EfficientViT's loader accepts)."""
    if not path.exists():
        raise CheckpointError(f"{path}: file not found")
    if path.is_dir():
        raise CheckpointError(f"{path}: is a folder, not a checkpoint file")
    try:
        with warnings.catch_warnings():  # e.g. "Detected pickle protocol 4": the error below says it
            warnings.simplefilter("ignore")
            obj = torch.load(path, map_location="cpu", weights_only=True)
    except PermissionError:
        raise CheckpointError(f"{path.name}: permission denied") from None
    except Exception as exc:  # torch.load fails in many ways on damaged files (IndexError, KeyError, ...)
        raise CheckpointError(f"{path.name}: {_load_failure(path, exc)}") from None
    for wrapper in ("model", "state_dict"):  # SAM 2 and some training scripts wrap the weights
        if isinstance(obj, Mapping) and wrapper in obj and isinstance(obj[wrapper], Mapping):
            obj = obj[wrapper]
            break
    if not isinstance(obj, Mapping) or not obj or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise CheckpointError(f"{path.name}: does not hold a state_dict of tensors")
    return dict(obj)


def _missing_groups(state_dict: Mapping[str, torch.Tensor]) -> str:
    groups = {key.split(".", 1)[0] for key in state_dict}
    missing = [g for g in SAM_GROUPS if g not in groups]
    detail = "missing " + ", ".join(f"{g}.*" for g in missing)
    unexpected = sorted(groups - set(SAM_GROUPS))
    if unexpected:
        detail += "; unexpected " + ", ".join(f"{g}.*" for g in unexpected[:5])
    return detail


def _require_finite(path: Path, weights: Mapping[str, torch.Tensor]) -> None:
    """Refuse NaN or infinite weights: they make every mask empty or every pixel set."""
    for key, tensor in weights.items():
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            raise CheckpointError(f"{path.name}: tensor {key} holds NaN or infinite values; the file is damaged")


def _load_failure(path: Path, exc: BaseException) -> str:
    text = str(exc)
    if path.stat().st_size == 0:
        return "file is empty"
    with open(path, "rb") as handle:
        head = handle.read(4)
    named = re.search(r"GLOBAL ([\w.]+)", text)
    if named:  # weights-only unpickling met an import: code, or objects whose loading runs code
        return f"contains pickled code ({named.group(1)}), not only tensors; refusing to unpickle it"
    if "Weights only load failed" in text and head[:1] == b"\x80" and "EOF" not in text:
        # a plain pickle (protocol 2+), which weights-only loading cannot read
        return "contains pickled code or Python objects, not only tensors; refusing to unpickle it"
    if head[:2] != b"PK" and head[:1] != b"\x80":
        return "file is truncated or corrupt (not a PyTorch checkpoint at all)"
    return "file is truncated or corrupt (not a complete PyTorch checkpoint)"


def _describe_mismatch(result) -> str:
    def groups(keys: list[str]) -> str:
        names = sorted({".".join(k.split(".")[:2]) + ".*" for k in keys})
        return ", ".join(names[:6]) + (" ..." if len(names) > 6 else "")

    parts = []
    if result.missing_keys:
        parts.append("missing " + groups(result.missing_keys))
    if result.unexpected_keys:
        parts.append("unexpected " + groups(result.unexpected_keys))
    return "; ".join(parts)


def fingerprint(state_dict: Mapping[str, torch.Tensor], sample: int = 4096) -> str:
    """A short content hash: every name and shape, plus the first and last ``sample``
    values of each tensor. Cheap even for vit_h, and any fine-tune changes it."""
    digest = hashlib.sha256()
    for key in sorted(state_dict):
        tensor = state_dict[key].detach().reshape(-1)
        digest.update(f"{key}:{tuple(state_dict[key].shape)}:{tensor.dtype};".encode())
        ends = torch.cat([tensor[:sample], tensor[-sample:]]).float().cpu().contiguous()
        digest.update(ends.numpy().tobytes())
    return digest.hexdigest()[:16]


__all__ = [
    "CheckpointError",
    "SamConfig",
    "build_sam",
    "choose_device",
    "fingerprint",
    "load_sam",
    "read_state_dict",
    "reduced_precision",
]
