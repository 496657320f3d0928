"""``python -m sam_core.bench``: speed of sam_core, side by side with the official code in the same run.

:mod:`.encoder_and_clicks` times the encoder, clicks, ``predict()`` and the embedding cache;
:mod:`.reference` loads Meta's ``segment_anything`` for the comparison (and for the parity
tests). Needs the ``bench`` extra for the reference columns.
"""
from .encoder_and_clicks import main, run

__all__ = ["main", "run"]
