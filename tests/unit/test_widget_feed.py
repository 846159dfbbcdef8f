"""The widget's feed reads a run folder incrementally: bounded work per poll, nothing miscounted."""

from __future__ import annotations

import json
from pathlib import Path

from jupyter_mltrain.engine.store import RunFolder
from jupyter_mltrain.widget.feed import DELTA_LINES, LOG_POLL_BYTES, RunFeed, collapse


def folder(tmp_path: Path) -> RunFolder:
    (tmp_path / "logs").mkdir()
    (tmp_path / "metrics").mkdir()
    return RunFolder(tmp_path)


def test_collapse_keeps_what_a_terminal_shows() -> None:
    assert collapse("10%\r50%\r100%") == "100%"
    assert collapse("done\r") == "done"
    assert collapse("plain") == "plain"


def test_partial_lines_and_carriage_returns_are_shown_live_then_settle(tmp_path: Path) -> None:
    run = folder(tmp_path)
    feed = RunFeed(run, ranks=1, created=0.0)
    log = run.log_path(0)
    log.write_bytes(b"start\n 10%|#   \r")
    delta = feed.poll()
    assert delta.logs == {"0": ["start"]} and delta.partial == {"0": " 10%|#   "}
    with open(log, "ab") as fh:
        fh.write(b" 90%|####\r")
    delta = feed.poll()
    assert "0" not in delta.logs and delta.partial == {"0": " 90%|####"}
    with open(log, "ab") as fh:
        fh.write("100%|#####\r\né\n".encode())
    delta = feed.poll()
    assert delta.logs == {"0": ["100%|#####", "é"]} and delta.partial == {"0": ""}
    assert feed.lines_read(0) == 3
    assert feed.history(seq=3)["logs"]["0"] == ["start", "100%|#####", "é"]


def test_a_flood_is_skipped_ahead_with_every_line_counted(tmp_path: Path) -> None:
    run = folder(tmp_path)
    feed = RunFeed(run, ranks=1, created=0.0)
    lines = 400_000
    run.log_path(0).write_bytes(b"".join(b"line %07d\n" % i for i in range(lines)))  # 5.2 MB at once
    delta = feed.poll()
    shown = delta.logs["0"]
    assert len(shown) == DELTA_LINES
    assert shown[-1] == "line 0399999"
    assert feed.lines_read(0) == lines
    assert delta.skipped["0"] + len(shown) == lines
    assert len(b"".join(s.encode() for s in shown)) < LOG_POLL_BYTES
    history = feed.history(seq=1)
    assert history["skipped"]["0"] + len(history["logs"]["0"]) == lines  # the snapshot accounts for every line


def test_metrics_become_series_per_rank_progress_and_last_values(tmp_path: Path) -> None:
    run = folder(tmp_path)
    feed = RunFeed(run, ranks=2, created=100.0)
    for rank in (0, 1):
        recs = [{"name": "loss", "value": 1.0 / (s + 1), "step": s, "time": 100.0 + s} for s in range(3)]
        recs += [
            {"name": "lr", "value": 0.1, "step": None, "time": 101.5},
            {"name": "note", "value": "warmup", "step": None, "time": 102},
        ]
        recs += [{"event": "progress", "step": 3, "total": 10, "time": 103}]
        run.metrics_path(rank).write_text("".join(json.dumps(r) + "\n" for r in recs))
    delta = feed.poll()
    assert delta.points["loss"]["1"] == [[0.0, 1.0, 2.0], [1.0, 0.5, 1.0 / 3]]
    assert delta.x_kind == {"loss": "step", "lr": "time"}
    assert delta.points["lr"]["0"] == [[1.5], [0.1]]
    assert "note" not in delta.points and feed.last["note"] == {"0": "warmup", "1": "warmup"}
    assert feed.progress == {"step": 3, "total": 10, "rank": 0, "time": 103}
    assert feed.points_read == 10
    assert not feed.poll()  # nothing new, nothing sent


def test_a_metric_flood_is_sampled_while_a_rare_metric_keeps_every_value(tmp_path: Path) -> None:
    from jupyter_mltrain.hostside.runtime import _encode

    run = folder(tmp_path)
    feed = RunFeed(run, ranks=1, created=0.0)
    items = []
    for i in range(200_000):  # about 13 MB: more than one poll scans
        items.append(("fast", i * 0.5, i, 1.0))
        if i % 997 == 0:
            items.append(("lag", float(i), None, 2.0))
    run.metrics_path(0).write_text("".join(_encode(item) for item in items))
    fast: list[float] = []
    lag: list[float] = []
    for _ in range(10):
        delta = feed.poll()
        fast += delta.points.get("fast", {}).get("0", [[], []])[0]
        lag += delta.points.get("lag", {}).get("0", [[], []])[1]
    assert not feed.pending() and feed.metrics_skipped == 0
    assert lag == [float(i) for i in range(0, 200_000, 997)]  # every marker, none thinned away
    assert 0 < len(fast) < 20_000 and fast[-1] == 199_999.0 and fast == sorted(fast)
    assert feed.points_read + feed.metrics_thinned == len(items)
    assert feed.last["fast"]["0"] == 199_999 * 0.5


def test_points_of_a_restarted_attempt_carry_their_attempt_to_the_widget(tmp_path: Path) -> None:
    run = folder(tmp_path)
    feed = RunFeed(run, ranks=1, created=0.0)
    metrics = run.metrics_path(0)
    metrics.write_text(
        "".join(json.dumps({"name": "loss", "value": 1.0 / (s + 1), "step": s, "time": 1.0}) + "\n" for s in range(3))
    )
    delta = feed.poll()
    assert delta.points["loss"]["0"] == [[0.0, 1.0, 2.0], [1.0, 0.5, 1 / 3]], "no attempts column before a restart"
    with open(metrics, "a") as fh:
        for s in (2, 3):
            fh.write(json.dumps({"name": "loss", "value": 0.1 * s, "step": s, "time": 2.0, "attempt": 2}) + "\n")
    delta = feed.poll()
    assert delta.points["loss"]["0"] == [[2.0, 3.0], [0.2, 0.30000000000000004], [2, 2]]
    xs, ys, attempts = feed.history(seq=2)["series"]["loss"]["0"]
    assert xs == [0.0, 1.0, 2.0, 2.0, 3.0] and attempts == [1, 1, 1, 2, 2]
