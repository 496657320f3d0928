"""Maskwright's Segment Anything engine: PyTorch and numpy only."""
from .automatic_mask_generator import GenerationCancelled, SamAutomaticMaskGenerator
from .build import CheckpointError, build_sam, choose_device, load_sam, reduced_precision
from .embedding_cache import EmbeddingCache, content_hash
from .config import KNOWN_VARIANTS, SamConfig, infer_config
from .families import ImageEmbedding
from .modeling import Sam
from .predictor import SamPredictor

__all__ = [
    "CheckpointError",
    "EmbeddingCache",
    "GenerationCancelled",
    "ImageEmbedding",
    "KNOWN_VARIANTS",
    "Sam",
    "SamAutomaticMaskGenerator",
    "SamConfig",
    "SamPredictor",
    "build_sam",
    "choose_device",
    "content_hash",
    "infer_config",
    "load_sam",
    "reduced_precision",
]
