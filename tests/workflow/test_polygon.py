"""The polygon controller on the real labelling state, document and history (no window)."""
from __future__ import annotations

import json

import numpy as np
import pytest

from app.model import Annotation, Mask, edits
from app.model.io.coco import read_coco, write_coco
from app.model.io.fields import Where
from app.model.io.project_format import image_from_json, image_to_json
from app.model.polygon import rasterize
from app.model.project import Project
from app.workflow.polygon import PolygonTool

SHAPE = (40, 60)
SQUARE = [(10, 10), (30, 10), (30, 30), (10, 30)]


@pytest.fixture
def drawing(tmp_path, state, history, notices):
    project = Project(tmp_path)
    record = project.add_image(tmp_path / "a.png", 60, 40)
    state.set_project(project)
    history.set_image(record.id)
    state.set_image(record.id)
    state.set_tool("polygon")
    return PolygonTool(state, history, notices), record


def draw(tool, vertices):
    for x, y in vertices:
        tool.add_vertex(x, y)


def box(x0, y0, x1, y1) -> np.ndarray:
    full = np.zeros(SHAPE, bool)
    full[y0:y1, x0:x1] = True
    return full


def rect(x0, y0, x1, y1) -> Mask:
    return Mask.from_full(box(x0, y0, x1, y1))


def test_vertices_live_in_the_state_and_backspace_and_esc_edit_them(drawing, state, said):
    tool, _record = drawing
    seen = []
    state.events.polygon_changed.connect(lambda e: seen.append(e.value))
    draw(tool, [(10, 10), (30, 10), (30, 10), (-5, 45)])  # a repeated vertex is one; outside lands on the border
    assert state.polygon == ((10.0, 10.0), (30.0, 10.0), (0.0, 40.0)) and tool.drawing
    assert len(seen) == 3 and "Enter or a click on the first vertex closes it" in said.status[0]
    tool.remove_last_vertex()
    assert state.polygon == ((10.0, 10.0), (30.0, 10.0))
    tool.cancel()
    assert state.polygon == () and not tool.drawing and said.status[-1] == "Polygon cancelled"
    draw(tool, SQUARE[:2])
    state.set_tool("prompt")  # another tool drops the polygon in progress
    assert state.polygon == ()
    tool.add_vertex(5, 5)  # and the prompt tool adds no vertex
    assert state.polygon == ()


def test_closing_with_nothing_selected_makes_one_new_annotation_in_one_undo_step(drawing, state, history, said,
                                                                                 tmp_path):
    tool, record = drawing
    draw(tool, SQUARE)
    annotation = tool.close()
    assert annotation is not None and state.polygon == ()
    (stored,) = state.dataset.annotations(record.id)
    assert stored.mask == rect(10, 10, 30, 30) == rasterize(SQUARE, SHAPE)
    assert stored.provenance.source == "polygon" and stored.category_id == state.current_category
    assert state.selected is None  # the next polygon is a new annotation again
    assert said.status[-1] == "Polygon: new object, 400 px"
    assert history.undo() == "Polygon" and state.dataset.annotations(record.id) == []
    assert history.redo() == "Polygon" and len(state.dataset.annotations(record.id)) == 1
    # The sidecar and COCO (with our extras) keep the new source.
    document = json.loads(json.dumps(image_to_json(record, False, [stored])))
    (restored,) = image_from_json(document, Where("a.json")).annotations
    assert restored.provenance.source == "polygon" and restored.mask == stored.mask
    write_coco(state.dataset, tmp_path / "coco.json")
    (exported,) = read_coco(tmp_path / "coco.json").annotations()
    assert exported.provenance.source == "polygon" and exported.mask == stored.mask


def test_a_short_or_empty_polygon_does_not_close_and_can_go_on(drawing, state, said):
    tool, record = drawing
    draw(tool, SQUARE[:2])
    assert tool.close() is None and said.status[-1] == "A polygon needs at least 3 vertices"
    assert len(state.polygon) == 2
    tool.cancel()
    draw(tool, [(10.1, 10.1), (10.4, 10.1), (10.4, 10.3)])
    assert tool.close() is None and "covers no pixel centre" in said.status[-1] and len(state.polygon) == 3
    assert state.dataset.annotations(record.id) == []


def test_add_to_and_subtract_from_the_selected_annotation(drawing, state, history):
    tool, record = drawing
    dataset = state.dataset
    base = Annotation(dataset.new_annotation_id(), record.id, 1, rect(0, 0, 20, 20))
    history.push(edits.add_annotation(dataset, base))
    state.select(base.id)
    draw(tool, SQUARE)
    tool.close()  # with a selection, closing adds
    assert dataset.annotation(base.id).mask == Mask.from_full(box(0, 0, 20, 20) | box(10, 10, 30, 30))
    assert dataset.annotation(base.id).provenance.edited and len(dataset.annotations(record.id)) == 1
    draw(tool, [(0, 0), (15, 0), (15, 40), (0, 40)])
    tool.subtract_from_selected()
    after = dataset.annotation(base.id).mask
    assert after == Mask.from_full((box(0, 0, 20, 20) | box(10, 10, 30, 30)) & ~box(0, 0, 15, 40))
    assert history.undo() == "Subtract polygon"
    assert history.undo() == "Add polygon" and dataset.annotation(base.id).mask == rect(0, 0, 20, 20)
    # Subtracting all of it deletes the annotation, in the same one step.
    draw(tool, [(0, 0), (60, 0), (60, 40), (0, 40)])
    assert tool.subtract_from_selected() is None and dataset.annotations(record.id) == []
    assert history.undo().startswith("Subtract polygon") and dataset.annotation(base.id).mask == rect(0, 0, 20, 20)


def test_add_needs_a_selection_and_no_overlap_takes_from_the_others(drawing, state, history, said):
    tool, record = drawing
    dataset = state.dataset
    draw(tool, SQUARE)
    assert tool.add_to_selected() is None and said.status[-1] == "Select an annotation first"
    assert len(state.polygon) == 4  # still there to close another way
    other = Annotation(dataset.new_annotation_id(), record.id, 1, rect(0, 0, 20, 20))
    history.push(edits.add_annotation(dataset, other))
    state.set_no_overlap(True)
    made = tool.close()
    assert made.mask == rect(10, 10, 30, 30)
    assert dataset.annotation(other.id).mask == Mask.from_full(box(0, 0, 20, 20) & ~box(10, 10, 30, 30))
    assert history.undo() == "Polygon" and dataset.annotation(other.id).mask == rect(0, 0, 20, 20)


def test_another_image_drops_the_polygon(drawing, state, tmp_path):
    tool, _record = drawing
    second = state.project.add_image(tmp_path / "b.png", 30, 20)
    draw(tool, SQUARE[:3])
    state.set_image(second.id)
    assert state.polygon == () and not tool.drawing
