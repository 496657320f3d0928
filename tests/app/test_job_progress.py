"""Every long job shows where the eye is: a row in the status bar with its progress and a Cancel
that works (encoding, segment everything, export; precompute: tests/app/test_precompute.py)."""
from __future__ import annotations

import json

from PySide6.QtCore import Qt

from app.model import Annotation, Mask, Provenance, edits
from app.services.sam.segment_everything import PrelabelParams
from sam_core import SamConfig
from sam_core.testing import write_random_checkpoint
from tests.app.conftest import in_front, wait_ready

SLOW_ENCODER = SamConfig(embed_dim=192, depth=12, num_heads=3, global_attn_indexes=(5, 11))
QUICK = PrelabelParams(points_per_side=2, points_per_batch=4, pred_iou_thresh=0.0, stability_score_thresh=0.0)


def seen_rows(app, job_id: str) -> list[tuple[str, int, int, bool]]:
    """What the strip's row for ``job_id`` showed at each step: text, value, maximum, cancel shown."""
    strip, seen = app.window.progress_strip, []

    def look(_event) -> None:
        row = strip.row(job_id)
        if row is not None:
            seen.append((row.label.text(), row.bar.value(), row.bar.maximum(), not row.cancel_button.isHidden()))

    for name in ("started", "progressed"):
        app.jobs.events[name].connect(look)
    return seen


def test_encoding_shows_its_blocks_and_cancel_stops_it(qtbot, make_app, image_folder, tmp_path):
    slow = write_random_checkpoint(tmp_path / "slow.pth", SLOW_ENCODER, seed=2)
    app = make_app(image_folder, slow)
    seen = seen_rows(app, "encode")
    strip = app.window.progress_strip
    qtbot.waitUntil(lambda: strip.row("encode") is not None and strip.row("encode").bar.value() >= 1, timeout=60000)
    row = strip.row("encode")
    assert row.bar.maximum() == 12 and row.cancel_button.isVisible() and strip.isVisible()
    qtbot.mouseClick(row.cancel_button, Qt.LeftButton)
    assert strip.row("encode") is None
    key = app.state.image_key
    qtbot.wait(1500)
    assert not app.worker.is_encoded(key) and strip.row("encode") is None  # no late row of the cancelled one
    assert any(text.startswith("Encoding") and maximum == 12 and cancel for text, _v, maximum, cancel in seen)
    app.prompting.add_point(30, 30, True)  # a click encodes it again, and is answered
    qtbot.waitUntil(lambda: app.state.prompts.candidates is not None, timeout=60000)


def test_segment_everything_shows_progress_and_opens_the_automatic_panel(qtbot, make_app, image_folder,
                                                                         tiny_checkpoint):
    app = make_app(image_folder, tiny_checkpoint)
    window = app.window
    wait_ready(qtbot, app)
    window.docks["Annotations"].raise_()
    qtbot.wait(50)
    assert not in_front(window.docks["Automatic"])  # behind its tab
    seen = seen_rows(app, "segment")
    app.prelabel.params = QUICK
    window.actions["auto.image"].trigger()
    assert window.progress_strip.row("segment") is not None
    qtbot.waitUntil(lambda: not app.prelabel.running, timeout=60000)
    assert window.progress_strip.row("segment") is None
    assert seen and all(cancel for *_rest, cancel in seen) and seen[0][0].startswith("Segment everything")
    qtbot.waitUntil(lambda: in_front(window.docks["Automatic"]), timeout=3000)  # it opened by itself at the end


def test_cancelling_segment_everything_from_the_status_bar(qtbot, make_app, image_folder, tiny_checkpoint):
    app = make_app(image_folder, tiny_checkpoint)
    wait_ready(qtbot, app)
    app.prelabel.params = PrelabelParams(points_per_side=16, points_per_batch=1)
    finished = []
    app.prelabel.finished.connect(finished.append)
    app.window.actions["auto.folder"].trigger()
    row = app.window.progress_strip.row("segment")
    qtbot.mouseClick(row.cancel_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: finished == [True], timeout=60000)
    assert app.window.progress_strip.row("segment") is None
    qtbot.wait(50)
    assert not in_front(app.window.docks["Automatic"])  # a cancelled job opens nothing


def annotate_every_image(app, count: int = 1) -> None:
    dataset = app.state.project.dataset
    for image_id, image in dataset.images.items():
        for n in range(count):
            mask = Mask.from_crop(__import__("numpy").ones((10, 12), bool), 5 + n % 50, 6 + n % 60, image.shape)
            app.history.push(edits.add_annotation(dataset, Annotation(
                dataset.new_annotation_id(), image_id, 1, mask, Provenance(source="brush"))), image_id=image_id)


def test_export_shows_progress_and_a_cancelled_export_writes_nothing(qtbot, make_app, image_folder, tmp_path):
    app = make_app(image_folder)
    qtbot.waitUntil(lambda: app.state.image_id is not None and len(app.state.project.dataset.images) == 3,
                    timeout=10000)
    annotate_every_image(app, 300)  # enough that the click lands before the last image is done
    window, strip = app.window, app.window.progress_strip
    seen = seen_rows(app, "export")
    target = tmp_path / "out.json"
    window.export_chosen.emit("coco_rle", str(target))
    row = strip.row("export")
    assert row is not None and row.cancel_button.isVisible() and row.label.text().startswith("Exporting COCO")
    qtbot.mouseClick(row.cancel_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: strip.row("export") is None, timeout=10000)
    app.services.exporter.wait()
    assert not target.exists()  # cancelled before the atomic write: nothing half-done on disk
    with qtbot.waitSignal(app.controllers.export.exported, timeout=10000):
        window.export_chosen.emit("coco_rle", str(target))
    qtbot.waitUntil(lambda: strip.row("export") is None, timeout=10000)
    assert len(json.loads(target.read_text())["annotations"]) == 900
    assert seen[0][2] == 3  # one step per image
