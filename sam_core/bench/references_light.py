"""The official MobileSAM, HQ-SAM and EfficientViT-SAM code, for the bench and the parity tests.

* HQ-SAM: ``segment_anything_hq`` (PyPI 0.3), ViT and TinyViT encoders with the HQ decoder.
* MobileSAM: ``segment_anything_hq``'s TinyViT (the same file as MobileSAM's own
  ``tiny_vit_sam.py`` but for the early feature it also returns) in front of Meta's
  ``segment_anything`` prompt encoder and decoder: exactly MobileSAM's ``build_sam_vit_t``.
* EfficientViT-SAM: ``efficientsam`` (PyPI 1.0.0), MIT Han Lab's modelling code.

All three packages declare torch and torchvision as dependencies; they are installed with
``pip install --no-deps`` so that pip never replaces the CPU torch. Their imports need two
stand-ins, registered here unless the real packages are already imported:

* timm (``tiny_vit_sam.py``): ``DropPath``, ``to_2tuple``, ``trunc_normal_``,
  ``register_model``. Inference never drops a path, so ``DropPath`` is the identity.
* torchvision, beyond :mod:`.reference`'s stand-in: ``transforms.Compose``, plus
  :mod:`.reference_sam2`'s ``ToTensor`` and ``Normalize``, for EfficientViT-SAM's image transform.

Never import these packages directly; use the loaders here. Without the packages they
raise ImportError.
"""
from __future__ import annotations

import functools
import sys
import types

import torch
from torch import nn

from .reference import _install_torchvision_stand_in, load_reference
from .reference_sam2 import _install_sam2_stand_ins


class _DropPath(nn.Module):
    """timm's DropPath at inference: the identity (drop_prob is kept for its repr)."""

    def __init__(self, drop_prob: float | None = None) -> None:
        super().__init__()
        self.drop_prob = drop_prob

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


def _to_2tuple(value):
    return tuple(value) if isinstance(value, (tuple, list)) else (value, value)


def _trunc_normal_(tensor: torch.Tensor, mean: float = 0.0, std: float = 1.0, a: float = -2.0, b: float = 2.0):
    return nn.init.trunc_normal_(tensor, mean, std, a, b)


def _install_timm_stand_in() -> None:
    if "timm" in sys.modules:
        return
    timm = types.ModuleType("timm")
    models = types.ModuleType("timm.models")
    layers = types.ModuleType("timm.models.layers")
    registry = types.ModuleType("timm.models.registry")
    layers.DropPath, layers.to_2tuple, layers.trunc_normal_ = _DropPath, _to_2tuple, _trunc_normal_
    registry.register_model = lambda fn: fn
    timm.models, models.layers, models.registry = models, layers, registry
    sys.modules.update({"timm": timm, "timm.models": models, "timm.models.layers": layers,
                        "timm.models.registry": registry})


class _Compose:
    def __init__(self, transforms) -> None:
        self.transforms = list(transforms)

    def __call__(self, image):
        for transform in self.transforms:
            image = transform(image)
        return image


def _install_torchvision_transforms() -> None:
    _install_sam2_stand_ins()  # ToTensor and Normalize, shared with SAM 2's reference
    transforms = sys.modules["torchvision.transforms"]
    if not hasattr(transforms, "Compose"):
        transforms.Compose = _Compose


def load_hq_reference():
    """The ``segment_anything_hq`` package (HQ-SAM, and the TinyViT of MobileSAM)."""
    _install_torchvision_stand_in()
    _install_timm_stand_in()
    import segment_anything_hq

    return segment_anything_hq


def load_efficientvit_reference():
    """The ``efficientsam`` package (EfficientViT-SAM)."""
    _install_torchvision_transforms()
    import efficientsam

    return efficientsam


def reference_tiny_vit(config):
    """``segment_anything_hq``'s TinyViT at 1024 px with ``config``'s stage widths, depths, heads
    and windows (a :class:`~sam_core.modeling.tiny_vit.TinyViTConfig`)."""
    load_hq_reference()
    from segment_anything_hq.modeling.tiny_vit_sam import TinyViT

    return TinyViT(
        img_size=1024, in_chans=3, num_classes=config.num_classes,
        embed_dims=list(config.embed_dims), depths=list(config.depths), num_heads=list(config.num_heads),
        window_sizes=list(config.window_sizes), mlp_ratio=config.mlp_ratio, drop_rate=0.0, drop_path_rate=0.0,
        use_checkpoint=False, mbconv_expand_ratio=config.mbconv_expand_ratio, local_conv_size=3,
        layer_lr_decay=0.8,
    )


@functools.lru_cache(maxsize=None)
def _mobile_tiny_vit_class():
    from segment_anything_hq.modeling.tiny_vit_sam import TinyViT

    class MobileTinyViT(TinyViT):
        """MobileSAM's TinyViT: the same network, returning the embedding alone."""

        def forward(self, x):
            return self.forward_features(x)[0]

    return MobileTinyViT


def _finish(sam: nn.Module, state_dict, strict: bool = True) -> nn.Module:
    sam.load_state_dict(state_dict, strict=strict)
    # TinyViT's attention keeps its bias table gathered in a buffer made by .eval();
    # after loading weights it must be made again (MobileSAM's README calls eval() last too).
    return sam.eval()


def build_reference_mobile_sam(config, state_dict) -> nn.Module:
    """MobileSAM's ``build_sam_vit_t`` for TinyViT ``config``: a Meta ``Sam`` whose encoder
    returns the embedding only, loaded strictly with ``state_dict``."""
    load_reference()
    from segment_anything.modeling import MaskDecoder, PromptEncoder, Sam, TwoWayTransformer

    encoder = reference_tiny_vit(config)
    encoder.__class__ = _mobile_tiny_vit_class()
    sam = Sam(
        image_encoder=encoder,
        prompt_encoder=PromptEncoder(embed_dim=256, image_embedding_size=(64, 64), input_image_size=(1024, 1024),
                                     mask_in_chans=16),
        mask_decoder=MaskDecoder(num_multimask_outputs=3, transformer=TwoWayTransformer(
            depth=2, embedding_dim=256, mlp_dim=2048, num_heads=8), transformer_dim=256, iou_head_depth=3,
            iou_head_hidden_dim=256),
        pixel_mean=[123.675, 116.28, 103.53],
        pixel_std=[58.395, 57.12, 57.375],
    )
    return _finish(sam, state_dict)


def build_reference_hq_sam(encoder_config, state_dict) -> nn.Module:
    """HQ-SAM as ``segment_anything_hq.build_sam`` makes it: a ViT encoder for a
    :class:`~sam_core.config.SamConfig`, or TinyViT (``vit_tiny``) for a ``TinyViTConfig``."""
    load_hq_reference()
    from segment_anything_hq.build_sam import _build_sam
    from segment_anything_hq.modeling import MaskDecoderHQ, PromptEncoder, Sam, TwoWayTransformer

    if hasattr(encoder_config, "embed_dims"):  # TinyViT, as build_sam_vit_t
        sam = Sam(
            image_encoder=reference_tiny_vit(encoder_config),
            prompt_encoder=PromptEncoder(embed_dim=256, image_embedding_size=(64, 64),
                                         input_image_size=(1024, 1024), mask_in_chans=16),
            mask_decoder=MaskDecoderHQ(num_multimask_outputs=3, transformer=TwoWayTransformer(
                depth=2, embedding_dim=256, mlp_dim=2048, num_heads=8), transformer_dim=256, iou_head_depth=3,
                iou_head_hidden_dim=256, vit_dim=encoder_config.embed_dims[2]),
            pixel_mean=[123.675, 116.28, 103.53],
            pixel_std=[58.395, 57.12, 57.375],
        )
    else:
        sam = _build_sam(
            encoder_embed_dim=encoder_config.embed_dim,
            encoder_depth=encoder_config.depth,
            encoder_num_heads=encoder_config.num_heads,
            encoder_global_attn_indexes=list(encoder_config.global_attn_indexes),
            checkpoint=None,
        )
    return _finish(sam, state_dict)


def reference_efficientvit_encoder(config) -> nn.Module:
    """``efficientsam``'s EfficientViT-SAM image encoder for an
    :class:`~sam_core.modeling.efficientvit.EfficientViTSamConfig`, norms at eps 1e-6 as the
    model zoo sets them."""
    load_efficientvit_reference()
    from efficientsam.models.efficientvit.backbone import EfficientViTLargeBackbone
    from efficientsam.models.efficientvit.sam import EfficientViTSamImageEncoder, SamNeck
    from efficientsam.models.nn.norm import set_norm_eps

    backbone = EfficientViTLargeBackbone(
        width_list=list(config.width_list), depth_list=list(config.depth_list),
        block_list=list(config.block_list), expand_list=list(config.expand_list),
        fewer_norm_list=list(config.fewer_norm_list), qkv_dim=config.qkv_dim,
    )
    neck = SamNeck(
        fid_list=list(config.neck_inputs), in_channel_list=[config.width_list[int(f[5:])] for f in config.neck_inputs],
        head_width=config.head_width, head_depth=config.head_depth, expand_ratio=config.head_expand_ratio,
        middle_op="fmb",
    )
    encoder = EfficientViTSamImageEncoder(backbone, neck)
    set_norm_eps(encoder, 1e-6)
    return encoder


def build_reference_efficientvit_sam(config, state_dict) -> nn.Module:
    """EfficientViT-SAM as ``efficientsam``'s model zoo builds it (``build_efficientvit_sam``),
    loaded strictly with ``state_dict``."""
    load_efficientvit_reference()
    from efficientsam.models.efficientvit.sam import build_efficientvit_sam
    from efficientsam.models.nn.norm import set_norm_eps

    sam = build_efficientvit_sam(reference_efficientvit_encoder(config), config.image_size)
    set_norm_eps(sam, 1e-6)
    return _finish(sam, state_dict)
