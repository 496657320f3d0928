"""File > Import… and File > Export… in the real window: every format in, and back out."""
from __future__ import annotations

import json

import numpy as np
import pytest

from app.model import Annotation, Category, Dataset, ImageRecord, Mask, Provenance
from app.model.commands import AddAnnotations
from app.model.import_plan import plan_import, project_images
from app.model.io.coco import write_coco
from app.model.io.labelme import write_labelme
from app.model.io.polygons import iou
from app.model.io.readers import read_labels
from app.model.io.sa1b import write_sa1b
from app.model.io.yolo import write_yolo
from app.ui.widgets.export_dialog import ExportDialog
from app.ui.widgets.import_dialog import ImportPreview, ImportSourceDialog
from tests.app.conftest import write_image

NAMES = {"a.png": (60, 80), "sub/b.png": (50, 70), "sub/deep/c.png": (40, 64)}  # (H, W)


@pytest.fixture
def nested_folder(tmp_path, photo):
    folder = tmp_path / "project"
    for seed, (name, (h, w)) in enumerate(NAMES.items()):
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        write_image(folder / name, photo(h, w, seed=seed))
    return folder


def source_dataset() -> Dataset:
    """Labels made elsewhere for the project's images: holes, several parts, one box."""
    ds = Dataset()
    ds.add_category(Category(1, "cat", (200, 10, 10)))
    ds.add_category(Category(2, "dog", (10, 200, 10)))
    for i, (name, (h, w)) in enumerate(NAMES.items(), start=1):
        ds.add_image(ImageRecord(i, name, w, h))
        ring = np.zeros((h, w), bool)
        ring[5:30, 5:40] = True
        ring[12:20, 15:25] = False
        two = np.zeros((h, w), bool)
        two[32:38, 2:9] = two[33:39, 50:60] = True
        for category, full in ((1, ring), (2, two)):
            ds.add_annotation(Annotation(ds.new_annotation_id(), i, category, Mask.from_full(full),
                                         Provenance(source="import")))
    return ds


def write_source(ds: Dataset, fmt: str, root) -> object:
    if fmt in ("coco_rle", "coco_polygons"):
        path = root / "labels.json"
        write_coco(ds, path, segmentation="rle" if fmt == "coco_rle" else "polygons", holes="drop")
        return path
    path = root / fmt
    {"sa1b": lambda: write_sa1b(ds, path), "labelme": lambda: write_labelme(ds, path, root / "project"),
     "yolo": lambda: write_yolo(ds, path)}[fmt]()
    return path


def masks_by_name(dataset: Dataset) -> dict[str, list[Mask]]:
    return {i.file_name: [a.mask for a in dataset.annotations(i.id)] for i in dataset.images.values()}


def open_project(qtbot, make_app, folder):
    app = make_app(folder, None)
    qtbot.waitUntil(lambda: app.state.project is not None and len(app.state.project.dataset.images) == len(NAMES),
                    timeout=15000)
    return app


def import_through_window(qtbot, app, path, fmt="auto", mode="add") -> ImportPreview:
    window = app.window
    window.actions["file.import"].trigger()
    source = window.dialog
    assert isinstance(source, ImportSourceDialog)
    source.path.setText(str(path))
    source.format.setCurrentIndex(source.format.findData(fmt))
    source.accept()
    qtbot.waitUntil(lambda: isinstance(window.dialog, ImportPreview), timeout=15000)
    preview = window.dialog
    (preview.replace if mode == "replace" else preview.add).setChecked(True)
    with qtbot.waitSignal(app.controllers.importing.imported, timeout=10000):
        preview.accept()
    return preview


@pytest.mark.parametrize("fmt", ["coco_rle", "coco_polygons", "sa1b", "labelme", "yolo"])
def test_each_format_imports_into_the_window_and_exports_back(qtbot, make_app, nested_folder, tmp_path, fmt):
    source = source_dataset()
    path = write_source(source, fmt, tmp_path)
    app = open_project(qtbot, make_app, nested_folder)
    preview = import_through_window(qtbot, app, path)
    assert preview.categories_label.text() == "New categories: cat, dog"
    dataset = app.state.dataset
    got, want = masks_by_name(dataset), masks_by_name(source)
    assert list(got) == list(NAMES)  # subfolders' images, by relative path
    for name in NAMES:
        if fmt == "coco_polygons":  # holes filled ("drop") and polygons simplified: lossy, by design
            assert all(iou(a.rle(), b.rle()) >= 0.9 for a, b in zip(got[name], want[name]))
        else:
            assert got[name] == want[name], name
    assert "Imported" in app.window.messages.texts()[0] and path.name in app.window.messages.texts()[0]

    # One undo step per image, on that image's history.
    image_id = dataset.image_by_name("sub/b.png").id
    app.history.set_image(image_id)
    app.history.undo()
    assert dataset.annotations(image_id) == [] and len(dataset.annotations()) == 4
    app.history.redo()

    # Autosave writes nested names as flat sidecar files.
    sidecar = nested_folder / ".maskwright" / "annotations" / "sub%2Fdeep%2Fc.png.json"
    qtbot.waitUntil(sidecar.exists, timeout=10000)

    # And back out, in the same format, from the Export dialog.
    out = tmp_path / f"out_{fmt}"
    out = out.with_suffix(".json") if fmt.startswith("coco") else out
    app.window.actions["file.export"].trigger()
    dialog = app.window.dialog
    assert isinstance(dialog, ExportDialog)
    dialog.format.setCurrentIndex(dialog.format.findData(fmt))
    dialog.holes["drop"].setChecked(True)
    dialog.path.setText(str(out))
    with qtbot.waitSignal(app.controllers.export.exported, timeout=20000):
        dialog.accept()
    back = plan_import(read_labels(out), project_images(dataset))  # what importing the export would give
    assert back.unmatched == [] and back.skipped.total == 0
    exported = {p.name: [a.mask for a in p.annotations] for p in back.images}
    assert exported == masks_by_name(dataset)  # lossless both ways (the polygons were already the raster)
    assert app.settings.export_choices["format"] == fmt  # remembered for the next dialog


def test_import_asks_add_or_replace_names_unmatched_and_skipped(qtbot, make_app, nested_folder, tmp_path):
    app = open_project(qtbot, make_app, nested_folder)
    dataset = app.state.dataset
    a = dataset.image_by_name("a.png")
    old = np.zeros(a.shape, bool)
    old[0:3, 0:3] = True
    app.history.push(AddAnnotations(dataset, [Annotation(dataset.new_annotation_id(), a.id, 1, Mask.from_full(old))]),
                     image_id=a.id)
    coco = {"images": [{"id": 1, "file_name": "elsewhere/a.png", "width": 80, "height": 60},
                       {"id": 2, "file_name": "missing.png", "width": 10, "height": 10}],
            "categories": [{"id": 5, "name": "car"}],
            "annotations": [{"id": 1, "image_id": 1, "category_id": 5, "segmentation": [[1, 1, 30, 1, 30, 20, 1, 20]]},
                            {"id": 2, "image_id": 1, "category_id": 5, "segmentation": [[1, 1, 2, 2]]},
                            {"id": 3, "image_id": 1, "category_id": 5, "segmentation": [], "bbox": [40, 30, 20, 10]}]}
    path = tmp_path / "partial.json"
    path.write_text(json.dumps(coco))
    preview = import_through_window(qtbot, app, path, "coco", mode="replace")
    listing = preview.listing
    assert "not matched: missing.png: no image of that name in the project" in listing.toPlainText()
    assert "1 polygon with fewer than 3 points skipped" in listing.toPlainText()
    annotations = dataset.annotations(a.id)
    assert len(annotations) == 2 and annotations[0].mask.area == 29 * 19 and annotations[1].waits_for_sam
    assert dataset.categories[annotations[0].category_id].name == "car"
    text = app.window.messages.texts()[0]
    assert "partial.json" in text and "1 box waiting for SAM" in text and "replaced 1 annotation" in text
    assert "fewer than 3 points" in text
    app.history.set_image(a.id)
    app.history.undo()  # the import and the replacement are one step
    assert [x.mask.area for x in dataset.annotations(a.id)] == [9]


def test_a_file_that_is_not_labels_is_refused_in_one_line(qtbot, make_app, nested_folder, tmp_path):
    app = open_project(qtbot, make_app, nested_folder)
    path = tmp_path / "notes.json"
    path.write_text('{"hello": "world"}')
    app.controllers.importing.read(path)
    qtbot.waitUntil(lambda: "Import failed" in app.window.message_bar.text, timeout=10000)
    assert "notes.json: not COCO" in app.window.message_bar.text
    assert app.state.dataset.annotation_count == 0


def test_export_scope_done_writes_only_the_images_marked_done(qtbot, make_app, nested_folder, tmp_path):
    app = open_project(qtbot, make_app, nested_folder)
    source = source_dataset()
    import_through_window(qtbot, app, write_source(source, "coco_rle", tmp_path))
    project = app.state.project
    project.set_done(app.state.dataset.image_by_name("sub/deep/c.png").id, True)
    out = tmp_path / "done.json"
    with qtbot.waitSignal(app.controllers.export.exported, timeout=10000):
        app.window.export_dialog_chosen.emit("coco_rle", str(out), "rle", "done")
    written = json.loads(out.read_text())
    assert [i["file_name"] for i in written["images"]] == ["sub/deep/c.png"] and len(written["annotations"]) == 2
    assert app.settings.export_choices["scope"] == "done"


def test_export_dialog_says_which_consumers_read_what_and_starts_from_the_last_choices(qtbot, make_app,
                                                                                         nested_folder, tmp_path):
    app = open_project(qtbot, make_app, nested_folder)
    app.settings.export_choices = {"format": "coco_polygons", "holes": "crowd", "scope": "all",
                                   "path": str(tmp_path / "last.json")}
    app.window.actions["file.export"].trigger()
    dialog = app.window.dialog
    assert dialog.fmt == "coco_polygons" and dialog.hole_policy == "crowd" and dialog.path.text().endswith("last.json")
    assert "iscrowd" in dialog.notes.text() and not dialog.scope_done.isEnabled()  # nothing is marked done
    dialog.holes["rle"].setChecked(True)
    assert "detectron2" in dialog.notes.text() and "bitmask" in dialog.notes.text()
    dialog.format.setCurrentIndex(dialog.format.findData("yolo"))
    assert not dialog.holes["rle"].isEnabled() and dialog.path.text().endswith("export_yolo")  # a folder now
    assert "Ultralytics" in dialog.notes.text()
    dialog.reject()


def test_png_masks_exported_into_the_image_folder_are_not_listed_as_images(qtbot, make_app, nested_folder, tmp_path):
    app = open_project(qtbot, make_app, nested_folder)
    import_through_window(qtbot, app, write_source(source_dataset(), "coco_rle", tmp_path))
    images_before = sorted(r.file_name for r in app.state.dataset.images.values())
    out = nested_folder / "exports" / "png"  # inside the project: a user's natural choice
    with qtbot.waitSignal(app.controllers.export.exported, timeout=10000):
        app.window.export_dialog_chosen.emit("png", str(out), "rle", "all")
    assert list((out / "instances").rglob("*.png")) and (out / ".maskwright-export").is_file()
    app.navigation.open_folder(nested_folder)  # open it again: the scan walks the subfolders
    qtbot.waitUntil(lambda: app.window.image_list.count() == len(images_before), timeout=10000)
    qtbot.wait(200)  # the whole listing has arrived
    assert sorted(r.file_name for r in app.state.dataset.images.values()) == images_before
