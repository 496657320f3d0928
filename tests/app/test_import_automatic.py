"""File > Import automatic masks…: a batch run's SA-1B output (and its embeddings) reviewed in the window."""
from __future__ import annotations

import json

import numpy as np

from app.model import Annotation, Mask
from app.model.commands import AddAnnotations
from app.ui.widgets.import_dialog import ImportSourceDialog
from sam_core import EmbeddingCache, SamPredictor, content_hash
from sam_core.amg import main as amg
from sam_core.image_files import read_image
from tests.app.conftest import wait_ready

# Four prompts, no quality filter and no NMS: several masks per image, quickly.
FAST = ["--points-per-side", "2", "--pred-iou-thresh", "0", "--stability-score-thresh", "0", "--box-nms-thresh", "1"]


def decode(annotation: dict) -> Mask:
    return Mask.from_rle(dict(annotation["segmentation"], counts=annotation["segmentation"]["counts"].encode()))


def engine_output(image_folder, out, checkpoint) -> None:
    """What ``python -m sam_core.engine`` leaves: SA-1B JSON per image (as amg writes them) and a
    manifest with one failed image."""
    assert amg([str(image_folder), "--checkpoint", str(checkpoint), "--out", str(out), "--device", "cpu", *FAST]) == 0
    lines = [{"file": p.with_suffix(".png").name, "json": p.name, "status": "ok", "masks": 1, "seconds": 0.1,
              "error": None} for p in sorted(out.glob("*.json"))]
    lines.append({"file": "broken.png", "json": "broken.json", "status": "failed", "masks": 0, "seconds": None,
                  "error": "not an image"})
    (out / "manifest.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))


def test_engine_masks_arrive_as_automatic_masks_with_their_embeddings(qtbot, make_app, image_folder, tmp_path,
                                                                       tiny_checkpoint, tiny_sam):
    out = tmp_path / "engine"
    engine_output(image_folder, out, tiny_checkpoint)
    first = json.loads((out / "img_0.json").read_text())["annotations"]
    # The engine's embedding of the third image, in the disk cache's format (--embeddings).
    embeddings = tmp_path / "engine_embeddings"
    pixels = read_image(image_folder / "img_2.png")
    predictor = SamPredictor(tiny_sam)
    predictor.set_image(pixels)
    EmbeddingCache(embeddings).store_from(predictor, content_hash(pixels))

    app = make_app(image_folder, tiny_checkpoint)
    wait_ready(qtbot, app)
    dataset, worker = app.state.dataset, app.worker
    img_0 = dataset.image_by_name("img_0.png")
    covering = decode(first[0])
    on_it = sum(bool(np.count_nonzero(decode(a).full_mask() & covering.full_mask()) > 0.5 * a["area"]) for a in first)
    app.history.push(AddAnnotations(dataset, [Annotation(dataset.new_annotation_id(), img_0.id, 1, covering)]),
                     image_id=img_0.id)
    assert not worker.has_on_disk(content_hash(pixels))

    app.window.actions["file.import_auto"].trigger()
    dialog = app.window.dialog
    assert isinstance(dialog, ImportSourceDialog) and dialog.automatic
    dialog.path.setText(str(out))
    dialog.embeddings.setText(str(embeddings))
    with qtbot.waitSignal(app.controllers.importing.imported, timeout=20000):
        dialog.accept()

    for image in dataset.images.values():
        auto = [a for a in dataset.annotations(image.id) if a.provenance.source == "auto"]
        written = json.loads((out / image.file_name.replace(".png", ".json")).read_text())["annotations"]
        dropped = on_it if image.id == img_0.id else 0  # those lying on the annotation made before
        assert len(auto) == len(written) - dropped and len(written) > 1
        assert all(a.category_id == app.state.current_category for a in auto)
        assert app.prelabel.to_review(image.id) == auto  # the Automatic panel reviews them
    assert covering in [a.mask for a in dataset.annotations(img_0.id)]  # existing annotations are kept
    text = app.window.messages.texts()[0]
    assert f"{on_it} mask{'s' * (on_it != 1)} dropped" in text and "1 embedding in the disk cache" in text
    assert "1 image the data engine failed on" in text
    assert worker.has_on_disk(content_hash(pixels))

    app.history.set_image(img_0.id)
    app.history.undo()  # one step per image
    assert [a.mask for a in dataset.annotations(img_0.id)] == [covering]

    # The third image's embedding comes from the engine's file: no encoding.
    img_2 = dataset.image_by_name("img_2.png")
    key = app.state.project.key(img_2.id)
    with qtbot.waitSignal(worker.cache_hit, timeout=20000, check_params_cb=lambda hit, _s: hit == key):
        app.navigation.open_image(img_2.id)
    assert np.isfinite(predictor.get_image_embedding().sum().item())
