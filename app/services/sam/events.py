"""What SAM jobs report: one small record per kind of news (no Qt).

A job returns one of these (or None), may report more while it runs, and its
failure becomes one too. :meth:`app.services.sam.worker.SamWorker._deliver` is
the one place that turns them into the worker's signals, one signal per record type.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Union

from app.services.messages import one_line


@dataclass(frozen=True)
class SamLoaded:
    device: str
    title: str  # the config's title: family and variant, e.g. "SAM vit_b", "SAM 2.1 hiera_t"


@dataclass(frozen=True)
class SamKept:
    """A new checkpoint failed to load; the SAM that was working still answers."""

    device: str
    title: str  # as :class:`SamLoaded`'s


@dataclass(frozen=True)
class EncodeStarted:
    key: str
    device: str


@dataclass(frozen=True)
class EncodeProgress:
    key: str
    done: int  # encoder blocks done
    total: int


@dataclass(frozen=True)
class CacheHit:
    key: str
    seconds: float  # to hash the image and restore its embedding from disk


@dataclass(frozen=True)
class Encoded:
    key: str
    seconds: float  # encoding time; 0.0 when it was in memory or on disk


@dataclass(frozen=True)
class Decoded:
    request_id: int
    candidates: Any  # sam_core Candidates, the best one's full-resolution mask already made


@dataclass(frozen=True)
class Failed:
    kind: str  # "checkpoint", "encode", "decode", "pre-label", "cache"
    text: str  # one line


@dataclass(frozen=True)
class FellBack:
    text: str  # one line: the GPU ran out of memory and SAM moved to the CPU


def out_of_memory_notice(error: BaseException) -> FellBack:
    return FellBack(f"The GPU ran out of memory ({one_line(error)[:160]}); SAM now runs on the CPU, "
                    "more slowly. Reopen the checkpoint to try the GPU again.")


@dataclass(frozen=True)
class PrelabelProgress:
    job_id: int
    number: int  # image number, from 1
    images: int
    done: int  # point batches done on this image
    batches: int


@dataclass(frozen=True)
class Prelabelled:
    job_id: int
    image_id: int
    masks: list  # list[AutoMask]


@dataclass(frozen=True)
class PrelabelFinished:
    job_id: int
    cancelled: bool


@dataclass(frozen=True)
class BoxesProgress:
    job_id: int
    done: int  # images done
    images: int


@dataclass(frozen=True)
class Boxed:
    job_id: int
    image_id: int
    masks: list  # list[BoxMask]


@dataclass(frozen=True)
class BoxesFinished:
    job_id: int
    cancelled: bool


@dataclass(frozen=True)
class Precomputed:
    key: str
    seconds: float
    was_on_disk: bool


@dataclass(frozen=True)
class PrecomputeFailed:
    key: str
    text: str


Event = Union[SamLoaded, SamKept, EncodeStarted, EncodeProgress, CacheHit, Encoded, Decoded, Failed, FellBack,
              PrelabelProgress, Prelabelled, PrelabelFinished, BoxesProgress, Boxed, BoxesFinished, Precomputed,
              PrecomputeFailed]
