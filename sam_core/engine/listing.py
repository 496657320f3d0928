"""The engine's input as a Ray Data source: the rows of the driver's listing, in blocks.

Each read task carries its own slice of rows (``source``, ``name``, ``out_name``,
``image_id``), so nothing big travels with every task, and the tasks reserve no CPU:
building a block of a few rows is trivial, and the CPUs belong to the sam workers.
"""
from __future__ import annotations

import math
from typing import Any, Dict, List, Optional

import pyarrow
from ray.data import Datasource, ReadTask
from ray.data.block import BlockMetadata


class ListingDatasource(Datasource):
    """``rows`` in blocks of ``rows_per_block``, in order."""

    def __init__(self, rows: List[Dict[str, Any]], rows_per_block: int) -> None:
        self.rows = rows
        self.rows_per_block = max(1, rows_per_block)

    def estimate_inmemory_data_size(self) -> Optional[int]:
        return None

    def get_read_tasks(self, parallelism: int, per_task_row_limit: Optional[int] = None, data_context=None):
        tasks = []
        for start in range(0, len(self.rows), self.rows_per_block):
            chunk = self.rows[start : start + self.rows_per_block]
            metadata = BlockMetadata(num_rows=len(chunk), size_bytes=None, exec_stats=None, input_files=None)
            tasks.append(ReadTask(_reader(chunk), metadata))
        return tasks

    def blocks(self) -> int:
        return math.ceil(len(self.rows) / self.rows_per_block)


def _reader(chunk: List[Dict[str, Any]]):
    def read():
        return [pyarrow.Table.from_pylist(chunk)]

    return read
