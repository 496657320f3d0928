"""Maskwright's Segment Anything engine: PyTorch and numpy only."""
from .build import CheckpointError, choose_device, load_sam
from .config import KNOWN_VARIANTS, SamConfig, build_sam, infer_config
from .modeling import Sam
from .predictor import SamPredictor

__all__ = [
    "CheckpointError",
    "KNOWN_VARIANTS",
    "Sam",
    "SamConfig",
    "SamPredictor",
    "build_sam",
    "choose_device",
    "infer_config",
    "load_sam",
]
