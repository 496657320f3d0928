"""The SAM worker's embeddings on disk: look there before encoding, store there after.

Wraps :class:`sam_core.EmbeddingCache` (fp16 files keyed by the image's pixel
hash and the checkpoint's fingerprint, so another checkpoint never reuses them,
atomic writes, LRU size cap). Hashing and restoring run on the lane that encodes
(a few milliseconds to tens of them); storing runs on a writer thread of its own
so the image is ready for clicks at once. Any of the worker's lanes may use it.
"""
from __future__ import annotations

import math
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np
import torch

from sam_core import EmbeddingCache, ImageEmbedding, SamPredictor, content_hash


HEADER_BYTES = 512  # about what an entry's header takes


def stored_bytes(shapes: dict[str, tuple[int, ...]]) -> int:
    """Bytes of one cache entry for an embedding of these tensor shapes (``embedding_shapes()``
    of a network: SAM v1 about 2 MB, SAM 2 about 8 MB, HQ-SAM vit_h about 12.5 MB): fp16, header included."""
    return 2 * sum(math.prod(shape) for shape in shapes.values()) + HEADER_BYTES


class DiskEmbeddings:
    """``on_error(text)`` hears of a failed store once, until a store works again."""

    def __init__(self, cache: EmbeddingCache, on_error: Callable[[str], None]) -> None:
        self.cache = cache
        self._on_error = on_error
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="embedding-store")
        self._failing = False

    def restore(self, predictor: SamPredictor, image: np.ndarray) -> tuple[str, float | None]:
        """Hash ``image`` (HxWx3 uint8) and set the predictor's embedding from disk if it is
        there. Returns the hash and the seconds it took, or None for the seconds on a miss."""
        start = time.perf_counter()
        image_hash = content_hash(image)
        try:
            hit = self.cache.restore_into(predictor, image_hash)
        except (OSError, ValueError):  # evicted meanwhile, or a damaged entry: encode instead
            hit = False
        return image_hash, (time.perf_counter() - start if hit else None)

    def contains(self, image_hash: str, checkpoint_id: str) -> bool:
        return self.cache.path_for(image_hash, checkpoint_id).is_file()

    def store(self, predictor: SamPredictor, image_hash: str) -> Future:
        """Save the predictor's current embedding (every tensor its family's decoder needs:
        SAM 2's high-resolution features, HQ-SAM's early ViT feature) as fp16 on the writer
        thread; the future is done
        when the file is written (or raises why it could not be)."""
        embedding = ImageEmbedding({name: tensor.detach().to("cpu", torch.float16).clone()
                                    for name, tensor in predictor.get_embedding().items()})
        args = (image_hash, predictor.model.checkpoint_id, embedding, predictor.original_size, predictor.input_size)
        return self._pool.submit(self._save, *args)

    def _save(self, *args) -> None:
        try:
            self.cache.save(*args)
        except BaseException as error:
            if not self._failing:
                self._failing = True
                reason = getattr(error, "strerror", None) or str(error)
                self._on_error(f"cannot store an embedding in {self.cache.directory}: {reason}")
            raise
        self._failing = False

    def close(self) -> None:
        """Wait for the stores in progress (their files are whole either way)."""
        self._pool.shutdown(wait=True)


__all__ = ["DiskEmbeddings"]
