"""The SAM worker's three lanes: which thread runs which jobs, at what CPU priority,
with how many torch threads (no Qt).

A click must never wait behind background work. On 2 cores an encoder block of vit_b
takes about 0.4 s, far longer than a click (about 35 ms), so answering clicks between
blocks is not enough: decodes get a thread of their own, and background encodes run at
the lowest CPU priority, so that the scheduler hands the cores to a click the moment it
comes and gives them back when it is done (measured in ``app.services.sam.click_bench``).

- ``JOBS``: loading a checkpoint and encoding the image on screen (what the user waits for).
- ``CLICKS``: decodes, at the UI thread's priority.
- ``BACKGROUND``: segment everything, pre-encoding the next image, precompute; lowest priority.
"""
from __future__ import annotations

import os
import sys
import threading
from dataclasses import dataclass
from enum import Enum

import torch

from sam_core.runtime import available_cores


class Lane(Enum):
    JOBS = "jobs"
    CLICKS = "clicks"
    BACKGROUND = "background"


@dataclass(frozen=True)
class LanePolicy:
    """``niceness``: added to the thread's nice value on Linux (where Qt's thread priorities
    do nothing); ``threads``: torch intra-op threads for the lane's thread (None: every core)."""

    niceness: int
    threads: int | None = None


POLICIES = {
    Lane.JOBS: LanePolicy(niceness=5),  # the UI thread still wins the cores while encoding
    Lane.CLICKS: LanePolicy(niceness=0),
    Lane.BACKGROUND: LanePolicy(niceness=19),
}


def enter_lane(policy: LanePolicy) -> int:
    """Apply ``policy`` to the calling thread, before it runs any torch work: its OpenMP
    threads are started by its first parallel operation and inherit its nice value then.
    Returns the thread count set."""
    lower_thread_priority(policy.niceness)
    threads = policy.threads or available_cores()
    # OpenMP keeps the count per thread, but torch sets a thread's count from its process-wide
    # default on the thread's first torch call: make that call first, or the next lane to
    # start would overwrite this one. (The default is set too: threads that have not run torch
    # yet start with the last lane's count.)
    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)
    return threads


def lower_thread_priority(steps: int) -> None:
    """Linux: raise this thread's nice value by ``steps`` (never lower it; that needs
    privileges). Elsewhere nothing: the lanes are QThreads with Qt priorities there."""
    if steps <= 0 or not (hasattr(os, "setpriority") and sys.platform.startswith("linux")):
        return
    try:
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + steps))
    except OSError:
        pass
