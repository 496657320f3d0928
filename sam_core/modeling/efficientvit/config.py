"""Architecture of an EfficientViT-SAM image encoder (:class:`EfficientViTSamConfig`), and
reading it off a state_dict.

The published models (MIT Han Lab, Apache-2.0): L0/L1/L2 encode a 512x512 image, XL0/XL1
a 1024x1024 one; all give SAM's 256 x 64 x 64 embedding to SAM's own prompt encoder and
mask decoder.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar, Mapping

import torch


@dataclass(frozen=True)
class EfficientViTSamConfig:
    """``EfficientViTLargeBackbone`` stages plus ``SamNeck``.

    Per stage: width, number of blocks after the first (downsampling) one, block kind
    (``res``, ``fmb``, ``mb``, ``att`` with a 5x5 or ``att@3`` with a 3x3 aggregation),
    expansion, and ``fewer_norm`` (biases instead of BatchNorms in the inner convolutions).
    The neck takes three stages (coarse to fine), projects each to ``head_width``, upsamples
    them to 64x64 and adds them, then runs ``head_depth`` fused-MBConv blocks.
    """

    width_list: tuple[int, ...]
    depth_list: tuple[int, ...]
    block_list: tuple[str, ...]
    expand_list: tuple[float, ...]
    fewer_norm_list: tuple[bool, ...]
    neck_inputs: tuple[str, ...]
    head_width: int = 256
    head_depth: int = 4
    head_expand_ratio: float = 1
    qkv_dim: int = 32
    out_chans: int = 256

    family: ClassVar[str] = "efficientvit_sam"

    @property
    def image_size(self) -> int:
        """Input side: the finest neck input (stride 2**(stage+1)) is the 64x64 grid."""
        finest = min(int(name[len("stage"):]) for name in self.neck_inputs)
        return 64 * 2 ** (finest + 1)

    @property
    def name(self) -> str:
        for name, known in EFFICIENTVIT_SAM_VARIANTS.items():
            if known == self:
                return name
        return f"custom(widths={list(self.width_list)},depths={list(self.depth_list)})"

    @property
    def variant(self) -> str:
        return self.name

    @property
    def title(self) -> str:
        name = self.name
        return f"EfficientViT-SAM {name.upper() if name in EFFICIENTVIT_SAM_VARIANTS else name}"


_L_BLOCKS = ("res", "fmb", "fmb", "mb", "att")
_L_EXPAND = (1, 4, 4, 4, 6)
_L_FEWER = (False, False, False, True, True)
_L_NECK = ("stage4", "stage3", "stage2")
_XL_BLOCKS = ("res", "fmb", "fmb", "fmb", "att@3", "att@3")
_XL_EXPAND = (1, 4, 4, 4, 4, 6)
_XL_FEWER = (False, False, False, False, True, True)
_XL_WIDTHS = (32, 64, 128, 256, 512, 1024)
_XL_NECK = ("stage5", "stage4", "stage3")

EFFICIENTVIT_SAM_VARIANTS: dict[str, EfficientViTSamConfig] = {
    "l0": EfficientViTSamConfig((32, 64, 128, 256, 512), (1, 1, 1, 4, 4), _L_BLOCKS, _L_EXPAND, _L_FEWER, _L_NECK,
                                head_depth=4),
    "l1": EfficientViTSamConfig((32, 64, 128, 256, 512), (1, 1, 1, 6, 6), _L_BLOCKS, _L_EXPAND, _L_FEWER, _L_NECK,
                                head_depth=8),
    "l2": EfficientViTSamConfig((32, 64, 128, 256, 512), (1, 2, 2, 8, 8), _L_BLOCKS, _L_EXPAND, _L_FEWER, _L_NECK,
                                head_depth=12),
    "xl0": EfficientViTSamConfig(_XL_WIDTHS, (0, 1, 1, 2, 3, 3), _XL_BLOCKS, _XL_EXPAND, _XL_FEWER, _XL_NECK,
                                 head_depth=6, head_expand_ratio=4),
    "xl1": EfficientViTSamConfig(_XL_WIDTHS, (1, 2, 2, 4, 6, 6), _XL_BLOCKS, _XL_EXPAND, _XL_FEWER, _XL_NECK,
                                 head_depth=12, head_expand_ratio=4),
}


class EfficientViTConfigError(ValueError):
    """The tensors do not describe an EfficientViT-SAM image encoder."""


_STAGE_BLOCK = re.compile(r"^image_encoder\.backbone\.stages\.(\d+)\.op_list\.(\d+)\.(.+)$")
_NECK_INPUT = re.compile(r"^image_encoder\.neck\.input_ops\.(\d+)\.op_list\.0\.conv\.weight$")
_NECK_MIDDLE = re.compile(r"^image_encoder\.neck\.middle\.op_list\.(\d+)\.main\.spatial_conv\.conv\.weight$")


def infer_efficientvit_config(state_dict: Mapping[str, torch.Tensor]) -> EfficientViTSamConfig:
    """Read the architecture off key names and tensor shapes alone.

    Each stage's blocks are numbered ``op_list.0..``: block 0 is the stem convolution
    (stage 0) or the downsampling block; the kind of the others follows from their keys
    (``conv1``: res, ``spatial_conv``: fmb, ``inverted_conv``: mb, ``context_module``: att),
    their expansion from the inner width, ``fewer_norm`` from a bias where a BatchNorm
    would be. The neck inputs are the stages whose widths match its input projections.
    """
    stages: dict[int, dict[int, set[str]]] = {}
    for key in state_dict:
        match = _STAGE_BLOCK.match(key)
        if match:
            stages.setdefault(int(match.group(1)), {}).setdefault(int(match.group(2)), set()).add(match.group(3))
    if not stages or sorted(stages) != list(range(len(stages))):
        raise EfficientViTConfigError("backbone stages are missing or not numbered 0..N-1")

    def tensor(name: str) -> torch.Tensor:
        try:
            return state_dict[f"image_encoder.backbone.{name}"]
        except KeyError:
            raise EfficientViTConfigError(f"missing tensor image_encoder.backbone.{name}") from None

    widths, depths, blocks, expands, fewer = [], [], [], [], []
    for s in range(len(stages)):
        ops = stages[s]
        if sorted(ops) != list(range(len(ops))):
            raise EfficientViTConfigError(f"stage {s} blocks are not numbered 0..N-1")
        first = f"stages.{s}.op_list.0"
        width = tensor(f"{first}.conv.weight" if s == 0 else _out_weight(ops[0], first)).shape[0]
        kind, expand, few = "res", 1.0, False
        if len(ops) > 1:
            kind, expand, few = _block_kind(ops[1], f"stages.{s}.op_list.1", width, tensor)
        if s > 0:
            # The downsampling block (mb or fmb, expansion x4) shows fewer_norm for every kind,
            # and the stage's kind and expansion when it is the only block.
            down_kind, down_expand, few = _block_kind(ops[0], first, None, tensor)
            if len(ops) == 1:
                kind, expand = down_kind, down_expand / 4
        widths.append(width)
        depths.append(len(ops) - 1)
        blocks.append(kind)
        expands.append(expand)
        fewer.append(few)
    neck = sorted((int(m.group(1)), state_dict[k].shape[1]) for k in state_dict if (m := _NECK_INPUT.match(k)))
    middle = [int(m.group(1)) for k in state_dict if (m := _NECK_MIDDLE.match(k))]
    if not neck or not middle:
        raise EfficientViTConfigError("neck input projections or middle blocks are missing")
    names = []
    for _, chans in neck:
        if widths.count(chans) != 1:
            raise EfficientViTConfigError(f"no single backbone stage of width {chans} feeds the neck")
        names.append(f"stage{widths.index(chans)}")
    head = state_dict["image_encoder.neck.middle.op_list.0.main.spatial_conv.conv.weight"]
    head_width = head.shape[1]
    qkv_dim = 32
    for s, kind in enumerate(blocks):
        if kind.startswith("att") and depths[s]:
            qkv_dim = tensor(f"stages.{s}.op_list.1.context_module.main.aggreg.0.1.weight").shape[1]
    return EfficientViTSamConfig(
        width_list=tuple(widths), depth_list=tuple(depths), block_list=tuple(blocks),
        expand_list=tuple(_round(e) for e in expands), fewer_norm_list=tuple(fewer), neck_inputs=tuple(names),
        head_width=head_width, head_depth=len(middle), head_expand_ratio=_round(head.shape[0] / head_width),
        qkv_dim=qkv_dim, out_chans=state_dict["image_encoder.norm.weight"].shape[0],
    )


def _out_weight(keys: set[str], prefix: str) -> str:
    for last in ("point_conv", "conv2"):
        if f"main.{last}.conv.weight" in keys:
            return f"{prefix}.main.{last}.conv.weight"
    raise EfficientViTConfigError(f"{prefix} is not a known EfficientViT block")


def _block_kind(keys: set[str], prefix: str, width: int | None, tensor) -> tuple[str, float, bool]:
    """(kind, expansion, fewer_norm) of the block at ``prefix``."""
    if "context_module.main.qkv.conv.weight" in keys:
        kernel = tensor(f"{prefix}.context_module.main.aggreg.0.0.weight").shape[-1]
        mid = tensor(f"{prefix}.local_module.main.inverted_conv.conv.weight").shape[0]
        return ("att@3" if kernel == 3 else "att"), mid / width, False
    for kind, inner in (("res", "conv1"), ("fmb", "spatial_conv"), ("mb", "inverted_conv")):
        if f"main.{inner}.conv.weight" in keys:
            weight = tensor(f"{prefix}.main.{inner}.conv.weight")
            few = f"main.{inner}.conv.bias" in keys
            return kind, weight.shape[0] / weight.shape[1], few
    raise EfficientViTConfigError(f"{prefix} is not a known EfficientViT block")


def _round(value: float) -> float:
    return int(value) if float(value).is_integer() else float(value)
