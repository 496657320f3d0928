"""Long jobs, without Qt: start, progress, end, cancel, and an ETA that does not jump."""
from __future__ import annotations

from app.model.progress import EtaEstimator, Jobs


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_the_eta_is_a_moving_average_over_the_recent_steps():
    clock = Clock()
    eta = EtaEstimator(window=10, clock=clock)
    assert eta.eta(100) == -1.0
    for done in range(11):  # 2 s per image
        eta.add(done)
        clock.now += 2.0
    assert eta.eta(100) == 90 * 2.0
    clock.now += 30.0  # one image waited 30 s behind the user's own encode
    eta.add(11)
    before = eta.eta(100)
    assert 89 * 2.0 < before < 89 * 2.0 * 3, before  # moved, but not eightfold (1:51 -> 14:41 was the bug)
    for done in range(12, 22):  # back to 2 s per image: the pause leaves the window
        clock.now += 2.0
        eta.add(done)
    assert eta.eta(100) == 79 * 2.0
    eta.add(0)  # started again
    assert eta.eta(100) == -1.0


def test_jobs_start_move_on_end_and_cancel():
    clock, jobs, seen, cancelled = Clock(), None, [], []
    jobs = Jobs(clock=clock)
    for name in ("started", "progressed", "ended"):
        jobs.events[name].connect(lambda e, n=name: seen.append((n, e.value.id, e.value.done, e.value.total)))
    feed = jobs.feeder("segment", "Segment everything", lambda: cancelled.append(True))
    feed("Segment everything: image 1/2", 0, 200)
    clock.now = 10.0
    feed("Segment everything: image 1/2", 50, 200)
    job = jobs.running["segment"]
    assert job.cancellable and job.fraction == 0.25 and job.eta == 30.0 and job.title == "Segment everything"
    assert jobs.cancel("segment") and cancelled == [True]
    assert "segment" in jobs.running  # a cancel only asks: the job's own signal ends it
    feed("", 0, 0)
    assert seen == [("started", "segment", 0, 200), ("progressed", "segment", 50, 200), ("ended", "segment", 200, 200)]
    assert not jobs.running and not jobs.cancel("segment") and jobs.end("segment") is None


def test_a_job_of_unknown_length_and_one_with_its_own_eta():
    jobs = Jobs(clock=Clock())
    busy = jobs.report("export", "Export", "Exporting…", 0, -1)
    assert busy.fraction is None and not busy.cancellable and busy.eta == -1.0
    own = jobs.report("precompute", "Precompute folder", "Precomputing 3/9", 3, 9, eta=42.0)
    assert own.eta == 42.0
    assert jobs.end("export", "Exported").text == "Exported"
