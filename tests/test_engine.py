"""``python -m sam_core.engine`` on a real local Ray (2 CPUs): the same files as ``sam_core.amg``,
embeddings in the app's cache format, resume, a killed worker, a corrupt image and Ctrl+C."""
from __future__ import annotations

import io
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from sam_core import EmbeddingCache, SamPredictor, content_hash
from sam_core.amg import main as amg_main
from sam_core.engine import build_parser, main as engine_main, run as engine_run
from sam_core.image_files import read_image
from sam_core.testing import synthetic_photo

ROOT = Path(__file__).resolve().parents[1]
# A 2x2 grid, no quality filter and no NMS: a dozen masks per image survive, quickly.
FLAGS = ["--points-per-side", "2", "--pred-iou-thresh", "0", "--stability-score-thresh", "0",
         "--box-nms-thresh", "1.0"]  # fmt: skip
GOOD = ["a.png", "sub/b.png", "sub/b.jpg", "deep/x/c.png"]


def make_images(folder: Path, names, size=(72, 96)) -> None:
    for seed, name in enumerate(names):
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        ok, data = cv2.imencode(path.suffix, synthetic_photo(*size, seed=seed)[..., ::-1])
        assert ok
        data.tofile(str(path))


def outputs(folder: Path) -> dict:
    """Relative JSON path -> parsed document, for every SA-1B JSON under ``folder``."""
    return {p.relative_to(folder).as_posix(): json.loads(p.read_text(encoding="utf-8"))
            for p in sorted(folder.rglob("*.json"))}  # fmt: skip


def manifest(folder: Path) -> list:
    return [json.loads(line) for line in (folder / "manifest.jsonl").read_text().splitlines()]


def no_temporaries(folder: Path) -> bool:
    return not [p for p in folder.rglob("*") if p.name.endswith(".part")]


@pytest.fixture(scope="module")
def first_run(tmp_path_factory, tiny_checkpoint, local_ray):
    """One engine run (2 workers, embeddings kept) and one amg run over the same folder."""
    root = tmp_path_factory.mktemp("engine")
    images = root / "images"
    make_images(images, GOOD)
    (images / "broken.jpg").write_bytes(b"\xff\xd8 not a jpeg at all")
    common = ["--checkpoint", str(tiny_checkpoint), *FLAGS]
    amg_rc = amg_main([str(images), "--out", str(root / "amg"), *common])
    log = io.StringIO()
    args = build_parser().parse_args([str(images), "--out", str(root / "engine"), "--workers", "2",
                                      "--embeddings", str(root / "embeddings"), *common])  # fmt: skip
    rc = engine_run(args, log)
    return {"root": root, "images": images, "rc": rc, "amg_rc": amg_rc, "log": log.getvalue()}


def test_engine_writes_what_amg_writes_mask_for_mask(first_run) -> None:
    root = first_run["root"]
    assert first_run["amg_rc"] == 1 and first_run["rc"] == 0  # a failed image is not a failed run
    engine, amg = outputs(root / "engine"), outputs(root / "amg")
    assert sorted(engine) == sorted(amg) == ["a.json", "deep/x/c.json", "sub/b.jpg.json", "sub/b.png.json"]
    for name, document in amg.items():
        assert document["annotations"], name
        assert engine[name] == document, name  # every mask, score, box and id
    assert no_temporaries(root / "engine")


def test_manifest_and_summary_report_every_image_once(first_run) -> None:
    lines = manifest(first_run["root"] / "engine")
    assert sorted(line["file"] for line in lines) == sorted([*GOOD, "broken.jpg"])
    by_file = {line["file"]: line for line in lines}
    assert by_file["broken.jpg"]["status"] == "failed"
    assert by_file["broken.jpg"]["error"] == "not a readable image (unknown or unsupported format)"
    documents = outputs(first_run["root"] / "engine")
    for name in GOOD:
        line = by_file[name]
        assert line["status"] == "ok" and line["error"] is None and line["seconds"] > 0
        assert line["masks"] == len(documents[line["json"]]["annotations"])
    assert len({(line["checkpoint"], line["settings"]) for line in lines}) == 1
    log = first_run["log"]
    assert "failed: broken.jpg: not a readable image" in log
    assert "5 images: 4 segmented, 0 skipped (already done), 1 failed" in log and "images/minute" in log
    assert "Traceback" not in log


def test_embeddings_are_the_apps_disk_cache(first_run, tiny_sam) -> None:
    cache = EmbeddingCache(first_run["root"] / "embeddings")
    assert len(cache.entries()) == len(GOOD)
    image = read_image(first_run["images"] / "deep/x/c.png")
    restored = SamPredictor(tiny_sam)
    assert cache.restore_into(restored, content_hash(image))
    encoded = SamPredictor(tiny_sam)
    encoded.set_image(image)
    expected = encoded.get_image_embedding()
    assert restored.original_size == encoded.original_size and restored.input_size == encoded.input_size
    torch.testing.assert_close(restored.get_image_embedding(), expected, atol=2e-3 * float(expected.abs().max()), rtol=1e-3)


def test_second_run_writes_nothing_and_skips_every_image(first_run, tiny_checkpoint, tmp_path, capsys) -> None:
    images, out = tmp_path / "images", tmp_path / "out"
    for name in GOOD:  # the same images (the corrupt one left behind) and the first run's files
        (images / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(first_run["images"] / name, images / name)
    shutil.copytree(first_run["root"] / "engine", out)
    (out / "manifest.jsonl").unlink()
    stamps = {p: p.stat().st_mtime_ns for p in out.rglob("*.json")}
    rc = engine_main([str(images), "--out", str(out), "--checkpoint", str(tiny_checkpoint), *FLAGS])
    assert rc == 0
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*.json")} == stamps
    assert [line["status"] for line in manifest(out)] == ["skipped"] * len(GOOD)
    assert "4 images: 0 segmented, 4 skipped (already done), 0 failed" in capsys.readouterr().err


def parent_of(pid: int) -> int:
    stat = Path(f"/proc/{pid}/stat").read_text()
    return int(stat.rsplit(")", 1)[1].split()[1])  # the field after the state, past the (name)


def ray_worker_pids(title: str) -> list[int]:
    """This session's processes whose title (set by Ray) names ``title``, e.g. the sam actors:
    descendants of this process (the local Ray's raylet starts them), never another Ray's."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            if not (command.startswith("ray::") and title in command):
                continue
            ancestor = int(entry.name)
            while ancestor > 1 and ancestor != os.getpid():
                ancestor = parent_of(ancestor)
        except (OSError, ValueError, IndexError):  # the process ended meanwhile
            continue
        if ancestor == os.getpid():
            pids.append(int(entry.name))
    return pids


@pytest.mark.skipif(not Path("/proc/self/cmdline").exists(), reason="finds Ray's worker processes in /proc")
def test_a_killed_worker_is_retried_and_every_image_is_written_once(tmp_path, tiny_checkpoint, local_ray) -> None:
    # Enough images that the run is still going when the first one is written and the
    # watcher below has found the actors (8 could all finish in the time of a few /proc scans).
    names = [f"img_{i:02d}.png" for i in range(16)]
    make_images(tmp_path / "images", names, size=(120, 160))
    out = tmp_path / "out"
    result = {}
    args = [str(tmp_path / "images"), "--out", str(out), "--checkpoint", str(tiny_checkpoint), "--workers", "2",
            *FLAGS]  # fmt: skip
    run = threading.Thread(target=lambda: result.setdefault("rc", engine_main(args)))
    run.start()
    killed, written_then, seen = None, None, []
    deadline = time.monotonic() + 240
    while run.is_alive() and killed is None and time.monotonic() < deadline:
        written = len(list(out.glob("img_*.json"))) if out.exists() else 0
        actors = ray_worker_pids("MaskWorker")
        seen.append((round(time.monotonic(), 2), written, actors))
        if written >= 1 and actors:
            written_then = written
            killed = actors[0]
            os.kill(killed, signal.SIGKILL)
        time.sleep(0.02)
    run.join(timeout=300)
    assert killed is not None and written_then < len(names), f"the run ended before a worker could be killed: {seen[::10]}"
    assert result["rc"] == 0
    lines = manifest(out)
    assert sorted(line["file"] for line in lines) == names  # each image exactly once
    assert {line["status"] for line in lines} == {"ok"}
    documents = outputs(out)
    assert sorted(documents) == [Path(name).stem + ".json" for name in names] and no_temporaries(out)
    assert all(doc["annotations"] and doc["maskwright"]["generator"]["masks"] == len(doc["annotations"])
               for doc in documents.values())  # fmt: skip


def test_ctrl_c_stops_cleanly_and_the_next_run_resumes(tmp_path, tiny_checkpoint, local_ray) -> None:
    names = [f"img_{i:02d}.png" for i in range(12)]
    images, out = tmp_path / "my images", tmp_path / "out"
    make_images(images, names, size=(120, 160))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    # A process started in the background by a non-interactive shell (as a CI script may start
    # pytest) inherits SIGINT ignored, and Python then installs no KeyboardInterrupt handler:
    # the engine is started with Python's own handler, as in a terminal.
    arguments = [str(images), "--out", str(out), "--checkpoint", str(tiny_checkpoint), "--workers", "1", *FLAGS]
    command = [sys.executable, "-c", "import runpy, signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
               f"sys.argv = ['sam_core.engine', *{arguments!r}]; runpy.run_module('sam_core.engine', run_name='__main__')"]  # fmt: skip
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 240
    while process.poll() is None and time.monotonic() < deadline:
        if out.exists() and list(out.glob("img_*.json")):
            break
        time.sleep(0.02)
    process.send_signal(signal.SIGINT)
    log, _ = process.communicate(timeout=120)
    assert process.returncode == 130, log
    assert "interrupted after" in log and "run the same command again to resume" in log
    done = sorted(line["file"] for line in manifest(out))
    assert 1 <= len(done) < len(names), log
    assert sorted(p.name for p in out.glob("*.json")) == [Path(n).stem + ".json" for n in done]
    assert no_temporaries(out)

    # The next run (here through a file:// URI of the same folder) does only what is left.
    rc = engine_main([images.as_uri(), "--out", str(out), "--checkpoint", str(tiny_checkpoint), *FLAGS])
    assert rc == 0
    lines = manifest(out)
    assert sorted(line["file"] for line in lines) == names
    assert sorted(line["file"] for line in lines if line["status"] == "skipped") == done
    assert {line["status"] for line in lines if line["file"] not in done} == {"ok"}


def test_engine_without_ray_or_with_a_bad_checkpoint_says_so_in_one_line(tmp_path, tiny_checkpoint) -> None:
    make_images(tmp_path / "images", ["a.png"])
    code = "import sys, runpy; sys.modules['ray'] = None; sys.argv[1:] = sys.argv[1:]; " \
           "runpy.run_module('sam_core.engine', run_name='__main__')"  # fmt: skip
    args = [str(tmp_path / "images"), "--checkpoint", str(tiny_checkpoint), "--out", str(tmp_path / "out")]
    proc = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 2
    assert proc.stderr == "error: the data engine needs Ray: pip install 'maskwright[engine]'\n"
    pytest.importorskip("ray")
    bogus = tmp_path / "model.pth"
    bogus.write_bytes(b"garbage")
    proc = subprocess.run([sys.executable, "-m", "sam_core.engine", *args[:1], "--checkpoint", str(bogus),
                           "--out", str(tmp_path / "out")], capture_output=True, text=True, cwd=ROOT)  # fmt: skip
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1, proc.stderr
    assert proc.stderr.startswith("error: model.pth: ") and not (tmp_path / "out").exists()
