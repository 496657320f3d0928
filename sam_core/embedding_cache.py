"""Image embeddings on disk: fp16, keyed by image content and checkpoint, LRU-capped.

File layout (one file per embedding, ``<image_hash>-<checkpoint_id>.samemb``):
``MAGIC`` (8 bytes), a little-endian uint32 header length, a UTF-8 JSON header
``{"version": 2, "image_hash", "checkpoint_id", "tensors": [{"name", "shape"}, ...],
"dtype", "original_size", "input_size"}``, then each tensor of the
:class:`~sam_core.families.base.ImageEmbedding` in that order as raw little-endian
float16 (C order). Version 1 entries (one ``"shape"``: SAM v1's ``image_embed``) are
still read.
Writes are atomic (temporary file, fsync, rename), so a crash leaves either no
entry or a whole one; the temporary files of a crashed write are swept once stale.
Least-recently-used entries are evicted past ``max_bytes``; a load refreshes an
entry's modification time. Another process may evict at the same moment: an entry
that vanishes between listing and reading is simply left out.
"""
from __future__ import annotations

import hashlib
import json
import os
import struct
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .families.base import IMAGE_EMBED, ImageEmbedding

MAGIC = b"MWEMB\x001\n"
SUFFIX = ".samemb"


def content_hash(data: bytes | np.ndarray) -> str:
    """A 32-hex-digit BLAKE2b digest of file bytes or of a pixel array (shape and dtype included)."""
    digest = hashlib.blake2b(digest_size=16)
    if isinstance(data, np.ndarray):
        digest.update(f"{data.shape}{data.dtype}".encode())
        data = np.ascontiguousarray(data).data
    digest.update(data)
    return digest.hexdigest()


@dataclass(frozen=True)
class CachedEmbedding:
    """A restored embedding (float32 tensors), plus the sizes ``set_image_embedding`` needs."""

    embedding: ImageEmbedding
    original_size: tuple[int, int]
    input_size: tuple[int, int]


class EmbeddingCache:
    """A folder of embeddings. Safe to share between processes; corrupt entries are dropped."""

    def __init__(self, directory: str | os.PathLike, max_bytes: int = 2 * 1024**3, stale_tmp_s: float = 3600.0) -> None:
        self.directory = Path(directory)
        self.max_bytes = max_bytes
        self.stale_tmp_s = stale_tmp_s  # a temporary file this old is a crashed write's, not one in progress

    def path_for(self, image_hash: str, checkpoint_id: str) -> Path:
        return self.directory / f"{image_hash}-{checkpoint_id}{SUFFIX}"

    def save(
        self,
        image_hash: str,
        checkpoint_id: str,
        embedding: ImageEmbedding | torch.Tensor,
        original_size: tuple[int, int],
        input_size: tuple[int, int],
    ) -> Path:
        """Store ``embedding`` (any float dtype/device; a bare tensor is ``image_embed``) as
        fp16; returns the file path."""
        if isinstance(embedding, torch.Tensor):
            embedding = ImageEmbedding({IMAGE_EMBED: embedding})
        arrays = {name: t.detach().to("cpu", torch.float16).contiguous().numpy() for name, t in embedding.items()}
        header = json.dumps(
            {
                "version": 2,
                "image_hash": image_hash,
                "checkpoint_id": checkpoint_id,
                "tensors": [{"name": name, "shape": list(array.shape)} for name, array in arrays.items()],
                "dtype": "float16",
                "original_size": [int(s) for s in original_size],
                "input_size": [int(s) for s in input_size],
            }
        ).encode()
        self.directory.mkdir(parents=True, exist_ok=True)
        target = self.path_for(image_hash, checkpoint_id)
        fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".tmp-", suffix=SUFFIX)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(MAGIC + struct.pack("<I", len(header)) + header)
                for array in arrays.values():
                    handle.write(array.astype("<f2", copy=False).tobytes())
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        self.evict()
        return target

    def load(self, image_hash: str, checkpoint_id: str, device: str | torch.device = "cpu") -> CachedEmbedding | None:
        """The stored embedding as float32 on ``device``, or None on a miss or a damaged entry."""
        path = self.path_for(image_hash, checkpoint_id)
        try:
            raw = path.read_bytes()
        except OSError:
            return None
        try:
            if raw[: len(MAGIC)] != MAGIC:
                raise ValueError("bad magic")
            (length,) = struct.unpack_from("<I", raw, len(MAGIC))
            start = len(MAGIC) + 4
            header = json.loads(raw[start : start + length])
            if header["image_hash"] != image_hash or header["checkpoint_id"] != checkpoint_id:
                raise ValueError("key mismatch")
            layout = _tensor_layout(header)
            data = np.frombuffer(raw, dtype="<f2", offset=start + length)
            if data.size != sum(int(np.prod(shape)) for _name, shape in layout):
                raise ValueError("truncated")
            tensors, offset = {}, 0
            for name, shape in layout:
                size = int(np.prod(shape))
                tensors[name] = torch.from_numpy(data[offset : offset + size].reshape(shape).astype(np.float32)).to(device)
                offset += size
            embedding = ImageEmbedding(tensors)
        except (ValueError, KeyError, TypeError, struct.error):
            path.unlink(missing_ok=True)
            return None
        os.utime(path)
        return CachedEmbedding(embedding, tuple(header["original_size"]), tuple(header["input_size"]))

    def _listing(self) -> list[tuple[Path, int, int]]:
        """(path, mtime in ns, size) of each stored embedding, least recently used first."""
        if not self.directory.is_dir():
            return []
        listing = []
        for path in self.directory.glob(f"*{SUFFIX}"):
            if path.name.startswith(".tmp-"):
                continue
            try:
                stat = path.stat()
            except FileNotFoundError:  # evicted by another process meanwhile
                continue
            listing.append((path, stat.st_mtime_ns, stat.st_size))
        return sorted(listing, key=lambda entry: entry[1])

    def entries(self) -> list[Path]:
        """Stored embeddings, least recently used first."""
        return [path for path, _mtime, _size in self._listing()]

    def size_bytes(self) -> int:
        return sum(size for _path, _mtime, size in self._listing())

    def evict(self) -> list[Path]:
        """Delete stale temporary files, then least-recently-used entries until the
        folder is within ``max_bytes``; returns the entries deleted."""
        self._sweep_temporaries()
        listing = self._listing()
        total = sum(size for _path, _mtime, size in listing)
        removed = []
        for path, _mtime, size in listing:
            if total <= self.max_bytes:
                break
            total -= size
            path.unlink(missing_ok=True)
            removed.append(path)
        return removed

    def _sweep_temporaries(self) -> None:
        oldest = time.time() - self.stale_tmp_s
        for path in self.directory.glob(".tmp-*"):
            try:
                if path.stat().st_mtime < oldest:
                    path.unlink()
            except FileNotFoundError:  # renamed into place, or swept by another process
                pass

    def store_from(self, predictor, image_hash: str) -> Path:
        """Save the predictor's current embedding under its model's checkpoint id."""
        return self.save(
            image_hash,
            predictor.model.checkpoint_id,
            predictor.get_embedding(),
            predictor.original_size,
            predictor.input_size,
        )

    def restore_into(self, predictor, image_hash: str) -> bool:
        """Set the predictor's embedding from the cache; False on a miss (then encode)."""
        entry = self.load(image_hash, predictor.model.checkpoint_id, predictor.device)
        if entry is None:
            return False
        try:
            predictor.set_image_embedding(entry.embedding, entry.original_size, entry.input_size)
        except ValueError:  # an entry this network cannot use (say, from an older Maskwright): encode
            return False
        return True


def _tensor_layout(header: dict) -> list[tuple[str, tuple[int, ...]]]:
    """(name, shape) of each stored tensor, in file order; version 1 held ``image_embed`` only."""
    if header["version"] == 1:
        return [(IMAGE_EMBED, tuple(header["shape"]))]
    if header["version"] == 2:
        return [(entry["name"], tuple(entry["shape"])) for entry in header["tensors"]]
    raise ValueError(f"unknown cache version {header['version']}")
