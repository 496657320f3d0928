"""Every SAM family in the real window: a seeded checkpoint in the family's official layout
(test-size shapes, which ``load_sam`` reads off the tensors like any published one) loads,
the status bar names family and variant, a click gives candidates, one is accepted, the
next image is pre-encoded; SAM 2's and HQ-SAM's embeddings come back from the disk cache
and decode the same candidates; segment everything runs with the family's network."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

from app.services.sam.segment_everything import PrelabelParams
from sam_core import SamPredictor
from sam_core.testing import (
    EFFICIENTVIT_L_TEST_CONFIG,
    HQ_TINY_TEST_CONFIG,
    MOBILE_SAM_TEST_CONFIG,
    SAM2_TEST_CONFIG,
    write_random_family_checkpoint,
    write_random_sam2_checkpoint,
)
from tests.app.conftest import wait_ready
from tests.app.test_workflow import view_pos

QUICK = PrelabelParams(points_per_side=2, points_per_batch=4, pred_iou_thresh=0.0, stability_score_thresh=0.0)


def _sam2(path):
    return write_random_sam2_checkpoint(path, SAM2_TEST_CONFIG, seed=3)


def _family(config):
    return lambda path: write_random_family_checkpoint(path, config, seed=3)


#: family id -> (file name, writer, status-bar text, candidates per click)
FAMILIES = {
    "sam2": ("sam2.1_hiera_test.pt", _sam2, "SAM 2.1 hiera_test · cpu", 3),
    "mobile_sam": ("mobile_sam_test.pt", _family(MOBILE_SAM_TEST_CONFIG), "MobileSAM", 3),
    "hq_sam": ("sam_hq_vit_tiny_test.pth", _family(HQ_TINY_TEST_CONFIG), "HQ-SAM", 1),
    "efficientvit_sam": ("efficientvit_sam_test.pt", _family(EFFICIENTVIT_L_TEST_CONFIG), "EfficientViT-SAM", 3),
}


@pytest.fixture(scope="module", params=sorted(FAMILIES))
def family_checkpoint(request, tmp_path_factory):
    name, write, status, count = FAMILIES[request.param]
    path = write(tmp_path_factory.mktemp(request.param) / name)
    return request.param, path, status, count


def click(qtbot, app, x: float, y: float):
    """A real left click on the canvas at image pixel (x, y); the candidates it gets."""
    state = app.state
    qtbot.mouseClick(app.window.canvas.viewport(), Qt.LeftButton, pos=view_pos(app.window.canvas, x, y))
    qtbot.waitUntil(lambda: state.prompts.candidates is not None, timeout=20000)
    return state.prompts.candidates


def test_each_family_labels_in_the_window(qtbot, make_app, image_folder, family_checkpoint):
    family, path, status, count = family_checkpoint
    app = make_app(image_folder, path)
    window, state = app.window, app.state
    wait_ready(qtbot, app)
    text = window.sam_label.text()
    assert text.startswith(status) and text.endswith("· cpu"), text
    first = state.image_id

    candidates = click(qtbot, app, 60.5, 50.5)
    assert len(candidates) == count
    assert candidates.mask(candidates.best).shape == state.project.dataset.images[first].shape
    assert len([b for b in window.candidates.buttons if b.isEnabled()]) == count  # empty slots stay, disabled
    rank = next((r for r, i in enumerate(candidates.order) if candidates.mask(i).any()), None)
    assert rank is not None, "every candidate is empty"
    app.prompting.pick(rank)
    chosen = candidates.mask(candidates.order[rank]).copy()
    window.actions["label.accept"].trigger()
    (annotation,) = state.project.dataset.annotations(first)
    assert np.array_equal(annotation.mask.full_mask(), chosen)

    second = state.project.neighbour(first, 1)  # pre-encoded while the first was labelled
    qtbot.waitUntil(lambda: app.worker.is_encoded(state.project.key(second)), timeout=20000)
    window.actions["image.next"].trigger()
    assert state.image_id == second


@pytest.mark.parametrize("family", ["sam2", "hq_sam"])
def test_a_reopened_image_decodes_from_the_disk_cache(qtbot, make_app, settings, image_folder, tmp_path, family,
                                                      monkeypatch):
    name, write, _status, _count = FAMILIES[family]
    path = write(tmp_path / name)
    app = make_app(image_folder, path)
    wait_ready(qtbot, app)
    before = click(qtbot, app, 40.5, 30.5)
    cache = app.worker.disk_cache
    qtbot.waitUntil(lambda: len(cache.entries()) >= 1, timeout=10000)
    image_hash, checkpoint_id = cache.entries()[0].name.split(".")[0].split("-")
    stored = cache.load(image_hash, checkpoint_id)
    expected = {"sam2": {"image_embed", "high_res_feat_s0", "high_res_feat_s1"},
                "hq_sam": {"image_embed", "interm_embed"}}
    assert set(stored.embedding) == expected[family]  # every tensor the family's decoder needs is on disk
    app.window.close()
    app.shutdown()

    def never(*_args, **_kwargs):
        raise RuntimeError("encoded again")

    monkeypatch.setattr(SamPredictor, "set_image", never)  # from here on the embedding must come from disk
    again = make_app(image_folder, path)
    wait_ready(qtbot, again)
    after = click(qtbot, again, 40.5, 30.5)
    assert len(after) == len(before)
    np.testing.assert_allclose(after.iou_predictions, before.iou_predictions, atol=2e-2)
    for i in range(len(before)):
        a, b = before.mask(i), after.mask(i)
        assert (a & b).sum() >= 0.97 * max((a | b).sum(), 1)


def test_segment_everything_runs_with_each_family(qtbot, make_app, image_folder, family_checkpoint):
    _family_name, path, _status, _count = family_checkpoint
    app = make_app(image_folder, path)
    wait_ready(qtbot, app)
    app.prelabel.params = QUICK
    app.window.actions["auto.folder"].trigger()
    qtbot.waitUntil(lambda: not app.prelabel.running, timeout=60000)
    messages = app.window.message_bar.text
    assert "failed" not in messages.lower(), messages
    dataset = app.state.project.dataset
    auto = [a for image_id in dataset.images for a in dataset.annotations(image_id) if a.provenance.source == "auto"]
    assert auto and all(a.mask.area > 0 for a in auto)  # masks came back from the family's generator


def test_segment_everything_keeps_the_familys_own_iou_threshold(tmp_path, tiny_sam):
    from sam_core import load_sam

    sam2 = load_sam(_sam2(tmp_path / "sam2.1_hiera_test.pt"), device="cpu")
    assert PrelabelParams().generator(sam2).pred_iou_thresh == 0.8  # SAM2AutomaticMaskGenerator's
    assert PrelabelParams().generator(tiny_sam).pred_iou_thresh == 0.88  # SAM v1's
    assert QUICK.generator(sam2).pred_iou_thresh == 0.0  # a setting given is kept


def test_precompute_sizes_the_disk_cache_by_the_familys_embedding(qtbot, tmp_path, image_folder):
    from app.services.precompute import EMBEDDING_BYTES, Precompute
    from app.services.sam.worker import SamWorker
    from sam_core import EmbeddingCache

    worker = SamWorker()
    worker.start()
    try:
        worker.set_disk_cache(EmbeddingCache(tmp_path / "embeddings", max_bytes=4 * EMBEDDING_BYTES))
        with qtbot.waitSignal(worker.sam_loaded, timeout=20000):
            worker.load_checkpoint(str(_sam2(tmp_path / "sam2.1_hiera_test.pt")), "cpu")
        sam2_entry = 2 * (256 * 64 * 64 + 32 * 256 * 256 + 64 * 128 * 128)  # image_embed and both feature maps
        assert worker.embedding_bytes() == sam2_entry + 512
        precompute = Precompute(worker)
        warnings = []
        precompute.message.connect(lambda level, text: warnings.append(text) if level == "warning" else None)
        images = sorted(image_folder.iterdir())
        assert precompute.start([(path.name, path) for path in images], sam_ready=True)
        precompute.cancel()
        # The three images' SAM v1 embeddings would fit in the cache; SAM 2's, four times as large, do not.
        assert len(images) * EMBEDDING_BYTES < 4 * EMBEDDING_BYTES and len(warnings) == 1
        assert "holds about 1 images" in warnings[0] and f"the folder has {len(images)}" in warnings[0]
    finally:
        worker.stop()
