"""Prompting, with the real SAM worker (tiny seeded checkpoint) and no window."""
from __future__ import annotations

import numpy as np
import pytest

from app.model.prompts import BoxCandidates
from app.workflow.checkpoint import CheckpointLoader
from app.workflow.folder_scan import FolderScan
from app.workflow.navigation import Navigation
from app.workflow.prompting import Prompting
from app.workflow.undo import Undo


@pytest.fixture
def labeling(qtbot, state, history, notices, worker, loader, settings, image_folder):
    navigation = Navigation(state, history, worker, loader, settings, notices)
    scan = FolderScan(state, loader, notices)
    scan.open_requested.connect(navigation.open_image)
    prompting = Prompting(state, history, worker, settings, notices)
    checkpoints = CheckpointLoader(state, worker, settings, notices)
    navigation.open_folder(image_folder)
    qtbot.waitUntil(lambda: state.shown is not None, timeout=10000)
    return navigation, prompting, checkpoints, scan


def test_without_a_checkpoint_a_box_is_one_rectangle_and_points_say_what_they_need(labeling, state, said):
    _navigation, prompting, _checkpoints, _scan = labeling
    prompting.add_point(10, 10, True)
    assert state.prompts.candidates is None and "Points need a SAM checkpoint" in said.status[-1]
    prompting.set_box(10, 20, 50, 60)
    candidates = state.prompts.candidates
    assert isinstance(candidates, BoxCandidates) and candidates.mask(0)[20:60, 10:50].all()
    annotation = prompting.accept()
    assert annotation.area == 40 * 40 and annotation.provenance.box == (10.0, 20.0, 50.0, 60.0)
    assert annotation.provenance.source == "box"  # not "brush": nobody painted it
    assert state.prompts.prompts == [] and state.dataset.annotation(annotation.id) is annotation


def test_a_click_while_the_checkpoint_loads_says_it_will_be_decoded_and_is(qtbot, labeling, state, said,
                                                                         tiny_checkpoint):
    _navigation, prompting, checkpoints, _scan = labeling
    checkpoints.load(tiny_checkpoint, "cpu")
    assert state.sam.loading and not state.sam.ready
    prompting.add_point(20, 20, True)
    assert "still loading" in said.status[-1] and "decoded as soon as it is ready" in said.status[-1]
    assert not any("need a SAM checkpoint" in line for line in said.status)
    prompting.set_box(10, 10, 50, 50)  # no rectangle stand-in either: SAM is about to answer
    assert state.prompts.candidates is None
    qtbot.waitUntil(lambda: state.prompts.candidates is not None, timeout=20000)
    assert state.sam.ready and not state.sam.loading
    assert not isinstance(state.prompts.candidates, BoxCandidates)


def test_clicks_decode_latest_wins_accept_and_undo(qtbot, labeling, state, history, notices, worker, tiny_checkpoint):
    navigation, prompting, checkpoints, _scan = labeling
    checkpoints.load(tiny_checkpoint, "cpu")
    qtbot.waitUntil(lambda: state.sam.ready and worker.is_encoded(state.image_key), timeout=20000)
    times = []
    prompting.click_ms.connect(times.append)
    prompting.add_point(80, 60, True)
    qtbot.waitUntil(lambda: state.prompts.candidates is not None, timeout=10000)
    first = state.prompts.candidates
    assert len(first) == 3 and times and times[-1] > 0  # one ambiguous point: three candidates
    prompting.add_point(30, 30, False)
    qtbot.waitUntil(lambda: state.prompts.candidates is not None and len(state.prompts.candidates) == 1,
                    timeout=10000)  # a second point: SAM's single mask
    prompting.pick(2)  # there is no third candidate now
    assert state.prompts.selected == 0
    state.prompts.candidates._masks[0] = np.ones((120, 160), bool)  # whatever random weights predict
    annotation = prompting.accept()
    assert annotation.provenance.points == ((80.0, 60.0), (30.0, 30.0)) and annotation.provenance.point_labels == (1, 0)
    assert annotation.provenance.source == "sam" and annotation.provenance.predicted_iou is not None
    assert state.prompts.prompts == [] and state.prompts.candidates is None

    undo = Undo(history, notices)
    assert undo.undo() == "Accept mask"  # the annotation goes, the two points come back and are decoded again
    assert state.dataset.annotations(state.image_id) == [] and len(state.prompts.prompts) == 2
    qtbot.waitUntil(lambda: state.prompts.candidates is not None, timeout=10000)

    prompting.remove_last_prompt()
    late = BoxCandidates((0, 0, 5, 5), (120, 160))
    worker.decoded.emit(0, late)  # a result for an old request arrives late: dropped
    assert state.prompts.candidates is not late
    qtbot.waitUntil(lambda: state.prompts.candidates is not None and len(state.prompts.candidates) == 3,
                    timeout=10000)

    # Another image and back: its prompts wait for it (and are decoded again when it returns).
    first_image = state.image_id
    navigation.go(1)
    assert state.prompts.prompts == []
    navigation.go(-1)
    assert state.image_id == first_image and len(state.prompts.prompts) == 1
    qtbot.waitUntil(lambda: state.prompts.candidates is not None, timeout=10000)
    prompting.clear_prompts()
    assert state.prompts.prompts == [] and state.prompts.candidates is None


def test_points_given_while_the_checkpoint_loads_are_decoded_when_it_is_ready(
        qtbot, labeling, state, worker, tiny_checkpoint):
    _navigation, prompting, checkpoints, _scan = labeling
    prompting.add_point(40, 40, True)
    checkpoints.load(tiny_checkpoint, "cpu")
    qtbot.waitUntil(lambda: state.prompts.candidates is not None, timeout=30000)
    assert len(state.prompts.candidates) == 3


def test_a_bad_checkpoint_says_so_in_one_line(qtbot, labeling, state, said, tmp_path):
    _navigation, _prompting, checkpoints, _scan = labeling
    failed = []
    checkpoints.checkpoint_failed.connect(lambda: failed.append(True))
    bad = tmp_path / "broken.pth"
    bad.write_bytes(b"not a checkpoint")
    checkpoints.load(bad, "cpu")
    qtbot.waitUntil(lambda: bool(failed), timeout=10000)
    (error,) = said.errors()
    assert "broken.pth" in error and "\n" not in error and not state.sam.ready


def test_a_checkpoint_that_fails_after_a_good_one_leaves_sam_ready(qtbot, labeling, state, worker, tiny_checkpoint,
                                                                    tmp_path, said):
    _navigation, prompting, checkpoints, _scan = labeling
    checkpoints.load(tiny_checkpoint, "cpu")
    qtbot.waitUntil(lambda: state.sam.ready, timeout=20000)
    title = state.sam.title
    broken = tmp_path / "broken.pth"
    broken.write_bytes(b"not a checkpoint")
    with qtbot.waitSignal(worker.sam_kept, timeout=20000):
        checkpoints.load(broken, "cpu")
    assert state.sam.ready and state.sam.title == title
    assert any("Still using SAM" in line for line in said.status)
    prompting.add_point(80, 60, True)
    qtbot.waitUntil(lambda: state.prompts.candidates is not None, timeout=10000)
