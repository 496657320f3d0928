"""``python -m sam_core.engine`` (``maskwright-engine``): segment a whole collection on Ray.

The same input, flags and JSON files as ``python -m sam_core.amg`` (one machine,
one image after another), plus ``DIR/manifest.jsonl`` (:mod:`.manifest`), on a
pool of sam workers that Ray Data feeds (:mod:`.pipeline`). Without
``--address``, Ray starts in this process on this machine and stops with it.

Order of work: list the input, fingerprint the checkpoint, skip every image whose
JSON is already there for this checkpoint and these settings (its first bytes
say so), then stream the rest through the pipeline, writing manifest lines as
images finish. Exit code: 0 when the run finished (failed images are in the
manifest and the summary), 1 when Ray stopped it, 2 when it could not start,
130 on Ctrl+C (what is written stays; the same command resumes).
"""
from __future__ import annotations

import argparse
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, TextIO

from ..amg import add_common_arguments
from ..generator_flags import generator_kwargs, settings_hash
from ..sa1b_files import failure_reason, finished_output, image_ids, output_names, sweep_partial_files
from .manifest import Manifest, summary
from .cluster import connect, plan_for_cluster, stop_ray
from .pipeline import PlanError, parse_workers, run_pipeline
from .sources import list_input

EXTRA_HINT = "pip install 'maskwright[engine]'"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="maskwright-engine",
        description="Segment every image of a collection with SAM's automatic mask generator on Ray; "
        "write one SA-1B JSON per image and DIR/manifest.jsonl. Re-running resumes.",
    )
    add_common_arguments(parser)
    cluster = parser.add_argument_group("Ray")
    cluster.add_argument("--address", default=None,
                         help="join a running Ray cluster: auto, or ray://host:port (default: start Ray here)")
    cluster.add_argument("--workers", default=None,
                         help="sam workers: N, or MIN-MAX to let Ray scale the pool "
                         "(default: one per GPU, else one per machine)")
    cluster.add_argument("--threads", type=int, default=None,
                         help="torch threads per worker (default: a machine's cores shared among its workers)")
    cluster.add_argument("--embeddings", type=Path, default=None,
                         help="also store each image's embedding here, in the app's disk-cache format")
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return run(args, sys.stderr)
    except KeyboardInterrupt:  # before any image was started
        sys.stderr.write("\ninterrupted before any image was segmented\n")
        return 130


def run(args: argparse.Namespace, stderr: TextIO) -> int:
    def say(message: str) -> None:
        stderr.write(message + "\n")
        stderr.flush()

    try:
        import ray  # noqa: F401  (here only to say, before any work, that it is missing)
    except ImportError:
        say(f"error: the data engine needs Ray: {EXTRA_HINT}")
        return 2
    start, wall_start = time.monotonic(), time.time()
    try:
        workers = parse_workers(args.workers)
        images = list_input(args.input)
        if not images:
            raise FileNotFoundError(f"{args.input}: no image files found")
        checkpoint_id, kwargs = _check_checkpoint(args)
        args.out.mkdir(parents=True, exist_ok=True)
    except (OSError, ValueError, RuntimeError) as exc:
        say(f"error: {failure_reason(exc)}")
        return 2
    settings = settings_hash(kwargs)
    names = [image.name for image in images]
    rows = [
        {"source": image.source, "name": image.name, "out_name": out_name, "image_id": image_id}
        for image, out_name, image_id in zip(images, output_names(names), image_ids(names))
    ]
    manifest = Manifest(args.out, checkpoint_id, settings)
    interrupted, stopped, code = False, None, 0
    started_ray, todo, reported = False, [], set()
    try:
        todo = _skip_finished(rows, args.out, checkpoint_id, settings, manifest)
        say(f"{len(rows)} images, {len(rows) - len(todo)} already done; checkpoint {checkpoint_id}, "
            f"settings {settings}")
        if todo:
            code = 2  # until the pool is planned, a failure means the run could not start
            started_ray = connect(args.address)
            plan = plan_for_cluster(args.device, workers, args.threads)
            say(f"{len(todo)} to segment with {plan.describe()}")
            code = 1
            embeddings = None if args.embeddings is None else str(args.embeddings.resolve())
            results = run_pipeline(todo, plan, str(args.checkpoint.resolve()), checkpoint_id, kwargs, settings,
                                   str(args.out.resolve()), embeddings)  # fmt: skip
            for row in results:
                manifest.add(row["name"], row["out_name"], row["status"], row["masks"], row["seconds"], row["error"])
                reported.add(row["out_name"])
    except KeyboardInterrupt:
        interrupted = True
    except PlanError as exc:
        stopped = str(exc)
    except Exception as exc:  # no cluster, or Ray gave up (a worker that cannot start): say it in one line
        stopped = f"{'Ray could not start' if code == 2 else 'the run stopped'}: {_innermost_reason(exc)}"
    finally:
        if started_ray:
            stop_ray()
        if interrupted or stopped:
            # Images written whose results had not reached this process yet are done all the same.
            unreported = [row for row in todo if row["out_name"] not in reported]
            _skip_finished(unreported, args.out, checkpoint_id, settings, manifest, status="ok")
        path = manifest.close()
    sweep_partial_files(args.out, older_than=wall_start)
    for line in summary(manifest.counts, (time.monotonic() - start) / 60, path, interrupted):
        say(line)
    if stopped:
        say(f"error: {stopped}")
        return code
    return 130 if interrupted else 0


def _check_checkpoint(args: argparse.Namespace) -> tuple[str, Dict[str, Any]]:
    """The checkpoint's fingerprint, and the generator settings once the generator accepts them."""
    from ..automatic_mask_generator import SamAutomaticMaskGenerator
    from ..build import load_sam

    sam = load_sam(args.checkpoint, device="cpu")  # CheckpointError is a ValueError with one line
    kwargs = generator_kwargs(args)
    SamAutomaticMaskGenerator(sam, **kwargs)  # refuses impossible settings before any worker starts
    return sam.checkpoint_id, kwargs


def _skip_finished(
    rows: List[Dict[str, Any]], out: Path, checkpoint_id: str, settings: str, manifest: Manifest,
    status: str = "skipped",
) -> List[Dict[str, Any]]:
    """Record the rows whose JSON is already done (as ``status``, time unknown); return the others."""

    def masks_done(row: Dict[str, Any]) -> Optional[int]:
        return finished_output(out / row["out_name"], row["image_id"], checkpoint_id, settings)

    todo = []
    with ThreadPoolExecutor(max_workers=8) as pool:  # file system latency, not CPU, bounds this
        for row, masks in zip(rows, pool.map(masks_done, rows)):
            if masks is None:
                todo.append(row)
            else:
                manifest.add(row["name"], row["out_name"], status, masks, None, None)
    return todo


def _innermost_reason(exc: BaseException) -> str:
    """The first line of the error under Ray's wrappers (a task's or an actor's own exception)."""
    seen = set()
    while id(exc) not in seen:
        seen.add(id(exc))
        inner = getattr(exc, "cause", None) or exc.__cause__
        if not isinstance(inner, BaseException):
            break
        exc = inner
    return failure_reason(exc)


__all__ = ["build_parser", "main", "run"]
