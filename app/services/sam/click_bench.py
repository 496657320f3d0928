"""``python -m app.services.sam.click_bench``: how long a click waits while SAM works in the background.

Drives the real :class:`SamWorker` (its lanes, priorities and signals) with a Qt event
loop and no window. One image is encoded; then clicks on it are timed from
``decode()`` to the ``decoded`` signal arriving on the calling thread, in three
cases, each round taking them in turn so that drift on a shared machine hits all alike:

- ``idle``: nothing else runs;
- ``during pre-encode``: the worker keeps pre-encoding other images (``prefetch``);
- ``during precompute``: the worker keeps precomputing images into a disk cache.

Clicks come ``--gap-ms`` apart, as a person clicks, with varied prompts (points, boxes,
mask prompts). The report gives p50 and p95 per case, their ratios against idle in the
same run (the figure to compare across machines: absolute times drift), the background
encode's seconds with and without clicks, and the encoder's seconds per block, which is
how long a click answered only between blocks would wait on top of its decode.

Weights are seeded random ones in Meta's format unless ``--checkpoint`` is given. This
bench lives in the app, not in :mod:`sam_core.bench`, because what it measures is the
worker's scheduling, which sam_core knows nothing of.
"""
from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import torch
from PySide6.QtCore import QCoreApplication, QEventLoop, QTimer

from app.services.qt_compat import guard_none_refcount
from app.services.sam.lanes import POLICIES, Lane, LanePolicy
from app.services.sam.requests import DecodeRequest
from app.services.sam.worker import SamWorker
from sam_core import EmbeddingCache
from sam_core.bench.encoder_and_clicks import varied_prompts
from sam_core.config import KNOWN_VARIANTS
from sam_core.runtime import available_cores
from sam_core.testing import synthetic_photo, write_random_checkpoint

CASES = ("idle", "during pre-encode", "during precompute")


class Bench:
    """The worker under test, and a way to wait for its signals without a window."""

    def __init__(self, worker: SamWorker, image: np.ndarray, gap_ms: int) -> None:
        self.worker, self.image, self.gap_ms = worker, image, gap_ms
        self.prompts = varied_prompts(*image.shape[:2], 400, seed=3)
        self.request_id = 0
        self.previous_logits: np.ndarray | None = None
        self.background: str | None = None  # the case keeping the background lane busy
        self.background_seconds: list[float] = []
        self.serial = 0
        self.done: set[str] = set()  # background keys encoded or precomputed
        worker.encoded.connect(self._on_encoded)
        worker.precomputed.connect(self._on_precomputed)

    def wait(self, condition, timeout_s: float = 600.0) -> None:
        deadline = time.perf_counter() + timeout_s
        loop = QEventLoop()
        while not condition():
            if time.perf_counter() > deadline:
                raise TimeoutError("the worker did not answer")
            QTimer.singleShot(5, loop.quit)
            loop.exec()

    def pause(self, ms: int) -> None:
        loop = QEventLoop()
        QTimer.singleShot(ms, loop.quit)
        loop.exec()

    def click(self) -> float:
        """One decode on image "a"; milliseconds until its ``decoded`` signal arrived here."""
        prompt = self.prompts[self.request_id % len(self.prompts)]
        self.request_id += 1
        answer: list = []
        request = DecodeRequest(
            self.request_id, "a",
            np.asarray(prompt.get("point_coords", np.zeros((0, 2))), np.float32),
            np.asarray(prompt.get("point_labels", np.zeros(0)), np.int32),
            box=prompt.get("box"),
            mask_input=self.previous_logits if prompt["follow_up"] else None,
            multimask=prompt["multimask_output"],
        )

        def on_decoded(request_id: int, candidates) -> None:
            if request_id == request.id:
                answer.append((time.perf_counter(), candidates))

        self.worker.decoded.connect(on_decoded)
        start = time.perf_counter()
        self.worker.decode(request)
        self.wait(lambda: answer, timeout_s=60)
        self.worker.decoded.disconnect(on_decoded)
        done, candidates = answer[0]
        self.previous_logits = candidates.low_res_logits[candidates.best][None]
        return (done - start) * 1000

    def keep_busy(self, case: str | None) -> None:
        """From now on keep the background lane encoding (``case``), or let it finish (None)."""
        self.background = case
        if case is not None:
            self._post_background()

    def _post_background(self) -> None:
        self.serial += 1
        key = f"background-{self.serial}"
        image = self.image.copy()  # other pixels each time, or the disk cache would answer
        image[0, 0] = (self.serial % 256, self.serial // 256 % 256, 255)
        if self.background == "during pre-encode":
            self.worker.prefetch(key, image)
        elif self.background == "during precompute":
            self.worker.precompute(key, image, f"bench-{time.time_ns()}-{self.serial}")

    def settled(self) -> bool:
        """Whether the last background encode asked for is done."""
        return self.serial == 0 or f"background-{self.serial}" in self.done

    def _on_encoded(self, key: str, seconds: float) -> None:
        if key.startswith("background-"):
            self.done.add(key)
            self.background_seconds.append(seconds)
            if self.background == "during pre-encode":
                self._post_background()

    def _on_precomputed(self, key: str, seconds: float, _on_disk: bool) -> None:
        self.done.add(key)
        self.background_seconds.append(seconds)
        if self.background == "during precompute":
            self._post_background()


def run(args: argparse.Namespace) -> dict:
    QCoreApplication.instance() or QCoreApplication(sys.argv[:1])
    guard_none_refcount()
    h, w = args.image_size
    image = synthetic_photo(h, w, seed=1)
    policies = dict(POLICIES)
    if args.background_threads or args.background_niceness is not None:
        old = POLICIES[Lane.BACKGROUND]
        niceness = old.niceness if args.background_niceness is None else args.background_niceness
        policies[Lane.BACKGROUND] = LanePolicy(niceness, args.background_threads or old.threads)
    with tempfile.TemporaryDirectory() as folder:
        checkpoint = args.checkpoint or write_random_checkpoint(
            Path(folder) / f"sam_{args.variant}_random.pth", KNOWN_VARIANTS[args.variant], seed=0)
        worker = SamWorker(cache_size=4, policies=policies)
        worker.start(SamWorker.Priority.LowPriority)
        try:
            return _measure(worker, image, checkpoint, Path(folder) / "cache", args, policies)
        finally:
            worker.stop()


def _measure(worker: SamWorker, image, checkpoint, cache_folder: Path, args, policies) -> dict:
    loaded: list = []
    worker.sam_loaded.connect(lambda device, name: loaded.append((device, name)))
    failures: list = []
    worker.failed.connect(lambda kind, text: failures.append(f"{kind}: {text}"))
    worker.precompute_failed.connect(lambda key, text: failures.append(f"precompute {key}: {text}"))
    bench = Bench(worker, image, args.gap_ms)
    worker.load_checkpoint(str(checkpoint), args.device)
    bench.wait(lambda: loaded or failures)
    if failures:
        raise RuntimeError(failures[0])
    worker.encode("a", image)
    bench.wait(lambda: worker.is_encoded("a"))
    blocks: list[float] = []
    worker.encode_progress.connect(lambda key, done, total: blocks.append(time.perf_counter()))
    start = time.perf_counter()
    worker.prefetch("alone", image)  # warms the background lane up; its blocks timed without clicks
    bench.wait(lambda: worker.is_encoded("alone"))
    alone = time.perf_counter() - start
    worker.encode_progress.disconnect()
    block_seconds = np.diff(blocks)
    worker.set_disk_cache(EmbeddingCache(cache_folder))
    for _ in range(5):
        bench.click()  # warms the click lane up
    times: dict[str, list[float]] = {case: [] for case in CASES}
    background: dict[str, list[float]] = {case: [] for case in CASES[1:]}
    for _ in range(args.rounds):
        for case in CASES:
            bench.background_seconds = []
            bench.keep_busy(None if case == "idle" else case)
            if case != "idle":
                bench.pause(500)  # the background encode is under way
            for _ in range(args.clicks):
                times[case].append(bench.click())
                bench.pause(args.gap_ms)
            bench.keep_busy(None)
            bench.wait(bench.settled)  # its last encode finishes
            if case != "idle":
                background[case].extend(bench.background_seconds)
    if failures:
        raise RuntimeError(failures[0])
    return _report(args, loaded[0], policies, times, background, alone, block_seconds)


def _percentiles(ms: list[float]) -> dict:
    return {"p50": round(float(np.percentile(ms, 50)), 1), "p95": round(float(np.percentile(ms, 95)), 1),
            "max": round(max(ms), 1), "n": len(ms)}


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def _report(args, loaded, policies, times, background, alone, block_seconds) -> dict:
    idle = _percentiles(times["idle"])
    report = {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d"),
        "machine": {"cpu": _cpu_name(), "cores": available_cores(), "device": loaded[0], "torch": torch.__version__},
        "variant": loaded[1],
        "weights": "checkpoint" if args.checkpoint else "seeded random (Meta's format)",
        "image": list(args.image_size),
        "gap_ms": args.gap_ms,
        "lanes": {lane.value: {"niceness": p.niceness, "threads": p.threads or available_cores()}
                  for lane, p in policies.items()},
        "click_to_mask_ms": {"idle": idle},
        "background_encode_s": {"alone": round(alone, 2)},
        "encoder_block_s": {"mean": round(float(block_seconds.mean()), 3), "max": round(float(block_seconds.max()), 3)},
        "ratios": {},
    }
    for case in CASES[1:]:
        busy = _percentiles(times[case])
        report["click_to_mask_ms"][case] = busy
        report["ratios"][f"p95 {case} / p95 idle"] = round(busy["p95"] / idle["p95"], 2)
        report["ratios"][f"p50 {case} / p50 idle"] = round(busy["p50"] / idle["p50"], 2)
        if background[case]:
            report["background_encode_s"][f"with clicks, {case}"] = round(float(np.median(background[case])), 2)
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m app.services.sam.click_bench", description=__doc__.splitlines()[0])
    parser.add_argument("--variant", default="vit_b", choices=sorted(KNOWN_VARIANTS))
    parser.add_argument("--checkpoint", default=None, help="a real SAM checkpoint instead of seeded random weights")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--image-size", type=lambda s: tuple(int(v) for v in s.split("x")), default=(1500, 2250),
                        help="HxW of the synthetic photo (default 1500x2250)")
    parser.add_argument("--clicks", type=int, default=20, help="clicks per case and round")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--gap-ms", type=int, default=150, help="pause between two clicks")
    parser.add_argument("--background-threads", type=int, default=None, help="override the background lane's threads")
    parser.add_argument("--background-niceness", type=int, default=None, help="override its niceness (Linux)")
    parser.add_argument("--out", default=None, help="also write the JSON report to this file")
    args = parser.parse_args(argv)
    report = run(args)
    text = json.dumps(report, indent=2)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
