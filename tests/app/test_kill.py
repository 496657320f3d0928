"""kill -9 at random moments never tears a file and never loses more than the last second.

A child process (this module run as ``python -m tests.app.test_kill``) opens a
project with the app's own code (``read_sidecar`` and ``Project.restore``, as the
scan does), edits it at random, and saves with the app's save code
(:class:`ChangeTracker` and :func:`write_snapshot`, which the autosave thread
runs) on autosave's schedule. It logs every edit, every snapshot it starts
writing (with a digest of each image in it) and every snapshot finished. The
parent kills it with SIGKILL at a random moment, 50 times, reopens the project
each time and checks, image by image, that the disk holds either the last
finished save or the one that was being written, and that every edit older than
one second before the kill is on disk. Each child starts from what the previous
one left, so the rounds also check that every reopen loads. One image's name is not valid
UTF-8 (bytes Linux allows): it is labelled and saved like the others.
"""
from __future__ import annotations

import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

ROUNDS = 50
IMAGES = {"a.png": (48, 64), "b.png": (40, 30), "ç d.png": (20, 90)}  # name: (width, height)
if os.name == "posix" and sys.platform != "darwin":  # macOS file systems refuse names that are not UTF-8
    IMAGES[os.fsdecode(b"scan \xff\xfe.png")] = (30, 25)
REPO = Path(__file__).resolve().parents[2]


def image_digest(done: bool, annotations) -> str:
    """What must survive of one image: status and every annotation (id, category, mask)."""
    items = sorted((a.id, a.category_id, a.mask.rle()["counts"], a.iscrowd) for a in annotations)
    return hashlib.blake2b(json.dumps([done, items]).encode(), digest_size=8).hexdigest()


EMPTY = image_digest(False, ())


def categories_digest(categories) -> str:
    return json.dumps(sorted((c.id, c.name, list(c.color)) for c in categories))


# -- the child --------------------------------------------------------------------------------------------


def child(folder: Path, seed: int) -> None:
    from app.model.io.sidecar import read_sidecar
    from app.model.project import Project
    from app.model.saving import SAVE_DELAY_S, ChangeTracker, write_snapshot

    rng = random.Random(seed)
    project = Project(folder)
    project.restore(read_sidecar(folder))
    for name, (width, height) in IMAGES.items():
        project.add_image(folder / name, width, height)
    project.finish_scan()
    dataset = project.dataset
    state = {r.file_name: image_digest(project.is_done(r.id), dataset.annotations(r.id)) for r in dataset.images.values()}
    print("loaded", json.dumps({"images": state, "categories": categories_digest(dataset.categories.values())}))
    tracker = ChangeTracker(project)
    first_unsaved, batch = None, 0
    while True:
        _random_edit(project, rng)
        now = time.time()
        print("edit", now)
        first_unsaved = first_unsaved or now
        if now - first_unsaved >= SAVE_DELAY_S:
            snapshot = tracker.take()
            images = {s.record.file_name: image_digest(s.done, s.annotations) for s in snapshot.images}
            categories = None if snapshot.categories is None else categories_digest(snapshot.categories)
            print("begin", batch, time.time(), json.dumps({"images": images, "categories": categories}))
            result = write_snapshot(snapshot, tracker.protected)
            if not result.ok:
                print("failed", result.errors)
                sys.exit(3)
            print("done", batch, time.time())
            first_unsaved, batch = None, batch + 1
        time.sleep(rng.uniform(0.0, 0.01))


def _random_edit(project, rng: random.Random) -> None:
    import numpy as np

    from app.model import Annotation, Category, Mask, default_color

    dataset = project.dataset
    image = rng.choice(list(dataset.images.values()))
    annotations = dataset.annotations(image.id)
    roll = rng.random()
    if roll < 0.45 or not annotations:
        h, w = image.shape
        x, y = rng.randrange(w), rng.randrange(h)
        crop = np.random.default_rng(rng.randrange(2**32)).random((rng.randint(1, h - y), rng.randint(1, w - x))) < 0.7
        crop[0, 0] = True  # never empty
        category = rng.choice(list(dataset.categories))
        mask = Mask.from_crop(crop, x, y, image.shape)
        dataset.add_annotation(Annotation(dataset.new_annotation_id(), image.id, category, mask))
    elif roll < 0.65:
        dataset.remove_annotation(rng.choice(annotations).id)
    elif roll < 0.8:
        annotation = rng.choice(annotations)
        dataset.replace_annotation(annotation.with_category(rng.choice(list(dataset.categories))))
    elif roll < 0.95:
        project.set_done(image.id, not project.is_done(image.id))
    elif len(dataset.categories) < 6:
        new_id = dataset.new_category_id()
        dataset.add_category(Category(new_id, f"class {new_id}", default_color(new_id)))


# -- the parent -------------------------------------------------------------------------------------------


def _write_images(folder: Path) -> None:
    import cv2
    import numpy as np

    folder.mkdir()
    for name, (width, height) in IMAGES.items():
        ok, data = cv2.imencode(".png", np.full((height, width, 3), 128, np.uint8))
        data.tofile(folder / name)


def _stored_state(folder: Path) -> tuple[dict[str, str], str | None, object]:
    from app.model.io.sidecar import read_sidecar

    stored = read_sidecar(folder)
    assert stored.problems == [], stored.problems  # every file whole and valid
    images = {name: image_digest(s.done, s.annotations) for name, s in stored.images.items()}
    categories = None if stored.categories is None else categories_digest(stored.categories)
    return images, categories, stored


def _run_child(folder: Path, seed: int, run_for: float, mid_write: float | None) -> tuple[list[list[str]], float]:
    """Run a child for ``run_for`` seconds and kill it; with ``mid_write``, wait for it to
    start writing a snapshot and kill it that many seconds later (aimed at torn files)."""
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.Popen(
        [sys.executable, "-u", "-m", "tests.app.test_kill", str(folder), str(seed)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=REPO, env=env, text=True,
    )
    lines = [proc.stdout.readline()]  # "loaded ...": the child has reopened the project
    if not lines[0].startswith("loaded"):
        proc.kill()
        raise AssertionError(lines[0] + proc.communicate()[1])
    time.sleep(run_for)
    if mid_write is not None:
        while not lines[-1].startswith("begin"):
            lines.append(proc.stdout.readline())
        time.sleep(mid_write)
    killed_at = time.time()
    proc.send_signal(signal.SIGKILL)
    # Read through the same buffered stream as readline did: communicate() would skip what it read ahead.
    out, err = proc.stdout.read(), proc.stderr.read()
    proc.wait()
    proc.stdout.close()
    proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL, f"the child ended by itself ({proc.returncode}): {err}"
    rest = out.splitlines()
    if rest and not out.endswith("\n"):
        # Killed while printing: the child prints "begin" before it writes, so a cut line
        # means that write had not started.
        rest.pop()
    fields = {"loaded": 1, "edit": 1, "begin": 3, "done": 2}
    return [line.split(maxsplit=fields.get(line.split(maxsplit=1)[0], 1)) for line in lines + rest], killed_at


def test_sigkill_at_random_moments_leaves_whole_files_and_loses_at_most_a_second(tmp_path, make_app, qtbot):
    folder = tmp_path / "project"
    _write_images(folder)
    rng = random.Random(2026)
    on_disk = {name: EMPTY for name in IMAGES}
    categories_on_disk = None
    torn_writes, longest_loss = 0, 0.0
    for round_ in range(ROUNDS):
        run_for = rng.uniform(1.1, 1.5) if round_ % 10 == 9 else rng.uniform(0.02, 0.5)
        mid_write = rng.uniform(0.0, 0.003) if round_ % 2 else None
        lines, killed_at = _run_child(folder, round_, run_for, mid_write)
        loaded = json.loads(lines[0][1])
        assert {n: loaded["images"].get(n, EMPTY) for n in IMAGES} == on_disk, "the reopen differs from the disk"
        confirmed = dict(on_disk)
        confirmed_categories = categories_on_disk
        in_flight: dict | None = None
        edits: list[float] = []
        last_begin = 0.0
        for line in lines[1:]:
            if line[0] == "edit":
                edits.append(float(line[1]))
            elif line[0] == "begin":
                in_flight = {"t": float(line[2]), **json.loads(line[3])}
            elif line[0] == "done":
                confirmed.update(in_flight["images"])
                confirmed_categories = in_flight["categories"] or confirmed_categories
                last_begin, in_flight = in_flight["t"], None
        images, categories, stored = _stored_state(folder)
        for name in IMAGES:
            allowed = {confirmed.get(name, EMPTY)}
            if in_flight is not None:
                allowed.add(in_flight["images"].get(name, confirmed.get(name, EMPTY)))
            assert images.get(name, EMPTY) in allowed, f"round {round_}: {name} is neither the old nor the new save"
        allowed_categories = {confirmed_categories}
        if in_flight is not None and in_flight["categories"] is not None:
            allowed_categories.add(in_flight["categories"])
        assert categories in allowed_categories
        unsaved = [t for t in edits if t > last_begin]
        if unsaved:  # the oldest edit that may be lost is at most a second old
            longest_loss = max(longest_loss, killed_at - unsaved[0])
        torn_writes += in_flight is not None
        if any(line[0] == "done" for line in lines):  # a session that saved, then was killed, is noticed
            assert stored.previous_session is not None
        on_disk, categories_on_disk = {n: images.get(n, EMPTY) for n in IMAGES}, categories
    assert longest_loss <= 1.0, f"edits {longest_loss:.2f} s old were lost"
    assert torn_writes >= 3, "no kill landed during a write: the test proves less than it claims"
    # The app itself restores the last state and says the session ended unexpectedly.
    app = make_app(folder)
    lab = app
    qtbot.waitUntil(lambda: lab.state.project is not None and len(lab.state.project.dataset.images) == len(IMAGES), timeout=10000)
    assert "ended unexpectedly" in app.window.message_bar.text
    dataset = lab.state.project.dataset
    for record in dataset.images.values():
        assert image_digest(lab.state.project.is_done(record.id), dataset.annotations(record.id)) == on_disk[record.file_name]
    print(f"\n{ROUNDS} kills, {torn_writes} during a write, oldest edit lost {longest_loss * 1000:.0f} ms")


if __name__ == "__main__":
    child(Path(sys.argv[1]), int(sys.argv[2]))
