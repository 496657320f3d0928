"""The three stages of the engine's pipeline, each a plain function or class that Ray Data runs.

1. :func:`read_images` (CPU tasks): read the file or URI and decode it to HxWx3
   uint8 RGB (``image``), hashing the pixels when embeddings are kept.
2. :class:`MaskWorker` (an actor pool, one sam per actor): the encoder and the
   automatic mask generator; masks leave it as uncompressed RLE packed in ``candidates``.
3. :func:`write_rows` (CPU tasks): COCO RLE, the SA-1B JSON, written atomically.

Every row carries ``status``: ``todo`` while it is on its way, ``failed`` (with a
one-line ``error``) from the stage that failed it, and ``ok`` once its JSON is
written. A failure of one image never raises out of a stage, so Ray retries only
what a dead process lost. ``seconds`` adds up the time the image spent in the stages.
"""
from __future__ import annotations

import io
import time
from pathlib import Path
from typing import Any, Dict, List, Optional

import numpy as np

from ..embedding_cache import EmbeddingCache, content_hash
from ..image_files import decode_image
from ..sa1b_files import failure_reason, sa1b_document, write_json_atomic
from .sources import read_source

_EMPTY_IMAGE = np.zeros((0, 0, 3), dtype=np.uint8)


def read_images(batch: Dict[str, np.ndarray], hash_pixels: bool) -> Dict[str, np.ndarray]:
    """Stage 1: listing rows (``source``, ``name``, ``out_name``, ``image_id``) -> with ``image``."""
    return _columns([read_image_row(row, hash_pixels) for row in _rows(batch)])


def read_image_row(row: Dict[str, Any], hash_pixels: bool) -> Dict[str, Any]:
    """One listing row -> with ``image`` (HxWx3 uint8 RGB), or ``failed`` and an empty image."""
    start = time.perf_counter()
    row = dict(row, image=_EMPTY_IMAGE, image_hash="", status="todo", error="", masks=0, candidates=b"")
    try:
        row["image"] = decode_image(read_source(row["source"]), row["name"])
        if hash_pixels:
            row["image_hash"] = content_hash(row["image"])
    except Exception as exc:  # one unreadable image must not stop the run
        row["status"], row["error"] = "failed", failure_reason(exc)
    row["seconds"] = time.perf_counter() - start
    return row


class MaskWorker:
    """Stage 2: one sam and its generator, kept for the actor's life.

    Args:
        checkpoint: the checkpoint path, readable where the actor runs.
        device: "cpu", "cuda", "mps", ...; ``threads`` torch threads when not None.
        generator_kwargs: ``SamAutomaticMaskGenerator`` settings.
        checkpoint_id: the fingerprint the driver saw; another file at the path is refused.
        embeddings: a folder to store each image's embedding in, or None.
    """

    def __init__(
        self,
        checkpoint: str,
        device: str,
        threads: Optional[int],
        generator_kwargs: Dict[str, Any],
        checkpoint_id: str,
        embeddings: Optional[str] = None,
    ) -> None:
        from ..automatic_mask_generator import SamAutomaticMaskGenerator
        from ..build import load_sam
        from ..runtime import configure_threads

        if threads is not None:
            configure_threads(threads)
        sam = load_sam(checkpoint, device=device)
        if sam.checkpoint_id != checkpoint_id:
            raise RuntimeError(f"{checkpoint} changed since the run started (fingerprint {sam.checkpoint_id})")
        self.generator = SamAutomaticMaskGenerator(sam, output_mode="uncompressed_rle", **generator_kwargs)
        self.embeddings = None if embeddings is None else _EmbeddingTap(self.generator, embeddings)

    def __call__(self, batch: Dict[str, np.ndarray]) -> Dict[str, np.ndarray]:
        rows = _rows(batch)
        for row in rows:
            image = row.pop("image")
            row["height"], row["width"] = image.shape[:2]  # 0 x 0 for an image that failed to read
            if row["status"] != "todo":
                continue
            start = time.perf_counter()
            if not image.flags.writeable:  # Ray hands out read-only views; torch wants to own its pixels
                image = image.copy()
            try:
                if self.embeddings is not None:
                    self.embeddings.expect(row["image_hash"], image.shape[:2])
                records = self.generator.generate(image)
                row["candidates"], row["masks"] = pack_records(records), len(records)
            except Exception as exc:  # a degenerate image, out of GPU memory, ...: that image fails
                row["status"], row["error"] = "failed", failure_reason(exc)
            finally:
                if self.embeddings is not None:
                    self.embeddings.expect(None, None)
            row["seconds"] += time.perf_counter() - start
        return _columns(rows)


def write_rows(batch: Dict[str, np.ndarray], out: str, checkpoint_id: str, settings: str) -> Dict[str, np.ndarray]:
    """Stage 3: rows with packed candidates -> their SA-1B JSON files; returns the manifest's rows
    (and ``written_at``, the epoch time the JSON was in place, 0 when none was written)."""
    from ..utils.rle import rle_to_coco

    results = []
    for row in _rows(batch):
        start, written_at = time.perf_counter(), 0.0
        if row["status"] == "todo":
            try:
                records = unpack_records(row["candidates"])
                for record in records:
                    record["segmentation"] = rle_to_coco(record["segmentation"])
                size = (int(row["height"]), int(row["width"]))
                document = sa1b_document(int(row["image_id"]), row["name"], size, records, checkpoint_id, settings)
                write_json_atomic(Path(out) / row["out_name"], document)
                row["status"] = "ok"
                written_at = time.time()
            except Exception as exc:  # a full disk, a folder in the way: this image fails, the run goes on
                row["status"], row["error"] = "failed", failure_reason(exc)
        seconds = float(row["seconds"]) + time.perf_counter() - start
        masks = int(row["masks"]) if row["status"] == "ok" else 0
        results.append({"name": row["name"], "out_name": row["out_name"], "status": row["status"],
                        "masks": masks, "seconds": seconds, "error": row["error"],
                        "written_at": written_at})  # fmt: skip
    return _columns(results)


# -- candidates between the actor and the writer -----------------------------------------------
_FIELDS = ("lengths", "counts", "area", "bbox", "predicted_iou", "point_coords", "stability_score", "crop_box")


def pack_records(records: List[Dict[str, Any]]) -> bytes:
    """Generator records (``uncompressed_rle``) -> one ``.npz`` of aligned arrays: run lengths
    (``lengths`` per mask, all ``counts`` end to end), int boxes and areas, float64 scores."""
    counts = [np.asarray(r["segmentation"]["counts"], dtype=np.int64) for r in records]
    size = records[0]["segmentation"]["size"] if records else [0, 0]
    arrays = {
        "size": np.asarray(size, dtype=np.int64),
        "lengths": np.asarray([len(c) for c in counts], dtype=np.int64),
        "counts": np.concatenate(counts) if counts else np.zeros(0, np.int64),
        "area": np.asarray([r["area"] for r in records], dtype=np.int64),
        "bbox": np.asarray([r["bbox"] for r in records], dtype=np.int64).reshape(-1, 4),
        "predicted_iou": np.asarray([r["predicted_iou"] for r in records], dtype=np.float64),
        "point_coords": np.asarray([r["point_coords"] for r in records], dtype=np.float64).reshape(-1, 1, 2),
        "stability_score": np.asarray([r["stability_score"] for r in records], dtype=np.float64),
        "crop_box": np.asarray([r["crop_box"] for r in records], dtype=np.int64).reshape(-1, 4),
    }
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def unpack_records(data: bytes) -> List[Dict[str, Any]]:
    """The records :func:`pack_records` packed, with Python ints and floats again."""
    with np.load(io.BytesIO(data)) as arrays:
        columns = {name: arrays[name] for name in _FIELDS}
        size = arrays["size"].tolist()
    ends = np.cumsum(columns["lengths"])
    starts = ends - columns["lengths"]
    counts = columns["counts"]
    lists = {name: columns[name].tolist() for name in _FIELDS[2:]}
    return [
        {
            "segmentation": {"size": list(size), "counts": counts[s:e].tolist()},
            **{name: values[i] for name, values in lists.items()},
        }
        for i, (s, e) in enumerate(zip(starts.tolist(), ends.tolist()))
    ]


# -- embeddings --------------------------------------------------------------------------------
class _UncappedCache(EmbeddingCache):
    """The app's cache format without its size cap: here a collection's embeddings are the
    product, and scanning the folder for eviction after every save would cost O(n) each."""

    def evict(self) -> list:
        return []


class _EmbeddingTap:
    """Stores the embedding the generator computes for the whole image (its first crop) in the
    app's disk-cache format, so the encoder never runs twice for it. It wraps the generator's
    predictor's ``set_image``; crops of another size pass untouched."""

    def __init__(self, generator, folder: str) -> None:
        self.cache = _UncappedCache(folder)
        self.predictor = generator.predictor
        self._expected: Optional[tuple] = None
        set_image = self.predictor.set_image

        def set_image_and_store(image: np.ndarray, *args, **kwargs) -> None:
            set_image(image, *args, **kwargs)
            self._store(image)

        self.predictor.set_image = set_image_and_store

    def expect(self, image_hash: Optional[str], size) -> None:
        """The next whole-image ``set_image`` is of the image with this hash and (H, W) size."""
        self._expected = None if image_hash is None else (image_hash, tuple(int(s) for s in size))

    def _store(self, image: np.ndarray) -> None:
        if self._expected is None or tuple(image.shape[:2]) != self._expected[1]:
            return
        image_hash, self._expected = self._expected[0], None
        if not self.cache.path_for(image_hash, self.predictor.model.checkpoint_id).exists():
            self.cache.store_from(self.predictor, image_hash)


# -- Ray Data batches (dict of column arrays) <-> rows -----------------------------------------
def _rows(batch: Dict[str, np.ndarray]) -> List[Dict[str, Any]]:
    names = list(batch)
    n = len(batch[names[0]]) if names else 0
    rows = []
    for i in range(n):
        row = {}
        for name in names:
            value = batch[name][i]
            row[name] = value.item() if isinstance(value, np.generic) else value
        rows.append(row)
    return rows


def _columns(rows: List[Dict[str, Any]]) -> Dict[str, np.ndarray]:
    if not rows:
        return {}
    columns = {}
    for name in rows[0]:
        values = [row[name] for row in rows]
        if isinstance(values[0], np.ndarray):
            column = np.empty(len(values), dtype=object)
            column[:] = values
        else:
            column = np.asarray(values, dtype=object if isinstance(values[0], (str, bytes)) else None)
        columns[name] = column
    return columns
