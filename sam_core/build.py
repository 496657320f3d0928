"""``build_sam`` and ``load_sam``: make a SAM of a given shape, or open a Meta SAM v1 checkpoint,
infer its shape, and put it on a device.

Every failure is a :class:`CheckpointError` whose message is one sentence that
names the file and what is wrong with it.
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Mapping

import torch

from .config import ConfigError, SamConfig, infer_config
from .modeling import ImageEncoderViT, MaskDecoder, PromptEncoder, Sam, TwoWayTransformer

SAM_GROUPS = ("image_encoder", "prompt_encoder", "mask_decoder")


def build_sam(config: SamConfig) -> Sam:
    """An untrained ``Sam`` of the given shape (in eval mode)."""
    grid = config.img_size // config.patch_size
    sam = Sam(
        image_encoder=ImageEncoderViT(
            img_size=config.img_size,
            patch_size=config.patch_size,
            embed_dim=config.embed_dim,
            depth=config.depth,
            num_heads=config.num_heads,
            out_chans=config.prompt_embed_dim,
            window_size=config.window_size,
            global_attn_indexes=config.global_attn_indexes,
        ),
        prompt_encoder=PromptEncoder(
            embed_dim=config.prompt_embed_dim,
            image_embedding_size=(grid, grid),
            input_image_size=(config.img_size, config.img_size),
        ),
        mask_decoder=MaskDecoder(
            transformer_dim=config.prompt_embed_dim,
            transformer=TwoWayTransformer(embedding_dim=config.prompt_embed_dim),
        ),
    )
    return sam.eval()


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
) -> Sam:
    """Load ``sam_vit_{b,l,h}_*.pth`` (or any smaller SAM v1 shape) unchanged.

    The returned model is in eval mode, on ``device`` (auto-chosen when None).
    ``dtype`` is the *image encoder's* precision: float32 when None, a torch
    dtype, "bf16"/"fp16", or "reduced" for :func:`reduced_precision` of the
    device. The prompt encoder and mask decoder always stay float32: they are
    cheap, and their logits are thresholded. The model carries ``config``
    (:class:`SamConfig`), ``checkpoint_path`` and ``checkpoint_id``, a content
    fingerprint used to key cached embeddings.
    """
    path = Path(path)
    state_dict = read_state_dict(path)
    try:
        config = infer_config(state_dict)
    except ConfigError as exc:
        raise CheckpointError(f"{path.name}: not a SAM v1 checkpoint ({exc})") from None
    sam = build_sam(config)
    result = sam.load_state_dict(state_dict, strict=False)
    if result.missing_keys or result.unexpected_keys:
        raise CheckpointError(f"{path.name}: not a SAM v1 checkpoint ({_describe_mismatch(result)})")
    sam.config = config
    sam.checkpoint_path = str(path)
    sam.checkpoint_id = fingerprint(state_dict)
    device = choose_device(device)
    sam.to(device)
    sam.image_encoder.to(_resolve_dtype(dtype, device))
    return sam


def read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """Read a tensor-only checkpoint safely (never unpickles code) and recognise its family."""
    if not path.exists():
        raise CheckpointError(f"{path}: file not found")
    if path.is_dir():
        raise CheckpointError(f"{path}: is a folder, not a checkpoint file")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except PermissionError:
        raise CheckpointError(f"{path.name}: permission denied") from None
    except Exception as exc:  # torch.load fails in many ways on damaged files (IndexError, KeyError, ...)
        raise CheckpointError(f"{path.name}: {_load_failure(path, exc)}") from None
    if isinstance(obj, Mapping) and "model" in obj and isinstance(obj["model"], Mapping):
        obj = obj["model"]  # SAM 2 and some training scripts wrap the weights
    if not isinstance(obj, Mapping) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise CheckpointError(f"{path.name}: does not hold a state_dict of tensors")
    family = _foreign_family(obj.keys())
    if family:
        raise CheckpointError(f"{path.name}: this is a {family} checkpoint; Maskwright needs SAM v1 (sam_vit_b/l/h)")
    groups = {key.split(".", 1)[0] for key in obj}
    missing = [g for g in SAM_GROUPS if g not in groups]
    if missing:
        unexpected = sorted(groups - set(SAM_GROUPS))
        detail = "missing " + ", ".join(f"{g}.*" for g in missing)
        if unexpected:
            detail += "; unexpected " + ", ".join(f"{g}.*" for g in unexpected[:5])
        raise CheckpointError(f"{path.name}: not a SAM checkpoint ({detail})")
    return dict(obj)


def _load_failure(path: Path, exc: BaseException) -> str:
    text = str(exc)
    if path.stat().st_size == 0:
        return "file is empty"
    if "allowed global" in text or "Unsupported global" in text:
        return "contains pickled code, not only tensors; refusing to load it"
    with open(path, "rb") as handle:
        head = handle.read(4)
    if head[:2] != b"PK" and head[:1] != b"\x80":
        return "file is truncated or corrupt (not a PyTorch checkpoint at all)"
    return "file is truncated or corrupt (not a complete PyTorch checkpoint)"


def _foreign_family(keys) -> str | None:
    keys = list(keys)
    if any(k.startswith(("memory_attention.", "sam_mask_decoder.", "image_encoder.trunk.")) for k in keys):
        return "SAM 2"
    if any(k.startswith(("image_encoder.layers.", "image_encoder.patch_embed.seq.")) for k in keys):
        return "MobileSAM (TinyViT encoder)"
    if any(k.startswith("mask_decoder.hf_") for k in keys):
        return "HQ-SAM"
    return None


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
