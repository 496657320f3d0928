"""The brush controller on the real labelling state, document and history (no window, no Qt)."""
from __future__ import annotations

import numpy as np
import pytest

from app.model import Annotation, Mask, Provenance, edits
from app.model.paint import Stroke
from app.model.project import Project
from app.model.prompts import BoxCandidates
from app.workflow.brush import Brush


@pytest.fixture
def labeled(tmp_path, state, history, notices):
    project = Project(tmp_path)
    record = project.add_image(tmp_path / "a.png", 60, 40)
    state.set_project(project)
    history.set_image(record.id)
    state.set_image(record.id)
    state.prompts.reset(record.id, record.shape)
    return Brush(state, history, notices), record


def rect(x0, y0, x1, y1, shape=(40, 60)) -> Mask:
    full = np.zeros(shape, bool)
    full[y0:y1, x0:x1] = True
    return Mask.from_full(full)


def test_a_stroke_with_nothing_selected_paints_a_new_annotation_in_one_undo_step(labeled, state, history, said):
    brush, record = labeled
    brush.set_tool("brush")
    brush.set_radius(3)
    assert state.tool == "brush" and state.radius == 3.0 and said.status[-1] == "Brush radius 3 px"
    brush.begin_stroke(10, 10)
    assert state.stroke is not None and state.stroke_target is None
    brush.extend_stroke(30, 10)
    brush.extend_stroke(30, 30, straight=True)  # a straight line from where the stroke began
    brush.end_stroke()
    expected = Stroke(Mask.empty(40, 60), 3.0)
    expected.add_point(10, 10)
    expected.add_point(30, 10)
    expected.line_to(30, 30)
    (annotation,) = state.dataset.annotations(record.id)
    assert annotation.mask == expected.after() and annotation.provenance.source == "brush"
    assert state.selected == annotation.id and state.stroke is None  # the next strokes go on painting it
    assert history.undo() == "Paint new annotation" and state.dataset.annotations(record.id) == []
    assert history.redo() == "Paint new annotation"


def test_erasing_needs_a_selection_and_edits_only_the_changed_box(labeled, state, history, said):
    brush, record = labeled
    brush.set_tool("eraser")
    brush.begin_stroke(5, 5)
    assert state.stroke is None and said.status[-1] == "Select an annotation to erase from"
    annotation = Annotation(state.dataset.new_annotation_id(), record.id, 1, rect(0, 0, 60, 40))
    history.push(edits.add_annotation(state.dataset, annotation))
    state.select(annotation.id)
    brush.set_radius(2)
    brush.begin_stroke(20, 20)
    brush.end_stroke()
    expected = Stroke(annotation.mask, 2.0, erase=True)
    expected.add_point(20, 20)
    after = state.dataset.annotation(annotation.id).mask
    assert after == expected.after() and not after.full_mask()[20, 20] and 0 < 60 * 40 - after.area <= 16
    assert history.undo() == "Erase stroke"
    assert state.dataset.annotation(annotation.id).mask.full_mask().all()


def test_mask_operations_and_no_overlap(labeled, state, history):
    brush, record = labeled
    dataset = state.dataset
    ring = rect(10, 10, 30, 30).full_mask()
    ring[15:25, 15:25] = False
    holed = Annotation(dataset.new_annotation_id(), record.id, 1, Mask.from_full(ring))
    history.push(edits.add_annotation(dataset, holed))
    other = Annotation(dataset.new_annotation_id(), record.id, 1, rect(40, 0, 60, 20))
    history.push(edits.add_annotation(dataset, other))
    state.select(holed.id)
    brush.fill_holes()
    assert dataset.annotation(holed.id).mask == rect(10, 10, 30, 30)

    # SAM's shown candidate (here a box without a checkpoint) added to the selection, taking others' pixels.
    brush.set_no_overlap(True)
    state.prompts.restore(state.prompts.with_box(25, 5, 50, 15))
    state.prompts.set_candidates(BoxCandidates((25, 5, 50, 15), (40, 60)))
    brush.add_candidate()
    grown = dataset.annotation(holed.id).mask.full_mask()
    assert grown[5:15, 25:50].all() and state.prompts.prompts == []  # the prompts went in the same step
    assert not (dataset.annotation(other.id).mask.full_mask() & grown).any()
    assert history.undo() == "Add candidate" and len(state.prompts.prompts) == 1
    assert dataset.annotation(other.id).mask == rect(40, 0, 60, 20)

    speck = rect(0, 0, 60, 40).full_mask() & False
    speck[0:2, 0:2] = True
    speck[20:39, 0:20] = True
    specky = Annotation(dataset.new_annotation_id(), record.id, 1, Mask.from_full(speck), Provenance(source="brush"))
    history.push(edits.add_annotation(dataset, specky))
    state.select(specky.id)
    brush.set_speck_area(5)
    brush.remove_specks()
    assert dataset.annotation(specky.id).mask == rect(0, 20, 20, 39)
