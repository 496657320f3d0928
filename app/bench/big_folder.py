"""``python -m app.bench.big_folder``: how soon a folder of 10,000 images can be labelled.

Writes a folder of ``--images`` JPEG photos (320x240, and ``--big`` of them 6000x4000, as
a camera makes; the bytes of a few encoded photos are reused, so writing is quick), loads
a small random-weight SAM checkpoint and opens the folder in the real window (offscreen),
twice:

- ``fresh``: the first time (no saved project): the first image is opened;
- ``resumed``: again after the first session ended on an image near the end of the folder,
  which is the one opened.

For each it reports, in seconds from the call that opens the folder:

- ``shown_s``: the image to open is on the canvas;
- ``encoding_s``: the SAM worker has started encoding it (both are the issue's "shown and
  encoding": from here a click is answered as soon as the encoder is done);
- ``listed_s``: every image is in the list (from its header; thumbnails follow);
- ``thumbnails_s``: every thumbnail is made (decoded smallest file first);
- ``ui_stall_ms``: the longest the window's event loop went unserved meanwhile (a probe
  timer asks every 5 ms), until the thumbnails were made.

Prints one JSON report.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import cv2
import numpy as np
from PySide6.QtCore import QCoreApplication, QElapsedTimer, QEventLoop, QTimer
from PySide6.QtWidgets import QApplication

from app.bootstrap.assemble import App, build
from app.services.qt_compat import guard_none_refcount
from app.services.settings import Settings
from sam_core.testing import synthetic_photo, write_random_checkpoint


def write_folder(folder: Path, count: int, big: int, seed: int = 0) -> Path:
    """``count`` JPEGs named ``img_00000.jpg``…, every ``count // big``-th of them 6000x4000."""
    folder.mkdir(parents=True, exist_ok=True)
    small = [cv2.imencode(".jpg", synthetic_photo(240, 320, seed + i)[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, 85])[1]
             for i in range(8)]
    large = cv2.imencode(".jpg", cv2.resize(synthetic_photo(750, 1000, seed)[..., ::-1], (6000, 4000)),
                         [cv2.IMWRITE_JPEG_QUALITY, 85])[1] if big else None
    every = count // big if big else 0
    for i in range(count):
        data = large if every and i % every == every // 2 else small[i % len(small)]
        data.tofile(folder / f"img_{i:05d}.jpg")
    return folder


def wait_until(predicate, timeout_s: float) -> float:
    """Seconds until ``predicate()`` held (the event loop runs meanwhile); raises TimeoutError."""
    start = time.perf_counter()
    deadline = start + timeout_s
    while not predicate():
        if time.perf_counter() > deadline:
            raise TimeoutError("the app did not get there in time")
        QCoreApplication.processEvents(QEventLoop.AllEvents, 5)
    return time.perf_counter() - start


def open_and_time(folder: Path, checkpoint: Path, settings: Settings, timeout_s: float) -> tuple[App, dict]:
    settings.last_folder = ""  # the folder is opened below, timed, not by the start-up
    app = build(None, str(checkpoint), "cpu", settings)
    app.window.resize(1366, 768)
    app.window.show()
    wait_until(lambda: app.state.sam.ready, timeout_s)
    started: dict[str, float] = {}
    app.worker.encode_started.connect(lambda key, _device: started.setdefault(key, time.perf_counter()))
    listed, finished = [], []
    app.services.loader.list_finished.connect(lambda _scan: listed.append(time.perf_counter()))
    app.services.loader.scan_finished.connect(lambda _scan: finished.append(time.perf_counter()))
    gaps: list[float] = []
    clock = QElapsedTimer()
    probe = QTimer()
    probe.setInterval(5)
    probe.timeout.connect(lambda: gaps.append(clock.restart()))
    clock.start()
    probe.start()
    state = app.state
    start = time.perf_counter()
    app.navigation.open_folder(folder)
    shown = wait_until(lambda: state.shown is not None, timeout_s)
    key = state.project.key(state.image_id)
    wait_until(lambda: key in started, timeout_s)
    wait_until(lambda: bool(finished), timeout_s)
    probe.stop()
    report = {
        "opened": state.project.dataset.images[state.image_id].file_name,
        "shown_s": round(shown, 3), "encoding_s": round(started[key] - start, 3),
        "listed_s": round(listed[0] - start, 3), "thumbnails_s": round(finished[0] - start, 2),
        "ui_stall_ms": round(max(gaps[1:], default=0.0), 1),
        "images": len(state.project.dataset.images),
    }
    return app, report


def close(app: App) -> None:
    app.window.close()
    app.shutdown()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=10000)
    parser.add_argument("--big", type=int, default=20, help="how many of them are 6000x4000")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds each step may take")
    parser.add_argument("--keep", type=Path, default=None, help="write the folder here and keep it")
    args = parser.parse_args(argv)
    guard_none_refcount()
    qt = QApplication.instance() or QApplication(sys.argv[:1])
    work = Path(tempfile.mkdtemp(prefix="maskwright-big-folder-"))
    try:
        made = time.perf_counter()
        folder = write_folder(args.keep or work / "photos", args.images, args.big)
        made = time.perf_counter() - made
        checkpoint = write_random_checkpoint(work / "tiny_sam.pth")
        settings = Settings(work / "settings.ini")
        app, fresh = open_and_time(folder, checkpoint, settings, args.timeout)
        last = app.state.project.image_ids()[-10]  # the first session ends near the end of the folder
        app.navigation.open_image(last)
        wait_until(lambda: app.state.shown is not None and app.state.image_id == last, args.timeout)
        close(app)
        app, resumed = open_and_time(folder, checkpoint, settings, args.timeout)
        close(app)
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    report = {
        "bench": "big_folder", "date": datetime.now(timezone.utc).date().isoformat(),
        "machine": platform.processor() or platform.machine(), "cpus": os.cpu_count(),
        "load_average": [round(v, 2) for v in os.getloadavg()], "images": args.images, "big_6000x4000": args.big,
        "folder_written_s": round(made, 1), "fresh": fresh, "resumed": resumed,
    }
    print(json.dumps(report, indent=1))
    del qt
    return 0


if __name__ == "__main__":
    sys.exit(main())
