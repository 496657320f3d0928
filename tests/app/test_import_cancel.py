"""Cancelling File > Import… and Import automatic masks… in the real window: the reading stops,
nothing reaches the project, the status bar says so, and the next import still works."""
from __future__ import annotations

import json

import numpy as np
from PySide6.QtCore import Qt

from app.model import Annotation, Category, Dataset, ImageRecord, Mask, Provenance
from app.model.io.sa1b import write_sa1b
from app.ui.widgets.import_dialog import ImportPreview

SIZES = {"img_0.png": (120, 160), "img_1.png": (100, 140), "img_2.png": (90, 120)}  # image_folder's (H, W)


def big_coco(path, per_image: int = 8000, strangers: int = 3000):
    """A COCO file with ``per_image`` square polygons on each project image and ``strangers``
    image entries that match none: seconds of reading, matching and rasterising."""
    images = [{"id": i, "file_name": name, "height": h, "width": w}
              for i, (name, (h, w)) in enumerate(SIZES.items(), start=1)]
    images += [{"id": 100 + i, "file_name": f"elsewhere/{i}.png", "height": 10, "width": 10} for i in range(strangers)]
    annotations = []
    for image in images[:len(SIZES)]:
        for k in range(per_image):
            x, y = k % (image["width"] - 12), (k // 7) % (image["height"] - 12)
            annotations.append({"id": len(annotations) + 1, "image_id": image["id"], "category_id": 1,
                                "segmentation": [[x, y, x + 10, y, x + 10, y + 10, x, y + 10]],
                                "bbox": [x, y, 10, 10], "area": 100, "iscrowd": 0})
    path.write_text(json.dumps({"images": images, "annotations": annotations,
                                "categories": [{"id": 1, "name": "square"}]}))
    return path


def small_coco(path):
    images = [{"id": 1, "file_name": "img_0.png", "height": 120, "width": 160}]
    annotations = [{"id": 1, "image_id": 1, "category_id": 1, "segmentation": [[10, 10, 30, 10, 30, 30, 10, 30]],
                    "bbox": [10, 10, 20, 20], "area": 400, "iscrowd": 0}]
    path.write_text(json.dumps({"images": images, "annotations": annotations,
                                "categories": [{"id": 1, "name": "square"}]}))
    return path


def open_project(qtbot, make_app, folder):
    app = make_app(folder, None)
    qtbot.waitUntil(lambda: app.state.project is not None and len(app.state.project.dataset.images) == len(SIZES)
                    and app.state.image_id is not None, timeout=15000)
    return app


def annotation_count(app) -> int:
    return sum(1 for _ in app.state.dataset.annotations())


def test_a_cancelled_import_applies_nothing_and_the_next_one_works(qtbot, make_app, image_folder, tmp_path):
    app = open_project(qtbot, make_app, image_folder)
    window, importer, strip = app.window, app.services.importer, app.window.progress_strip
    categories = dict(app.state.dataset.categories)
    planned, stopped = [], []
    importer.planned.connect(lambda job, plan: planned.append(job))
    importer.cancelled.connect(stopped.append)

    window.import_chosen.emit(str(big_coco(tmp_path / "big.json")), "auto")
    row = strip.row("import")
    assert row is not None and row.cancel_button.isVisible() and row.label.text().startswith("Reading big.json")
    qtbot.waitUntil(lambda: "/" in strip.row("import").label.text(), timeout=20000)  # off-thread and reporting
    qtbot.mouseClick(strip.row("import").cancel_button, Qt.LeftButton)
    assert strip.row("import") is None  # the row goes at once
    qtbot.waitUntil(lambda: bool(stopped), timeout=20000)  # the reading stopped at its next step: no plan made
    importer.wait()
    qtbot.wait(50)  # any late report would arrive now
    assert planned == [] and not isinstance(window.dialog, ImportPreview)  # nothing to confirm either
    assert annotation_count(app) == 0 and dict(app.state.dataset.categories) == categories
    assert app.history.can_undo is False
    assert "Import of big.json cancelled: nothing was imported" in window.statusBar().currentMessage()
    assert strip.row("import") is None

    window.import_chosen.emit(str(small_coco(tmp_path / "small.json")), "coco")
    qtbot.waitUntil(lambda: bool(planned), timeout=15000)
    preview = window.dialog
    assert isinstance(preview, ImportPreview)
    with qtbot.waitSignal(app.controllers.importing.imported, timeout=10000):
        preview.accept()
    assert annotation_count(app) == 1 and "Imported" in window.statusBar().currentMessage()


def engine_folder(root, files: int = 300) -> object:
    """An SA-1B folder of ``files`` JSON files, three for the project's images."""
    ds = Dataset()
    ds.add_category(Category(1, "object", (200, 10, 10)))
    names = list(SIZES) + [f"other_{i}.png" for i in range(files - len(SIZES))]
    for i, name in enumerate(names, start=1):
        h, w = SIZES.get(name, (40, 40))
        ds.add_image(ImageRecord(i, name, w, h))
        full = np.zeros((h, w), bool)
        full[5:20, 5:25] = True
        ds.add_annotation(Annotation(ds.new_annotation_id(), i, 1, Mask.from_full(full), Provenance(source="auto")))
    write_sa1b(ds, root)
    return root


def test_a_cancelled_automatic_import_applies_nothing(qtbot, make_app, image_folder, tmp_path):
    app = open_project(qtbot, make_app, image_folder)
    window, importer, controller = app.window, app.services.importer, app.controllers.importing
    stopped, planned = [], []
    importer.cancelled.connect(stopped.append)
    importer.planned.connect(lambda job, plan: planned.append(job))
    folder = engine_folder(tmp_path / "engine")

    assert controller.read_automatic(folder)
    controller.cancel()  # at once: the job stops before it starts, or at its first file
    assert window.progress_strip.row("import") is None
    qtbot.waitUntil(lambda: bool(stopped), timeout=20000)
    importer.wait()
    qtbot.wait(50)
    assert planned == [] and annotation_count(app) == 0
    assert "Import of engine cancelled: nothing was imported" in window.statusBar().currentMessage()

    with qtbot.waitSignal(controller.imported, timeout=20000):
        controller.read_automatic(folder)
    assert annotation_count(app) == 3
