"""Shared fixtures: seeded random-weight SAM checkpoints and their reference twins."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from sam_core.testing import (  # noqa: E402
    TINY_CONFIG,
    random_state_dict,
    synthetic_photo,
    write_random_checkpoint,
)

torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))


@pytest.fixture(scope="session")
def tiny_state_dict() -> dict[str, torch.Tensor]:
    return random_state_dict(TINY_CONFIG, seed=0)


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory) -> Path:
    return write_random_checkpoint(tmp_path_factory.mktemp("ckpt") / "sam_tiny_random.pth", TINY_CONFIG, seed=0)


@pytest.fixture(scope="session")
def tiny_sam(tiny_checkpoint):
    from sam_core import load_sam

    return load_sam(tiny_checkpoint, device="cpu")


@pytest.fixture(scope="session")
def tiny_reference(tiny_state_dict):
    from sam_core.bench.reference import build_reference_sam

    return build_reference_sam(TINY_CONFIG, tiny_state_dict)


@pytest.fixture
def photo():
    return synthetic_photo


@pytest.fixture(scope="session")
def local_ray():
    """One local Ray for the whole session, with the 2 CPUs of a CI machine (the engine's tests)."""
    ray = pytest.importorskip("ray", reason="the data engine's tests need the engine extra (ray[data])")
    ray.init(num_cpus=2, include_dashboard=False, object_store_memory=300 * 1024**2)
    # Ray Data's log handler keeps the sys.stderr of the moment it is imported: let that be the
    # session's, not one test's captured stream that is closed when the test ends.
    import ray.data  # noqa: F401

    yield ray
    ray.shutdown()
