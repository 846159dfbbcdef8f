"""The widget's feed sends each point's time with a metric logged by step, so its charts have time axes."""

from __future__ import annotations

import json
from pathlib import Path

from jupyter_mltrain.engine.store import RunFolder
from jupyter_mltrain.widget.feed import DELTA_POINTS, RunFeed


def folder(tmp_path: Path) -> RunFolder:
    (tmp_path / "logs").mkdir()
    (tmp_path / "metrics").mkdir()
    return RunFolder(tmp_path)


def write(run: RunFolder, rank: int, records: list[dict[str, object]]) -> None:
    with open(run.metrics_path(rank), "a") as fh:
        fh.write("".join(json.dumps(r) + "\n" for r in records))


def test_a_step_metric_carries_each_points_time_since_created_in_deltas_and_history(tmp_path: Path) -> None:
    run = folder(tmp_path)
    feed = RunFeed(run, ranks=2, created=1000.0)
    for rank in (0, 1):
        write(run, rank, [{"name": "loss", "value": 1.0, "step": s, "time": 1000.25 + s + rank} for s in range(3)])
        write(run, rank, [{"name": "lr", "value": 0.1, "step": None, "time": 1001.5}])
    delta = feed.poll()
    assert delta.points["loss"]["1"][0] == [0.0, 1.0, 2.0]  # still drawn by step
    assert delta.times == {"loss": {"0": [0.25, 1.25, 2.25], "1": [1.25, 2.25, 3.25]}}
    assert "lr" not in delta.times  # a metric logged by time has its time as x already
    assert delta.message(1)["times"] == delta.times
    write(run, 0, [{"name": "loss", "value": 0.5, "step": 3, "time": 1010.0}])
    assert feed.poll().times == {"loss": {"0": [10.0]}}  # only the new points' times
    history = feed.history(seq=2)
    assert history["times"]["loss"]["0"] == [0.25, 1.25, 2.25, 10.0]
    assert len(history["times"]["loss"]["0"]) == len(history["series"]["loss"]["0"][0])
    assert set(history["times"]) == {"loss"}


def test_a_flood_keeps_times_parallel_to_its_points_and_the_delta_bounded(tmp_path: Path) -> None:
    run = folder(tmp_path)
    feed = RunFeed(run, ranks=1, created=0.0)
    write(run, 0, [{"name": "loss", "value": i * 1.0, "step": i, "time": i / 1000} for i in range(50_000)])
    xs: list[float] = []
    times: list[float] = []
    while feed.pending():
        delta = feed.poll()
        points = delta.points.get("loss", {}).get("0")
        if points is None:
            continue
        assert len(points[0]) <= DELTA_POINTS and len(delta.times["loss"]["0"]) == len(points[0])
        xs += points[0]
        times += delta.times["loss"]["0"]
    assert xs and times == [round(x / 1000, 3) for x in xs]  # each time belongs to its own point
    history = feed.history(seq=1)
    kept = history["series"]["loss"]["0"][0]
    assert history["times"]["loss"]["0"] == [round(x / 1000, 3) for x in kept]
