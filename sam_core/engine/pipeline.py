"""The Ray Data pipeline: listing rows in, manifest rows out, streaming.

``read (CPU tasks) -> encode + masks (actor pool) -> write (CPU tasks)``, as in
:mod:`.stages`. Ray Data's streaming executor runs the three at once and holds
back the readers when decoded images pile up in front of the actors, so memory
stays bounded however many images there are (the listing itself is the driver's).

Cores: Ray counts CPUs as a resource, torch threads are what use them. A CPU
actor reserves as many CPUs as it runs torch threads, so actors x threads never
exceeds the cores; the I/O stages reserve no CPU (they are a few milliseconds an
image beside seconds in the actor) and their concurrency is capped instead. A GPU
actor takes one GPU and one CPU.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Dict, Iterator, List, Optional, Tuple

from .stages import MaskWorker, read_images, write_rows

MAX_ROWS_PER_BLOCK = 16


class PlanError(ValueError):
    """The workers asked for cannot run on this cluster; one line."""


@dataclass(frozen=True)
class WorkerPlan:
    """How many sam actors, and what each reserves and runs with."""

    min_workers: int
    max_workers: int
    device: str  # what load_sam gets inside the actor
    gpus: float  # per actor
    cpus: float  # per actor (Ray's resource)
    threads: Optional[int]  # torch threads per actor; None leaves torch's default
    io_tasks: int  # concurrent read and write tasks, each

    def describe(self) -> str:
        count = str(self.min_workers) if self.min_workers == self.max_workers else f"{self.min_workers}-{self.max_workers}"
        threads = f"{self.threads} thread{'s' if self.threads != 1 else ''}"
        where = f"{self.device}, 1 GPU each" if self.gpus else f"{self.device}, {threads} each"
        return f"{count} sam worker(s) ({where})"


def parse_workers(text: Optional[str]) -> Optional[Tuple[int, int]]:
    """``"4"`` -> (4, 4); ``"2-8"`` -> (2, 8), an autoscaling pool; None -> None (choose)."""
    if text is None:
        return None
    low, _, high = text.partition("-")
    try:
        pool = (int(low), int(high or low))
    except ValueError:
        raise PlanError(f"--workers {text}: give a number or MIN-MAX, e.g. 4 or 2-8") from None
    if pool[0] < 1 or pool[1] < pool[0]:
        raise PlanError(f"--workers {text}: needs 1 <= MIN <= MAX")
    return pool


def plan_workers(
    resources: Dict[str, float],
    node_cpus: List[float],
    device: Optional[str],
    workers: Optional[Tuple[int, int]],
    threads: Optional[int],
) -> WorkerPlan:
    """Choose the pool for a cluster with ``resources`` (``ray.cluster_resources()``) whose
    nodes have ``node_cpus`` CPUs each. ``device`` None or "auto" uses GPUs where there are any."""
    gpus = int(resources.get("GPU", 0))
    cpus = float(resources.get("CPU", 0))
    device = None if device in (None, "auto") else device
    use_gpu = gpus > 0 if device is None else device.startswith("cuda")
    if use_gpu and gpus == 0:
        raise PlanError(f"--device {device}: the Ray cluster has no GPU")
    nodes = max(1, len(node_cpus))
    io_tasks = max(2, int(cpus) // 2)
    if use_gpu:
        low, high = workers or (gpus, gpus)
        return WorkerPlan(low, high, "cuda", 1.0, 1.0, threads or 1, io_tasks)
    low, high = workers or (nodes, nodes)
    smallest = int(min(node_cpus)) if node_cpus else int(cpus)
    per_node = math.ceil(high / nodes)
    threads = threads or max(1, smallest // per_node)
    if threads > smallest:
        raise PlanError(f"--threads {threads}: the smallest Ray node has {smallest} CPUs")
    return WorkerPlan(low, high, device or "cpu", 0.0, float(threads), threads, io_tasks)


def rows_per_block(images: int, workers: int) -> int:
    """Images per Ray Data block: one while there are few, so every worker is kept busy and a
    killed worker loses one image; up to 16 for big runs, where each block's ~10 ms of
    scheduling would otherwise add up."""
    return max(1, min(MAX_ROWS_PER_BLOCK, images // (8 * workers)))


def run_pipeline(
    rows: List[Dict[str, Any]],
    plan: WorkerPlan,
    checkpoint: str,
    checkpoint_id: str,
    generator_kwargs: Dict[str, Any],
    settings: str,
    out: str,
    embeddings: Optional[str],
) -> Iterator[Dict[str, Any]]:
    """Yield one manifest row (``name``, ``out_name``, ``status``, ``masks``, ``seconds``,
    ``error``) per listing row (``source``, ``name``, ``out_name``, ``image_id``), as they finish."""
    import ray.data

    from .listing import ListingDatasource

    source = ListingDatasource(rows, rows_per_block(len(rows), plan.max_workers))
    blocks = source.blocks()
    io_tasks = min(plan.io_tasks, blocks)  # Ray warns about a cap above the inputs it will see
    dataset = ray.data.read_datasource(source, override_num_blocks=blocks, num_cpus=0)
    dataset = dataset.map_batches(
        read_images,
        batch_size=None,
        batch_format="numpy",
        fn_kwargs={"hash_pixels": embeddings is not None},
        num_cpus=0,
        compute=ray.data.TaskPoolStrategy(size=io_tasks),
    )
    low, high = min(plan.min_workers, blocks), min(plan.max_workers, blocks)
    pool = ray.data.ActorPoolStrategy(min_size=low, max_size=high)
    dataset = dataset.map_batches(
        MaskWorker,
        batch_size=1,
        batch_format="numpy",
        compute=pool,
        num_cpus=plan.cpus,
        num_gpus=plan.gpus or None,
        fn_constructor_kwargs={
            "checkpoint": checkpoint,
            "device": plan.device,
            "threads": plan.threads,
            "generator_kwargs": generator_kwargs,
            "checkpoint_id": checkpoint_id,
            "embeddings": embeddings,
        },
    )
    dataset = dataset.map_batches(
        write_rows,
        batch_size=None,
        batch_format="numpy",
        fn_kwargs={"out": out, "checkpoint_id": checkpoint_id, "settings": settings},
        num_cpus=0,
        compute=ray.data.TaskPoolStrategy(size=io_tasks),
    )
    for row in dataset.iter_rows():
        yield {key: (value.item() if hasattr(value, "item") else value) for key, value in row.items()}


__all__ = ["PlanError", "WorkerPlan", "parse_workers", "plan_workers", "rows_per_block", "run_pipeline"]
