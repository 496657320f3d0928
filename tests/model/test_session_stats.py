"""The session's figures without Qt: annotations per hour, the predicted-IoU histogram of
accepted masks, click latency over time, undo taking a count back, bounded memory."""
from __future__ import annotations

import numpy as np
import pytest

from app.model import Annotation, Category, Dataset, ImageRecord, Mask, Provenance
from app.model.commands import AddAnnotations, RemoveAnnotations, SetReviewed
from app.model.history import History
from app.model.labeling_state import LabelingState
from app.model.project import Project
from app.model.session_stats import SessionStats


class Clock:
    """A monotonic clock the test moves by hand (seconds)."""

    def __init__(self, t: float = 5000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def dataset() -> Dataset:
    ds = Dataset()
    ds.add_image(ImageRecord(1, "a.png", 16, 12))
    ds.add_category(Category(1, "cat"))
    return ds


def annotation(ds: Dataset, iou: float | None = 0.9, source: str = "sam", **flags) -> Annotation:
    full = np.zeros((12, 16), dtype=bool)
    full[2:6, 3:9] = True
    return Annotation(ds.new_annotation_id(), 1, 1, Mask.from_full(full),
                      Provenance(predicted_iou=iou, source=source, **flags))


def test_annotations_per_hour_over_the_session(dataset):
    clock = Clock()
    stats = SessionStats(clock=clock)
    stats.follow(dataset)
    start = clock.t
    for minute in range(30):  # one a minute for half an hour: 60 an hour all along
        clock.t = start + minute * 60 + 30
        dataset.add_annotation(annotation(dataset))
    clock.t = start + 30 * 60
    t, rate = stats.rate_per_hour()
    assert stats.accepted == 30 and len(t) == 30  # minutes 0..29
    assert t[0] == 60 and t[-1] == 30 * 60 and np.all(np.diff(t) > 0)
    assert np.allclose(rate, 60.0)

    clock.t = start + 60 * 60  # half an hour idle: 30 in the last hour
    assert stats.rate_per_hour()[1][-1] == pytest.approx(30.0)
    clock.t = start + 2 * 3600  # the window has slid past them all
    t, rate = stats.rate_per_hour()
    assert rate[-1] == 0.0 and rate[29] == pytest.approx(60.0) and len(t) == 120
    # A narrower window: 10 in the ten minutes up to minute 9's end.
    assert stats.rate_per_hour(window_s=600)[1][9] == pytest.approx(60.0)
    assert stats.rate_per_hour(window_s=600)[1][40] == 0.0


def test_the_first_minute_counts_as_a_minute_not_a_spike(dataset):
    clock = Clock()
    stats = SessionStats(clock=clock)
    stats.follow(dataset)
    clock.t += 5
    dataset.add_annotation(annotation(dataset))
    t, rate = stats.rate_per_hour()
    assert list(t) == [5.0] and rate[0] == pytest.approx(60.0)  # 1 in (at least) a minute, not 720/h


def test_predicted_iou_histogram_of_accepted_masks(dataset):
    stats = SessionStats(clock=Clock(), iou_bins=10)
    stats.follow(dataset)
    for iou in (0.95, 0.97, 0.91, 0.42, 0.0, 1.03, -0.1, None):  # SAM's guesses can leave [0, 1]
        dataset.add_annotation(annotation(dataset, iou))
    dataset.add_annotation(annotation(dataset, 0.55, source="import"))  # not made here
    dataset.add_annotation(annotation(dataset, 0.65, source="auto"))  # still to review
    edges, counts = stats.iou_histogram()
    assert edges.shape == (11,) and edges[0] == 0.0 and edges[-1] == 1.0 and counts.dtype == np.int64
    assert counts.tolist() == [2, 0, 0, 0, 1, 0, 0, 0, 0, 4]
    assert stats.accepted == 8  # the one without a predicted IoU (a brush's) counts, but not in the histogram


def test_undo_takes_an_accept_back_and_review_counts_automatic_masks(dataset):
    clock = Clock()
    stats = SessionStats(clock=clock, iou_bins=4)
    stats.follow(dataset)
    history = History()
    changes = []
    stats.events.changed.connect(lambda e: changes.append(e.value))
    made = annotation(dataset, 0.8)
    history.push(AddAnnotations(dataset, [made]))
    assert stats.accepted == 1 and changes == ["annotations"]
    history.undo()
    assert stats.accepted == 0 and stats.iou_histogram()[1].sum() == 0
    history.redo()
    history.redo()  # nothing left to redo: still one
    assert stats.accepted == 1 and stats.iou_histogram()[1].tolist() == [0, 0, 0, 1]

    autos = [dataset.add_annotation(annotation(dataset, 0.3, source="auto")) for _ in range(3)]
    assert stats.accepted == 1  # segment everything's masks wait for review
    history.push(SetReviewed(dataset, [a.id for a in autos[:2]]))
    assert stats.accepted == 3 and stats.iou_histogram()[1].tolist() == [0, 2, 0, 1]
    history.undo()
    assert stats.accepted == 1
    history.push(RemoveAnnotations(dataset, [made.id]))  # deleting it takes it back too
    assert stats.accepted == 0


def test_click_to_mask_latency_over_time():
    clock = Clock()
    stats = SessionStats(clock=clock)
    assert stats.latency_percentiles() is None and stats.latency()[0].size == 0
    for ms in [120.0, 140.0, 900.0, 130.0]:
        clock.t += 10
        stats.record_click(ms)
    t, ms = stats.latency()
    assert t.tolist() == [10.0, 20.0, 30.0, 40.0] and ms.tolist() == [120.0, 140.0, 900.0, 130.0]
    p50, p95 = stats.latency_percentiles()
    assert p50 == pytest.approx(135.0) and 130 < p95 < 900


def test_memory_stays_bounded_over_a_long_session(dataset):
    clock = Clock()
    stats = SessionStats(clock=clock, max_minutes=120, max_clicks=64, max_tracked=50)
    stats.follow(dataset)
    for i in range(1000):  # one click every 30 s, an accept every 2 minutes: over 8 hours
        clock.t += 30
        stats.record_click(100.0 + i)
        if i % 4 == 0:
            dataset.add_annotation(annotation(dataset))
    t, ms = stats.latency()
    assert len(t) <= 64 and t[0] == 30.0 and t[-1] == 30.0 * 1000  # the whole session, thinned
    assert np.all(np.diff(t) > 0) and ms[-1] == 1099.0
    assert np.all(np.diff(t)[-20:] == 30.0)  # the recent part in full detail
    rt, rate = stats.rate_per_hour()
    assert len(rt) == 120 and rate[-1] == pytest.approx(30.0)  # the last two hours' buckets
    assert stats.accepted == 60 and len(stats._tracked) == 50  # kept: minutes 380-499, one every other


def test_it_follows_the_labelling_state_to_another_folder(tmp_path, dataset):
    clock = Clock()
    state = LabelingState()
    stats = SessionStats(state, clock=clock)
    first = Project(tmp_path / "one", dataset)
    state.set_project(first)
    made = annotation(dataset)
    dataset.add_annotation(made)
    second = Project(tmp_path / "two")
    state.set_project(second)
    dataset.remove_annotation(made.id)  # the old folder's document is no longer followed
    assert stats.accepted == 1
    second.add_image(tmp_path / "two" / "b.png", 8, 6)
    assert stats.accepted == 1
