"""``python -m sam_core.bench``: speed of sam_core, side by side with the official code in the same run.

:mod:`.cli` is the command line. :mod:`.encoder_and_clicks` times the encoder, clicks,
``predict()`` and the embedding cache; :mod:`.generator` segment everything;
:mod:`.generation_helpers` NMS and connected components; :mod:`.peers` onnxruntime;
:mod:`.int8` the int8 encoder;
:mod:`.reference` loads Meta's ``segment_anything`` for the comparison (and for the parity
tests). Needs the ``bench`` extra for the reference columns.
"""
from .cli import main
from .encoder_and_clicks import run

__all__ = ["main", "run"]
