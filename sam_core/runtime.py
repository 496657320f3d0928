"""Process-level settings that make CPU inference fast, applied on request only."""
from __future__ import annotations

import os

import torch

_THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "TORCH_NUM_THREADS")


def available_cores() -> int:
    """Cores this process may run on (respects CPU affinity and container limits)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS, Windows
        return max(1, os.cpu_count() or 1)


def configure_threads(threads: int | None = None) -> int:
    """Set torch's intra-op threads: ``threads`` if given, else the user's
    OMP/MKL/TORCH_NUM_THREADS, else every available core. Returns the count.

    Using more threads than cores (or hyper-thread siblings on some CPUs) makes
    the encoder's big matrix products slower, not faster.
    """
    if threads is None:
        for name in _THREAD_VARIABLES:
            value = os.environ.get(name, "")
            if value.isdigit() and int(value) > 0:
                threads = int(value)
                break
    threads = threads or available_cores()
    torch.set_num_threads(threads)
    return threads
