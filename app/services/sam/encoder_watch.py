"""Hooks between the image encoder's blocks: cancel an encode nobody needs any more, and
report how far it is (no Qt).

The hooks are installed once per loaded SAM and do nothing unless the thread running
the encoder is watching: :meth:`EncoderWatch.watching` says, for that thread only,
what to check before each block and whom to tell after it. Several threads may encode
with one SAM at once (a click lane never does, a background lane may), each watched
on its own.
"""
from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sam_core import Sam


class EncoderWatch:
    def __init__(self) -> None:
        self._local = threading.local()

    def install(self, sam: Sam) -> None:
        """Hook every block of ``sam``'s image encoder (once per SAM)."""
        blocks = sam.image_encoder.blocks
        for number, block in enumerate(blocks, start=1):
            block.register_forward_pre_hook(self._before_block)
            block.register_forward_hook(lambda *_, done=number, total=len(blocks): self._after_block(done, total))

    @contextmanager
    def watching(self, check: Callable[[], None], progress: Callable[[int, int], None]) -> Iterator[None]:
        """While inside, encodes on this thread call ``check()`` before each block (it
        raises to abandon the encode) and ``progress(done, total)`` after each."""
        self._local.watcher = (check, progress)
        try:
            yield
        finally:
            self._local.watcher = None

    def _before_block(self, *_) -> None:
        watcher = getattr(self._local, "watcher", None)
        if watcher is not None:
            watcher[0]()

    def _after_block(self, done: int, total: int) -> None:
        watcher = getattr(self._local, "watcher", None)
        if watcher is not None:
            watcher[1](done, total)
