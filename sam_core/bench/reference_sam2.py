"""Meta's reference ``sam2`` (PyPI 1.1.0), for the SAM 2 bench and parity tests.

``sam2`` imports torchvision's ``Resize``, ``Normalize`` and ``ToTensor`` (and
``batched_nms`` for its generator); no CPU torchvision exists for the torch used here.
:func:`load_reference_sam2` extends the stand-in of :mod:`.reference` with:

* ``ToTensor``: HxWxC uint8 -> CxHxW float in [0, 1], as torchvision does;
* ``Resize``: torchvision's tensor path, ``F.interpolate(..., "bilinear",
  align_corners=False, antialias=True)``;
* ``Normalize``: ``(x - mean) / std`` per channel.

``SAM2Transforms`` scripts ``Resize`` and ``Normalize`` with TorchScript, so they are
``nn.Module``s with annotated ``forward``s. The package needs the ``sam2`` sdist
installed as ``SAM2_BUILD_CUDA=0 pip install --no-deps --no-build-isolation sam2==1.1.0``
plus ``hydra-core`` and ``iopath``; without it, ImportError.
"""
from __future__ import annotations

import sys
import warnings
from typing import List

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from .reference import _install_torchvision_stand_in


class ToTensor:
    """torchvision's ToTensor for HxWxC uint8 arrays: CxHxW float32 / 255."""

    def __call__(self, pic: np.ndarray) -> torch.Tensor:
        tensor = torch.from_numpy(np.ascontiguousarray(pic).transpose((2, 0, 1))).contiguous()
        return tensor.to(dtype=torch.get_default_dtype()).div(255)


class Resize(nn.Module):
    """torchvision's Resize on float tensors (bilinear, antialiased, CxHxW or BxCxHxW)."""

    def __init__(self, size: List[int]) -> None:
        super().__init__()
        self.size = [int(s) for s in size]

    def forward(self, img: torch.Tensor) -> torch.Tensor:
        squeeze = img.dim() == 3
        batch = img.unsqueeze(0) if squeeze else img
        out = F.interpolate(batch, size=self.size, mode="bilinear", align_corners=False, antialias=True)
        return out.squeeze(0) if squeeze else out


class Normalize(nn.Module):
    """torchvision's Normalize: ``(x - mean) / std`` over the channel axis."""

    def __init__(self, mean: List[float], std: List[float]) -> None:
        super().__init__()
        self.mean = [float(m) for m in mean]
        self.std = [float(s) for s in std]

    def forward(self, tensor: torch.Tensor) -> torch.Tensor:
        mean = torch.tensor(self.mean, dtype=tensor.dtype, device=tensor.device).view(-1, 1, 1)
        std = torch.tensor(self.std, dtype=tensor.dtype, device=tensor.device).view(-1, 1, 1)
        return (tensor - mean) / std


def _install_sam2_stand_ins() -> None:
    _install_torchvision_stand_in()
    transforms = sys.modules["torchvision.transforms"]
    if getattr(sys.modules["torchvision"], "__file__", None) is not None:
        return  # a real torchvision is installed
    for name, value in {"ToTensor": ToTensor, "Resize": Resize, "Normalize": Normalize}.items():
        if not hasattr(transforms, name):
            setattr(transforms, name, value)


def load_reference_sam2():
    """The reference ``sam2`` package (ImportError when it is not installed)."""
    _install_sam2_stand_ins()
    import sam2
    import sam2.build_sam  # noqa: F401  (hydra's config module is initialised on import)

    return sam2


def reference_config_overrides(config) -> list[str]:
    """Hydra overrides that give the official config file the trunk of ``config``
    (:class:`sam_core.modeling.sam2.Sam2Config`): none for the published variants."""
    hiera = config.hiera
    channels = [hiera.embed_dim * 2**i for i in range(len(hiera.stages))][::-1]
    return [
        f"++model.image_encoder.trunk.embed_dim={hiera.embed_dim}",
        f"++model.image_encoder.trunk.num_heads={hiera.num_heads}",
        f"++model.image_encoder.trunk.stages=[{','.join(map(str, hiera.stages))}]",
        f"++model.image_encoder.trunk.global_att_blocks=[{','.join(map(str, hiera.global_att_blocks))}]",
        f"++model.image_encoder.trunk.window_spec=[{','.join(map(str, hiera.window_spec))}]",
        f"++model.image_encoder.trunk.window_pos_embed_bkg_spatial_size=[{','.join(map(str, hiera.pos_embed_size))}]",
        f"++model.image_encoder.neck.backbone_channel_list=[{','.join(map(str, channels))}]",
    ]


def build_reference_sam2(config, state_dict=None):
    """The reference ``SAM2Base`` for ``config`` (family "sam2" or "sam2.1"), built from the
    official config file as ``build_sam2`` does (dynamic multimask on), in eval mode, with
    ``state_dict`` loaded strictly when given (video modules included)."""
    load_reference_sam2()
    from sam2.build_sam import build_sam2

    folder = "sam2.1" if config.family == "sam2.1" else "sam2"
    letter = {"hiera_t": "t", "hiera_s": "s", "hiera_b+": "b+", "hiera_l": "l"}.get(config.variant, "t")
    model = build_sam2(f"configs/{folder}/{folder}_hiera_{letter}.yaml", ckpt_path=None, device="cpu",
                       hydra_overrides_extra=reference_config_overrides(config))
    if state_dict is not None:
        model.load_state_dict(state_dict, strict=True)
    return model.eval()


def reference_image_predictor(model):
    """``SAM2ImagePredictor(model)``; its transforms are TorchScript-compiled, which torch
    2.13 reports as deprecated: that warning is the reference's, not ours."""
    load_reference_sam2()
    from sam2.sam2_image_predictor import SAM2ImagePredictor

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*torch.jit.script.*", category=DeprecationWarning)
        return SAM2ImagePredictor(model)
