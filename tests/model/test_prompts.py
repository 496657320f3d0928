"""The prompt session, without Qt, against real SAM candidates."""
from __future__ import annotations

import numpy as np
import pytest

from app.model.prompts import BoxCandidates, PromptSession, PromptState
from sam_core import SamPredictor


@pytest.fixture(scope="module")
def predictor(tiny_sam):
    from sam_core.testing import synthetic_photo

    p = SamPredictor(tiny_sam)
    p.set_image(synthetic_photo(64, 96))
    return p


def decode(predictor, session):
    return predictor.predict_candidates(
        session.points if len(session.points) else None,
        session.labels if len(session.labels) else None,
        session.box, session.mask_input, session.multimask,
    )


def test_multimask_rule_and_mask_input_follow_the_prompts(predictor):
    session = PromptSession(1, (64, 96))
    events = []
    session.events.connect(lambda e: events.append(e.type))
    session.restore(session.with_point(10, 10, True))
    assert session.multimask and session.mask_input is None
    first = decode(predictor, session)
    session.set_candidates(first)
    assert session.selected == first.best and len(first) == 3
    session.select_rank(2)
    session.restore(session.with_point(50, 30, False))
    assert not session.multimask
    assert np.array_equal(session.mask_input[0], first.low_res_logits[first.order[2]])
    second = decode(predictor, session)
    assert len(second) == 1
    session.set_candidates(second)
    session.restore(session.with_box(5, 5, 40, 40))
    assert np.array_equal(session.mask_input[0], second.low_res_logits[0])
    session.restore(session.without_last())
    assert len(session.prompts) == 2
    assert np.array_equal(session.mask_input[0], first.low_res_logits[first.order[2]])
    session.use_mask_input = False
    assert session.mask_input is None
    session.restore(PromptState())
    assert session.candidates is None and session.selected is None
    assert {"prompts_changed", "candidates_changed", "selection_changed"} <= set(events)


def test_box_replaces_box_and_cycle_wraps(predictor):
    session = PromptSession(1, (64, 96))
    session.restore(session.with_box(30, 30, 5, 5))
    session.restore(session.with_box(1, 2, 20, 30))
    assert session.box.tolist() == [1, 2, 20, 30] and len(session.prompts) == 1
    session.set_candidates(decode(predictor, session))
    order = session.candidates.order
    seen = [session.selected]
    for _ in range(3):
        session.cycle()
        seen.append(session.selected)
    assert seen == [order[0], order[1], order[2], order[0]]
    assert not session.select(7)


def test_box_candidates_without_a_model():
    candidates = BoxCandidates((2.0, 3.0, 6.0, 5.0), (10, 8))
    assert candidates.mask(0).sum() == 8 and candidates.mask(0)[3:5, 2:6].all()
    assert len(candidates) == 1 and np.isnan(candidates.iou_predictions[0])


def test_prompt_states_for_undo_and_per_image_memory(predictor):
    session = PromptSession(1, (64, 96))
    session.restore(session.with_point(10, 10, True))
    session.set_candidates(decode(predictor, session))
    before = session.state()
    after = session.with_point(50, 30, False)
    assert session.prompts == list(before.prompts)  # computing a state changes nothing
    assert len(after.prompts) == 2 and 1 in after.logits  # the shown candidate feeds mask_input
    session.restore(after)
    assert session.labels.tolist() == [1, 0] and session.mask_input is not None
    session.restore(before)
    assert session.labels.tolist() == [1] and session.candidates is not None
    assert session.without_last().prompts == () and PromptSession().without_last() is None

    session.reset(2, (64, 96))  # another image: empty, and image 1's prompts are kept
    assert session.prompts == [] and session.candidates is None
    session.restore(session.with_box(1, 2, 30, 40))
    session.reset(1, (64, 96))
    assert session.labels.tolist() == [1] and session.candidates is None  # to be decoded again
    session.reset(2, (64, 96))
    assert session.box.tolist() == [1, 2, 30, 40]
    session.reset(None, None)  # a new folder forgets them all
    session.reset(1, (64, 96))
    assert session.prompts == []
