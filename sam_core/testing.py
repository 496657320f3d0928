"""Random-weight checkpoints in Meta's exact format, for tests, the self-test and the bench.

No real weights can be downloaded here, so the tests build models whose every
tensor is perturbed from a seed (Meta initialises ``rel_pos`` to zero, which
would hide relative-position bugs).
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from .build import build_sam
from .config import KNOWN_VARIANTS, SamConfig
from .families.efficientvit_sam import build_efficientvit_sam
from .families.hq_sam import HQSamConfig, build_hq_sam
from .families.mobile_sam import MobileSamConfig, build_mobile_sam
from .families.sam2 import HIERA_VARIANTS, TEST_VARIANTS, Sam2Config, build_sam2
from .modeling.efficientvit import EfficientViTSamConfig
from .modeling.tiny_vit_config import MOBILE_SAM_TINY_VIT, TinyViTConfig

#: A quick encoder (one windowed and one global block) with SAM's full 256-d decoder.
TINY_CONFIG = SamConfig(embed_dim=64, depth=2, num_heads=2, global_attn_indexes=(1,))
VIT_B_CONFIG = KNOWN_VARIANTS["vit_b"]


def random_state_dict(config: SamConfig = TINY_CONFIG, seed: int = 0) -> dict[str, torch.Tensor]:
    """A state_dict with Meta's key names for ``config``; every tensor depends on ``seed``."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return _perturbed(build_sam(config).state_dict(), seed)


def _perturbed(state: dict[str, torch.Tensor], seed: int) -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed + 1)
    out = {}
    for name, tensor in state.items():
        tensor = tensor.detach().float()
        spread = float(tensor.std()) if tensor.numel() > 1 else 0.0
        noise = torch.randn(tensor.shape, generator=generator)
        out[name] = (tensor + noise * max(0.5 * spread, 0.02)).contiguous()
    return out


#: SAM 2's test shape: the seven-block Hiera of ``TEST_VARIANTS`` with the full decoder.
SAM2_TEST_CONFIG = Sam2Config("sam2.1", "hiera_test", TEST_VARIANTS["hiera_test"])
SAM2_HIERA_T_CONFIG = Sam2Config("sam2.1", "hiera_t", HIERA_VARIANTS["hiera_t"])


def random_sam2_state_dict(config: Sam2Config = SAM2_TEST_CONFIG, seed: int = 0) -> dict[str, torch.Tensor]:
    """Every tensor of an official SAM 2 / 2.1 checkpoint of ``config`` (the video modules'
    too, which ``load_sam`` ignores), perturbed from ``seed``."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        state = _perturbed(build_sam2(config).state_dict(), seed)
    generator = torch.Generator().manual_seed(seed + 2)
    for name, shape in sam2_video_tensor_shapes(config.family).items():
        state[name] = 0.02 * torch.randn(shape, generator=generator)
    return state


def blob_state_dict(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """``state`` changed so that its masks look like SAM's: blobs rather than speckle.

    Random decoder weights predict speckled masks whose boxes all span the image, which
    leaves box NMS and the crop-edge filter of the generator nothing to decide. Averaging
    the 2x2 kernels of the output upscaling removes the speckle, and scaling the
    hypernetworks' last layer gives SAM-like logit magnitudes. Returns a new dict.
    """
    state = dict(state)
    for key in ("mask_decoder.output_upscaling.0.weight", "mask_decoder.output_upscaling.3.weight"):
        state[key] = state[key].mean(dim=(2, 3), keepdim=True).expand_as(state[key]).contiguous()
    for i in range(4):
        for part in ("weight", "bias"):
            key = f"mask_decoder.output_hypernetworks_mlps.{i}.layers.2.{part}"
            state[key] = state[key] * 50.0
    return state




def perturbed_state_dict(module: torch.nn.Module, seed: int = 0) -> dict[str, torch.Tensor]:
    """``module``'s state_dict with every tensor perturbed from ``seed``, as
    :func:`random_state_dict` does, for networks with BatchNorms and learnt attention biases.

    BatchNorm statistics get spreads of their own (a zero mean and unit variance would
    hide a fold that skips them), variances stay positive, and the step counters
    (``num_batches_tracked``) are kept as they are.
    """
    generator = torch.Generator().manual_seed(seed + 1)
    state = {}
    for name, tensor in module.state_dict().items():
        if name.endswith("num_batches_tracked"):
            state[name] = tensor.clone()
            continue
        tensor = tensor.detach().float()
        noise = torch.randn(tensor.shape, generator=generator)
        if name.endswith("running_var"):
            state[name] = 0.5 + torch.rand(tensor.shape, generator=generator)
        elif name.endswith("running_mean"):
            state[name] = 0.2 * noise
        elif name.endswith("attention_biases"):
            state[name] = tensor + 0.5 * noise
        else:
            spread = float(tensor.std()) if tensor.numel() > 1 else 0.0
            state[name] = (tensor + noise * max(0.5 * spread, 0.02)).contiguous()
    return state


#: Test shapes of the other families (the loader reads any shape off the tensors). TinyViT's
#: last stage must stay 320 wide for the reference to build it (a stride-1 merge).
TINY_VIT_TEST_CONFIG = TinyViTConfig(embed_dims=(16, 32, 48, 320), depths=(1, 1, 2, 1), num_heads=(2, 2, 3, 10),
                                     mlp_ratio=2.0, num_classes=10)
MOBILE_SAM_TEST_CONFIG = MobileSamConfig(TINY_VIT_TEST_CONFIG)
MOBILE_SAM_CONFIG = MobileSamConfig(MOBILE_SAM_TINY_VIT)
HQ_VIT_TEST_CONFIG = HQSamConfig(TINY_CONFIG)
HQ_TINY_TEST_CONFIG = HQSamConfig(TINY_VIT_TEST_CONFIG)
#: EfficientViT's two layouts at test size: L (5 stages, 512 px) and XL (6 stages, 1024 px).
EFFICIENTVIT_L_TEST_CONFIG = EfficientViTSamConfig(
    (8, 16, 24, 32, 64), (1, 1, 1, 2, 2), ("res", "fmb", "fmb", "mb", "att"), (1, 4, 4, 4, 6),
    (False, False, False, True, True), ("stage4", "stage3", "stage2"), head_width=32, head_depth=2, qkv_dim=16)
EFFICIENTVIT_XL_TEST_CONFIG = EfficientViTSamConfig(
    (8, 12, 16, 24, 32, 64), (0, 1, 1, 1, 1, 1), ("res", "fmb", "fmb", "fmb", "att@3", "att@3"), (1, 2, 2, 2, 2, 3),
    (False, False, False, False, True, True), ("stage5", "stage4", "stage3"), head_width=32, head_depth=1,
    head_expand_ratio=2, qkv_dim=16)


def build_network(config) -> torch.nn.Module:
    """An untrained network of any family for its config (SAM v1, SAM 2, MobileSAM, HQ-SAM,
    EfficientViT-SAM)."""
    builders = [(SamConfig, build_sam), (Sam2Config, build_sam2), (MobileSamConfig, build_mobile_sam),
                (HQSamConfig, build_hq_sam), (EfficientViTSamConfig, build_efficientvit_sam)]
    for kind, builder in builders:
        if isinstance(config, kind):
            return builder(config)
    raise TypeError(f"no network for {type(config).__name__}")


def random_family_state_dict(config, seed: int = 0) -> dict[str, torch.Tensor]:
    """A MobileSAM, HQ-SAM or EfficientViT-SAM state_dict in the official key layout (BatchNorm
    statistics and step counters included), every tensor perturbed from ``seed``."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return perturbed_state_dict(build_network(config), seed)


def write_random_family_checkpoint(path: str | os.PathLike, config, seed: int = 0) -> Path:
    """Save :func:`random_family_state_dict` as the official files are: a bare state_dict."""
    path = Path(path)
    torch.save(random_family_state_dict(config, seed), path)
    return path


def write_random_sam2_checkpoint(path: str | os.PathLike, config: Sam2Config = SAM2_TEST_CONFIG,
                                 seed: int = 0) -> Path:
    """Save :func:`random_sam2_state_dict` as Meta does: ``{"model": state_dict}``."""
    path = Path(path)
    torch.save({"model": random_sam2_state_dict(config, seed)}, path)
    return path


def sam2_video_tensor_shapes(family: str = "sam2.1") -> dict[str, tuple[int, ...]]:
    """Names and shapes of the video-only tensors of the published SAM 2 (.1) checkpoints:
    the same for every trunk (memory width 64, model width 256, four memory-attention layers)."""
    c, mem = 256, 64
    shapes: dict[str, tuple[int, ...]] = {
        "maskmem_tpos_enc": (7, 1, 1, mem), "no_mem_pos_enc": (1, 1, c), "no_obj_ptr": (1, c),
        "mask_downsample.weight": (1, 1, 4, 4), "mask_downsample.bias": (1,),
    }
    if family == "sam2.1":
        shapes["no_obj_embed_spatial"] = (1, mem)
    for i in range(4):
        layer = f"memory_attention.layers.{i}"
        for attn, kv_dim in (("self_attn", c), ("cross_attn_image", mem)):
            for proj, dim in (("q_proj", c), ("k_proj", kv_dim), ("v_proj", kv_dim), ("out_proj", c)):
                shapes[f"{layer}.{attn}.{proj}.weight"], shapes[f"{layer}.{attn}.{proj}.bias"] = (c, dim), (c,)
        shapes.update({f"{layer}.linear1.weight": (2048, c), f"{layer}.linear1.bias": (2048,),
                       f"{layer}.linear2.weight": (c, 2048), f"{layer}.linear2.bias": (c,)})
        for norm in ("norm1", "norm2", "norm3"):
            shapes[f"{layer}.{norm}.weight"] = shapes[f"{layer}.{norm}.bias"] = (c,)
    shapes["memory_attention.norm.weight"] = shapes["memory_attention.norm.bias"] = (c,)
    down = "memory_encoder.mask_downsampler.encoder"
    for index, (out_ch, in_ch) in zip((0, 3, 6, 9), ((4, 1), (16, 4), (64, 16), (256, 64))):
        shapes.update({f"{down}.{index}.weight": (out_ch, in_ch, 3, 3), f"{down}.{index}.bias": (out_ch,),
                       f"{down}.{index + 1}.weight": (out_ch,), f"{down}.{index + 1}.bias": (out_ch,)})
    shapes.update({f"{down}.12.weight": (c, c, 1, 1), f"{down}.12.bias": (c,),
                   "memory_encoder.pix_feat_proj.weight": (c, c, 1, 1), "memory_encoder.pix_feat_proj.bias": (c,)})
    for i in range(2):
        fuser = f"memory_encoder.fuser.layers.{i}"
        shapes.update({f"{fuser}.gamma": (c,), f"{fuser}.dwconv.weight": (c, 1, 7, 7), f"{fuser}.dwconv.bias": (c,),
                       f"{fuser}.norm.weight": (c,), f"{fuser}.norm.bias": (c,),
                       f"{fuser}.pwconv1.weight": (4 * c, c), f"{fuser}.pwconv1.bias": (4 * c,),
                       f"{fuser}.pwconv2.weight": (c, 4 * c), f"{fuser}.pwconv2.bias": (c,)})
    shapes.update({"memory_encoder.out_proj.weight": (mem, c, 1, 1), "memory_encoder.out_proj.bias": (mem,)})
    for i in range(3):
        shapes[f"obj_ptr_proj.layers.{i}.weight"], shapes[f"obj_ptr_proj.layers.{i}.bias"] = (c, c), (c,)
    if family == "sam2.1":
        shapes["obj_ptr_tpos_proj.weight"], shapes["obj_ptr_tpos_proj.bias"] = (mem, c), (mem,)
    return shapes


def write_random_checkpoint(
    path: str | os.PathLike, config: SamConfig = TINY_CONFIG, seed: int = 0
) -> Path:
    """Save :func:`random_state_dict` to ``path`` as Meta does (a bare state_dict)."""
    path = Path(path)
    torch.save(random_state_dict(config, seed), path)
    return path


def synthetic_photo(h: int, w: int, seed: int = 0) -> np.ndarray:
    """A real-looking HxWx3 uint8 RGB scene: smooth background, shaded shapes, texture, noise."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    img = np.empty((h, w, 3), np.float32)
    for c in range(3):
        img[..., c] = 60 + 80 * (xx / w) * rng.uniform(0.3, 1) + 60 * (yy / h) * rng.uniform(0.3, 1)
    for _ in range(7):
        cy, cx = rng.uniform(0, h), rng.uniform(0, w)
        ry, rx = rng.uniform(0.05, 0.25) * h, rng.uniform(0.05, 0.25) * w
        inside = ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 < 1
        colour = rng.uniform(0, 255, 3)
        shade = 1 - 0.4 * ((yy - cy) / (2 * ry) + 0.5).clip(0, 1)[inside]
        img[inside] = colour * shade[:, None]
    for _ in range(4):
        y0, x0 = int(rng.uniform(0, h * 0.8)), int(rng.uniform(0, w * 0.8))
        y1, x1 = y0 + int(rng.uniform(0.05, 0.2) * h) + 1, x0 + int(rng.uniform(0.05, 0.2) * w) + 1
        img[y0:y1, x0:x1] = rng.uniform(0, 255, 3)
    img += 12 * np.sin(xx / 7.0)[..., None] * np.cos(yy / 11.0)[..., None]
    img += rng.normal(0, 4, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)
