"""SAM families: the interface every network offers (:mod:`.base`) and the loader's registry
(:mod:`.registry`), one module per family beside them."""
from .base import ConfigError, Family, ImageEmbedding, UnsupportedFamily

__all__ = ["ConfigError", "Family", "ImageEmbedding", "UnsupportedFamily"]
