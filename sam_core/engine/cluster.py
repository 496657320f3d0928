"""Which Ray the engine runs on: a new one in this process, or a cluster it joins, and its pool plan."""
from __future__ import annotations

import os
from typing import Optional, Tuple

from .pipeline import WorkerPlan, plan_workers


def connect(address: Optional[str]) -> bool:
    """Join the cluster at ``address`` (``auto``, ``ray://host:port``), or start Ray here when it is
    None; True when this call started or joined it (then :func:`stop_ray` undoes it)."""
    import ray

    if ray.is_initialized():  # a caller (a test, a notebook, the bench) already chose the cluster
        return False
    if address is None:
        start_local_ray()
        return True
    # Ship this sam_core to the cluster's workers, so every machine runs the driver's code.
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ray.init(address=address, runtime_env={"py_modules": [package], "excludes": ["__pycache__"]})
    return True


def start_local_ray(num_cpus: Optional[int] = None) -> None:
    """A new Ray on this machine, in this process (never one started elsewhere with ``ray start``)."""
    import ray

    ray.init(address="local", num_cpus=num_cpus, include_dashboard=False)


def stop_ray() -> None:
    import ray

    ray.shutdown()


def plan_for_cluster(device: Optional[str], workers: Optional[Tuple[int, int]], threads: Optional[int]) -> WorkerPlan:
    """:func:`.pipeline.plan_workers` for the Ray this process is connected to."""
    import ray

    nodes = [node["Resources"].get("CPU", 0.0) for node in ray.nodes() if node.get("Alive")]
    return plan_workers(ray.cluster_resources(), nodes, device, workers, threads)


__all__ = ["connect", "plan_for_cluster", "start_local_ray", "stop_ray"]
