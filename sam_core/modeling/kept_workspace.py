"""Inference buffers an encoder keeps from one image to the next (its *workspace*).

A feature map allocated afresh for every image costs page faults that take longer than
filling it; kept buffers cost none after the first image. One call at a time uses an
encoder's workspace: a call made while another holds it (another thread, a hook) gets
a workspace of its own.
"""
from __future__ import annotations

import threading
from typing import Callable, TypeVar

from torch import nn

_LOCK = threading.Lock()  # module-level, so that networks stay deep-copyable
T = TypeVar("T")


class KeptWorkspace(nn.Module):
    """Mixin for an ``nn.Module`` whose inference path takes a ``workspace`` dict."""

    def with_workspace(self, run: Callable[[dict], T]) -> T:
        """``run(workspace)`` with this module's kept workspace, or a fresh one when it is in use."""
        owned = _LOCK.acquire(blocking=False)
        try:
            return run(self.__dict__.setdefault("_workspace", {}) if owned else {})
        finally:
            if owned:
                _LOCK.release()

    def release_workspace(self) -> None:
        """Free the inference buffers kept between calls."""
        with _LOCK:
            self.__dict__["_workspace"] = {}

    def _apply(self, fn, *args, **kwargs):  # .to(), .half(), ...: buffers of the old device or dtype go
        self.__dict__["_workspace"] = {}
        return super()._apply(fn, *args, **kwargs)
