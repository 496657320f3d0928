"""A rectangle taken as it is (no SAM checkpoint) says so: source "box", in every format we write."""
from __future__ import annotations

import numpy as np

from app.model import Annotation, Category, Dataset, ImageRecord, Mask, Provenance, edits
from app.model.io import read_coco, read_sa1b, write_coco, write_sa1b
from app.model.io.sidecar import read_sidecar
from app.model.project import Project
from app.model.prompts import BoxCandidates, PromptSession
from app.model.saving import ChangeTracker, write_snapshot


def box_annotation(image_id: int = 1) -> Annotation:
    session = PromptSession(image_id, (40, 60))
    session.restore(session.with_box(5, 6, 25, 30))
    session.set_candidates(BoxCandidates(tuple(session.box), session.shape))
    annotation = edits.annotation_from_session(session, 1, 1)
    assert annotation.provenance.source == "box" and annotation.provenance.box == (5.0, 6.0, 25.0, 30.0)
    assert annotation.provenance.predicted_iou is None and annotation.area == 20 * 24
    return annotation


def test_a_box_keeps_its_source_through_coco_and_sa1b(tmp_path):
    dataset = Dataset()
    dataset.add_image(ImageRecord(1, "a.png", 60, 40))
    dataset.add_category(Category(1, "object"))
    dataset.add_annotation(box_annotation())
    write_coco(dataset, tmp_path / "coco.json")
    write_sa1b(dataset, tmp_path / "sa1b")
    for again in (read_coco(tmp_path / "coco.json"), read_sa1b(tmp_path / "sa1b")):
        (read,) = again.annotations()
        assert read.provenance.source == "box" and read.provenance.box == (5.0, 6.0, 25.0, 30.0)
        assert np.array_equal(read.mask.full_mask(), dataset.annotations()[0].mask.full_mask())


def test_a_box_keeps_its_source_in_the_project_sidecar(tmp_path):
    (tmp_path / "a.png").write_bytes(b"pixels")
    project = Project(tmp_path)
    project.restore(read_sidecar(tmp_path))
    project.add_image(tmp_path / "a.png", 60, 40)
    tracker = ChangeTracker(project)
    image = project.dataset.image_by_name("a.png")
    project.dataset.add_annotation(Annotation(1, image.id, 1, Mask.from_full(box_annotation().mask.full_mask()),
                                              Provenance(box=(5, 6, 25, 30), source="box")))
    assert write_snapshot(tracker.take(), tracker.protected).ok
    again = Project(tmp_path)
    again.restore(read_sidecar(tmp_path))
    again.add_image(tmp_path / "a.png", 60, 40)
    (read,) = again.dataset.annotations()
    assert read.provenance.source == "box"
