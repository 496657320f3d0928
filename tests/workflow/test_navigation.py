"""Navigation and the folder scan, with the real loader and SAM worker and no window."""
from __future__ import annotations

from app.workflow.checkpoint import CheckpointLoader
from app.workflow.folder_scan import FolderScan
from app.workflow.navigation import Navigation


def make(state, history, worker, loader, settings, notices):
    navigation = Navigation(state, history, worker, loader, settings, notices)
    scan = FolderScan(state, loader, notices)
    scan.open_requested.connect(navigation.open_image)  # as the bootstrap wires it
    return navigation, scan


def test_a_folder_opens_at_its_first_image_and_next_previous_move_in_folder_order(
        qtbot, state, history, notices, said, worker, loader, settings, image_folder):
    navigation, _scan = make(state, history, worker, loader, settings, notices)
    shown = []
    state.events.image_shown.connect(lambda e: shown.append(e.value))
    assert navigation.open_folder(image_folder) and settings.last_folder == str(image_folder)
    qtbot.waitUntil(lambda: len(state.project.dataset.images) == 3, timeout=10000)
    qtbot.waitUntil(lambda: state.shown is not None, timeout=10000)
    ids = state.project.image_ids()
    names = [state.project.dataset.images[i].file_name for i in ids]
    assert names == ["img_0.png", "img_1.png", "img_2.png"] and state.image_id == ids[0]
    assert state.shown.shape == (120, 160) and state.shown.display.shape == (120, 160, 3)

    navigation.go(1)
    assert state.image_id == ids[1]
    qtbot.waitUntil(lambda: state.shown is not None and state.shown.shape == (100, 140), timeout=10000)
    navigation.go(1)
    navigation.go(1)  # past the last: stays, and says so
    assert state.image_id == ids[2] and said.status[-1] == "Last image"
    navigation.go(-2)
    assert state.image_id == ids[0]
    qtbot.waitUntil(lambda: state.shown is not None and state.shown.shape == (120, 160), timeout=10000)
    assert shown[0] is not None and None in shown  # each switch clears the canvas until the pixels are there

    navigation.close_image()
    assert state.image_id is None and state.shown is None
    assert not navigation.open_folder(image_folder / "img_0.png")
    assert "Not a folder" in said.errors()[-1] and state.project.folder == image_folder


def test_with_sam_the_current_image_is_encoded_and_the_next_one_ahead(
        qtbot, state, history, notices, said, worker, loader, settings, image_folder, tiny_checkpoint):
    navigation, _scan = make(state, history, worker, loader, settings, notices)
    checkpoints = CheckpointLoader(state, worker, settings, notices)
    progress = []
    navigation.encode_state.connect(lambda text, done, total: progress.append(text))
    navigation.open_folder(image_folder)
    qtbot.waitUntil(lambda: state.shown is not None, timeout=10000)
    assert not state.sam.ready and not worker.is_encoded(state.image_key)  # nothing to encode with yet
    checkpoints.load(tiny_checkpoint, "cpu")
    qtbot.waitUntil(lambda: state.sam.ready, timeout=20000)
    assert settings.checkpoint == str(tiny_checkpoint) and settings.device == "cpu"
    qtbot.waitUntil(lambda: worker.is_encoded(state.image_key), timeout=20000)
    project = state.project
    following = project.key(project.neighbour(state.image_id, 1))
    qtbot.waitUntil(lambda: worker.is_encoded(following), timeout=20000)  # pre-encoded before it is asked for
    assert any(text.startswith("Encoded in") or text == "Embedding ready" for text in progress)
    navigation.go(1)
    assert worker.is_encoded(state.image_key)


def test_another_folder_forgets_the_last_ones_images_and_history(
        qtbot, state, history, notices, worker, loader, settings, image_folder, tmp_path):
    from tests.app.conftest import write_image
    from sam_core.testing import synthetic_photo

    navigation, _scan = make(state, history, worker, loader, settings, notices)
    navigation.open_folder(image_folder)
    qtbot.waitUntil(lambda: state.image_id is not None, timeout=10000)
    history.push(type("Step", (), {"text": "step", "redo": lambda self: None, "undo": lambda self: None})())
    other = tmp_path / "other"
    other.mkdir()
    write_image(other / "z.png", synthetic_photo(50, 60, seed=9))
    navigation.open_folder(other)
    assert state.image_id is None and not history.can_undo
    qtbot.waitUntil(lambda: state.image_id is not None, timeout=10000)
    assert state.project.folder == other
    assert [r.file_name for r in state.project.dataset.images.values()] == ["z.png"]
