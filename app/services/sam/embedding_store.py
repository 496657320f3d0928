"""The embeddings of the last few images, in memory, by image key (no Qt).

Every lane of the SAM worker reads and writes it: encodes keep their result here,
clicks restore from here. Thread-safe; the lock is held only for dict work, never
while a tensor is copied.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from typing import NamedTuple

import torch

from sam_core import ImageEmbedding, SamPredictor


class Embedding(NamedTuple):
    """``embedding``: every tensor the family's decoder needs (``image_embed`` 1x256x64x64
    float32 on SAM's device; SAM 2 adds two high-resolution feature maps, HQ-SAM an early
    ViT feature); sizes (H, W) of the original image and (h, w) of its resized input, as
    :meth:`SamPredictor.set_image_embedding` takes them."""

    embedding: ImageEmbedding
    original_size: tuple[int, int]
    input_size: tuple[int, int]


class EmbeddingStore:
    """At most ``size`` embeddings; the least recently used goes first, but never the one
    just kept nor the ``protect``-ed key (the image on screen)."""

    def __init__(self, size: int = 6) -> None:
        self.size = size
        self._lock = threading.Lock()
        self._items: OrderedDict[str, Embedding] = OrderedDict()

    def keep(self, key: str, predictor: SamPredictor, protect: str | None = None) -> None:
        """Hold ``predictor``'s current embedding under ``key``."""
        embedding = Embedding(predictor.get_embedding(), predictor.original_size, predictor.input_size)
        with self._lock:
            self._items[key] = embedding
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                old = next(k for k in self._items if k not in (key, protect))
                del self._items[old]

    def has(self, key: str) -> bool:
        with self._lock:
            return key in self._items

    def get(self, key: str) -> Embedding:
        """The embedding of ``key`` (KeyError when it is not held), now the most recently used."""
        with self._lock:
            self._items.move_to_end(key)
            return self._items[key]

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def move_to(self, device: str | torch.device) -> None:
        """Put every embedding on ``device`` (after SAM moved there)."""
        with self._lock:
            for key, embedding in self._items.items():
                self._items[key] = embedding._replace(embedding=embedding.embedding.to(device))
