"""``python -m app.bench.dense``: how long the window is blocked by one change on a dense image.

Builds a project on disk (one 4000x3000 image with N saved annotations, and a small
image beside it; see :mod:`app.bench.dense_project`), opens it in the real window
(offscreen, no SAM checkpoint: a dragged box gives the candidate to accept), and
times each action on the UI thread, from the call to the moment every event it
posted (redraws, list updates, paints) has been handled:

- ``accept``: a box candidate accepted as an annotation;
- ``undo``: undoing that accept;
- ``delete``: deleting a random annotation (selected first, untimed);
- ``hide`` / ``show``: one annotation's visibility, as the list's check box sets it;
- ``reopen``: coming back to the dense image from the small one.

Autosave is held off while actions are timed and measured on its own afterwards:
``save_ui_ms`` is what the UI thread spends starting a save (taking the snapshot),
``save_wall_s`` how long until the file is on disk, and ``save_stall_ms`` the longest
the UI thread's event loop went unserved while the writer thread worked (a probe timer
asks every 2 ms; this is what the GIL costs the window).

Each figure is the median and the worst of ``--repeats`` tries.

``growth`` then accepts ``--adds`` boxes one after the other on the dense image, starting
from none, and reports the median accept of each block of ``--block`` adds: flat when
the cost of one add does not grow with the count.

Prints one JSON report.
"""
from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
from PySide6.QtCore import QCoreApplication, QElapsedTimer, QEventLoop, QTimer
from PySide6.QtWidgets import QApplication

from app.bench.dense_project import DENSE_NAME, write_dense_project
from app.bootstrap.assemble import App, build
from app.services.qt_compat import guard_none_refcount
from app.services.settings import Settings

SIZES = (100, 2000, 10000)
ACTIONS = ("accept", "undo", "delete", "hide", "show", "reopen")


def drain(rounds: int = 3) -> None:
    """Handle every posted event (and what those post in turn)."""
    for _ in range(rounds):
        QCoreApplication.sendPostedEvents()
        QCoreApplication.processEvents(QEventLoop.AllEvents)


def wait_until(predicate, timeout_s: float = 300.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("the app did not get there in time")
        QCoreApplication.processEvents(QEventLoop.AllEvents, 20)
        time.sleep(0.002)


def timed_ms(action) -> tuple[float, float]:
    """(wall ms, UI-thread CPU ms) from calling ``action`` until every event it posted is
    handled. The CPU figure counts only this thread's work, so it holds on a loaded machine,
    where the wall figure also counts the time other processes had the cores."""
    drain()
    start, cpu = time.perf_counter(), time.thread_time()
    action()
    drain()
    return (time.perf_counter() - start) * 1000, (time.thread_time() - cpu) * 1000


class DenseBench:
    """One opened dense project and the actions timed on it."""

    def __init__(self, app: App, count: int, seed: int) -> None:
        self.app, self.count = app, count
        self.rng = np.random.default_rng(seed)
        state = app.state
        self.dataset = state.dataset
        self.dense_id = self.dataset.image_by_name(DENSE_NAME).id
        self.shape = self.dataset.images[self.dense_id].shape

    def _random_annotation(self) -> int:
        ids = [a.id for a in self.dataset.annotations(self.dense_id)]  # untimed
        return int(ids[int(self.rng.integers(len(ids)))])

    def _box_candidate(self) -> None:
        h, w = self.shape
        x, y = float(self.rng.uniform(0, w - 300)), float(self.rng.uniform(0, h - 300))
        side = float(self.rng.uniform(40, 300))
        self.app.prompting.set_box(x, y, x + side, y + side)
        drain()

    def accept(self) -> float:
        self._box_candidate()
        return timed_ms(self.app.prompting.accept)

    def undo(self) -> float:
        self._box_candidate()
        self.app.prompting.accept()
        return timed_ms(self.app.controllers.undo.undo)

    def delete(self) -> float:
        target = self._random_annotation()
        self.app.state.select(target)
        drain()
        return timed_ms(lambda: self.app.controllers.annotations.delete(target))

    def hide(self) -> float:
        target = self._random_annotation()
        self._hidden = target
        return timed_ms(lambda: self.app.window.annotations.visibility_changed.emit(target, False))

    def show(self) -> float:
        target = self._hidden
        return timed_ms(lambda: self.app.window.annotations.visibility_changed.emit(target, True))

    def reopen(self) -> float:
        navigation, state = self.app.navigation, self.app.state
        navigation.go(1)
        wait_until(lambda: state.shown is not None and state.image_id != self.dense_id)
        drain()
        ms = timed_ms(lambda: navigation.go(-1))
        wait_until(lambda: state.shown is not None and state.image_id == self.dense_id)
        return ms

    def save(self) -> dict:
        """One accept, then the save it causes, timed as the module docstring says."""
        autosave = self.app.services.autosave
        autosave.save_now()  # what the actions left unsaved, untimed
        wait_until(lambda: not autosave._in_flight and (autosave.save_now() or not autosave.unsaved))
        self._box_candidate()
        self.app.prompting.accept()
        autosave._timer.stop()  # the save is started by hand, below, and timed
        drain()
        gaps: list[float] = []
        clock = QElapsedTimer()
        probe = QTimer()
        probe.setInterval(2)

        def tick():
            gaps.append(clock.restart())

        probe.timeout.connect(tick)
        start = time.perf_counter()
        ui_ms = timed_ms(autosave.save_now)[0]
        clock.start()
        probe.start()
        wait_until(lambda: not autosave.unsaved)
        wall = time.perf_counter() - start
        probe.stop()
        file = self.app.state.project.folder / ".maskwright" / "annotations" / f"{DENSE_NAME}.json"
        return {"save_ui_ms": round(ui_ms, 2), "save_wall_s": round(wall, 3),
                "save_stall_ms": round(max(gaps, default=0.0), 1), "file_mb": round(file.stat().st_size / 2**20, 1)}


def open_project(folder: Path, settings_dir: Path, count: int) -> tuple[App, float]:
    app = build(str(folder), None, "cpu", Settings(settings_dir / "settings.ini"))
    app.window.resize(1400, 900)
    app.window.show()
    start = time.perf_counter()
    wait_until(lambda: app.state.shown is not None and app.state.dataset.annotation_count >= count)
    drain()
    return app, time.perf_counter() - start


def run_size(count: int, repeats: int, seed: int, work: Path) -> dict:
    folder = write_dense_project(work / f"dense_{count}", count, seed=seed)
    app, open_s = open_project(folder, work / f"settings_{count}", count)
    try:
        autosave = app.services.autosave
        delay = autosave.delay_ms
        autosave.delay_ms = 10**8  # saves are measured on their own, below
        autosave._timer.stop()
        bench = DenseBench(app, count, seed)
        times: dict[str, list[tuple[float, float]]] = {name: [] for name in ACTIONS}
        for _ in range(repeats):
            for name in ACTIONS:  # interleaved: drift on a shared machine hits every action alike
                times[name].append(getattr(bench, name)())
        report = {"annotations": count, "open_s": round(open_s, 2)}
        for name, values in times.items():
            wall, cpu = [v[0] for v in values], [v[1] for v in values]
            report[name] = {"median_ms": round(statistics.median(wall), 2), "max_ms": round(max(wall), 2),
                            "ui_cpu_median_ms": round(statistics.median(cpu), 2)}
        report.update(bench.save())
        autosave.delay_ms = delay
        return report
    finally:
        app.window.close()
        app.shutdown()


def run_growth(adds: int, block: int, seed: int, work: Path) -> dict:
    """Accept ``adds`` boxes in a row on an image that starts empty (see the module docstring)."""
    folder = write_dense_project(work / "growth", 0, seed=seed)
    app, _ = open_project(folder, work / "settings_growth", 0)
    try:
        app.services.autosave.delay_ms = 10**8  # saving is measured on its own
        app.services.autosave._timer.stop()
        bench = DenseBench(app, 0, seed)
        times = [bench.accept() for _ in range(adds)]
        blocks = {f"{n + 1}-{min(n + block, adds)}": [round(statistics.median(t[k] for t in times[n : n + block]), 2)
                                                      for k in (0, 1)] for n in range(0, adds, block)}
        return {"adds": adds, "accept_median_by_block": "[wall ms, UI-thread CPU ms]", "blocks": blocks,
                "total_s": round(sum(t[0] for t in times) / 1000, 2)}
    finally:
        app.window.close()
        app.shutdown()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--adds", type=int, default=600, help="accepts in a row for the growth figure (0: skip)")
    parser.add_argument("--block", type=int, default=100)
    args = parser.parse_args(argv)
    guard_none_refcount()
    qt = QApplication.instance() or QApplication(sys.argv[:1])
    rows = []
    with tempfile.TemporaryDirectory(prefix="maskwright-dense-") as work:
        for count in args.sizes:
            rows.append(run_size(count, args.repeats, args.seed, Path(work)))
            print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
        growth = run_growth(args.adds, args.block, args.seed, Path(work)) if args.adds else None
    report = {
        "bench": "dense", "date": datetime.now(timezone.utc).date().isoformat(), "machine": platform.processor()
        or platform.machine(), "python": platform.python_version(), "image": [3000, 4000], "repeats": args.repeats,
        "sizes": rows, "growth": growth,
    }
    print(json.dumps(report, indent=1))
    del qt
    return 0


if __name__ == "__main__":
    sys.exit(main())
