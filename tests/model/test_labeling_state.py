"""The labelling state: validation, events, and following the document (no Qt)."""
from __future__ import annotations

import pytest

from app.model import Annotation, Category, Mask
from app.model.labeling_state import MAX_RADIUS, LabelingState, SamStatus, ShownImage
from app.model.project import Project


def test_setters_validate_change_then_emit_once(tmp_path):
    state = LabelingState()
    seen = []
    state.events.connect(lambda e: seen.append((e.type, e.value)))
    state.set_tool("brush")
    state.set_tool("brush")
    with pytest.raises(ValueError):
        state.set_tool("lasso")
    assert state.set_radius(10_000) == MAX_RADIUS and state.set_radius(0) == 1.0
    state.set_no_overlap(True)
    state.set_speck_area(0)
    state.set_sam(SamStatus(True, "vit_b", "cpu"))
    state.set_sam(SamStatus(True, "vit_b", "cpu"))
    assert seen == [("tool_changed", "brush"), ("radius_changed", MAX_RADIUS), ("radius_changed", 1.0),
                    ("options_changed", "no_overlap"), ("options_changed", "speck_area"),
                    ("sam_changed", SamStatus(True, "vit_b", "cpu"))]
    assert state.speck_area == 1 and state.no_overlap


def test_it_follows_the_project_the_image_and_the_document(tmp_path):
    state = LabelingState()
    project = Project(tmp_path)
    image = project.add_image(tmp_path / "a.png", 8, 6)
    events = []
    state.events.connect(lambda e: events.append(e.type))
    state.set_project(project)
    assert state.current_category == 1 and events == ["project_changed", "category_changed"]

    state.set_image(image.id)
    assert state.image_key == str(tmp_path / "a.png")
    state.set_shown(ShownImage(object(), (6, 8)))
    state.request_view((1, 2, 3, 4))
    assert state.requested_view == (1.0, 2.0, 3.0, 4.0)
    dataset = project.dataset
    annotation = dataset.add_annotation(Annotation(1, image.id, 1, Mask.empty(6, 8)))
    state.select(annotation.id)
    state.set_visible(annotation.id, False)
    dataset.remove_annotation(annotation.id)
    assert state.selected is None and annotation.id in state.hidden  # hidden stays hidden should undo bring it back

    car = dataset.add_category(Category(2, "car", (1, 2, 3)))
    state.set_category(car.id)
    state.set_category(99)  # not a category: ignored
    assert state.current_category == car.id
    dataset.remove_category(car.id)  # e.g. its creation undone
    assert state.current_category == 1 and events[-1] == "category_changed"

    state.select(5)
    state.set_image(None)  # another image (or none): no selection, no shown pixels, no pending view
    assert state.selected is None and state.shown is None and state.requested_view is None
    state.set_project(None)
    assert state.dataset is None and state.current_category is None and state.hidden == set()
