"""The data engine: SAM's automatic mask generator over a whole collection, on Ray.

``python -m sam_core.engine INPUT --checkpoint CKPT --out DIR`` (also ``maskwright-engine``)
writes the SA-1B JSON files that ``python -m sam_core.amg`` writes, plus
``DIR/manifest.jsonl``, with a pool of sam workers on one machine or a Ray cluster.
This package is the only part of Maskwright that imports Ray (the ``engine`` extra:
``pip install 'maskwright[engine]'``); Ray is imported when a run starts, so
``--help`` and the error for a missing Ray work without it.
"""
from .cli import build_parser, main, run

__all__ = ["build_parser", "main", "run"]
