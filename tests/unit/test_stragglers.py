"""The straggler tracker, fed step timestamps: who is flagged, since when, until when."""

from __future__ import annotations

from jupyter_mltrain.engine.supervisor.stragglers import (
    STRAGGLER_RATIO,
    STRAGGLER_S,
    StragglerTracker,
    straggler_seconds,
)

HOSTS = {0: "node-a", 1: "node-b", 2: "node-a"}


def feed(tracker: StragglerTracker, rank: int, step: int, t: float) -> None:
    tracker.observe(rank, [{"name": "loss", "value": 1.0, "step": step, "time": t}])


def run(tracker: StragglerTracker, seconds: float, pace: dict[int, float], start: float = 0.0) -> float:
    """Every rank steps at its own pace (seconds per step); the tracker checks once a second."""
    steps = {r: int(start / p) for r, p in pace.items()}
    t = start
    while t < start + seconds:
        t += 0.1
        for rank, p in pace.items():
            while (steps[rank] + 1) * p <= t:
                steps[rank] += 1
                feed(tracker, rank, steps[rank], steps[rank] * p)
        if abs(t - round(t)) < 1e-6:
            tracker.check(round(t), HOSTS)
    return t


def test_a_rank_twice_as_slow_is_flagged_after_the_window_and_closed_when_it_recovers() -> None:
    tracker = StragglerTracker(seconds=30)
    t = run(tracker, 29, {0: 0.2, 1: 0.4, 2: 0.2})
    assert tracker.entries == []  # slow, but not yet for 30 s
    t = run(tracker, 10, {0: 0.2, 1: 0.4, 2: 0.2}, start=t)
    assert len(tracker.entries) == 1
    entry = tracker.entries[0]
    assert entry["rank"] == 1 and entry["host"] == "node-b" and entry["until"] is None
    assert 1.8 <= entry["ratio"] <= 2.2 and entry["since"] <= 5
    # rank 1 catches up: its recent window fills with normal steps, and the entry is closed, not removed
    steps = {r: round(t / p) for r, p in {0: 0.2, 1: 0.4, 2: 0.2}.items()}
    for i in range(1, 60):
        now = t + i * 0.2
        for rank in (0, 1, 2):
            feed(tracker, rank, steps[rank] + i, now)
        if i % 5 == 0:
            tracker.check(now, HOSTS)
    assert len(tracker.entries) == 1 and entry["until"] is not None and entry["until"] > entry["since"] + 30
    assert 1.8 <= entry["ratio"] <= 2.2  # the ratio while it lasted


def test_equal_ranks_and_mild_slowness_are_never_flagged() -> None:
    tracker = StragglerTracker(seconds=5)
    run(tracker, 40, {0: 0.2, 1: 0.2 * (STRAGGLER_RATIO - 0.1), 2: 0.2})
    assert tracker.entries == []


def test_a_rank_that_ended_is_not_flagged_and_a_restart_starts_its_steps_over() -> None:
    tracker = StragglerTracker(seconds=2)
    run(tracker, 10, {0: 0.2, 1: 0.5})
    assert [e["rank"] for e in tracker.entries] == [1]
    assert tracker.check(100.0, HOSTS, live={0}) and tracker.entries[0]["until"] == 100.0
    feed(tracker, 1, 0, 200.0)  # a restarted attempt logs step 0 again: no step time from the old attempt's
    assert len(tracker.ranks[1].step_times) == 0


def test_the_window_comes_from_the_environment() -> None:
    assert STRAGGLER_S == 30.0 and straggler_seconds({}) == 30.0
    assert straggler_seconds({"MLTRAIN_STRAGGLER_S": "4"}) == 4.0
    assert straggler_seconds({"MLTRAIN_STRAGGLER_S": "x"}) == 30.0
