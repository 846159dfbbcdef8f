"""Reads a run folder incrementally and turns what is new into widget deltas.

``RunFeed.poll()`` reads every rank's log and metrics from the offsets it reached last
time (through ``RunFolder``, the one reader) and returns a ``Delta``: the new complete log
lines (``\\r``-collapsed as a terminal shows them), each rank's current partial line (a
live progress bar), new metric points and the latest progress. ``history()`` is the
whole buffered state, for a new view or the notebook's saved widget state.

However fast ranks print, one poll reads a bounded number of bytes: a rank that has
written more than the widget can show since the last poll is skipped ahead to its tail
and the skipped lines are counted (the full log stays on disk and is linked). Metrics are
read as the panel's stream reads them: a metric with more values in one poll than a chart
shows is sampled (spread evenly, and its last; counted), while rarer metrics and progress keep
every value; only a backlog too large to scan in one poll is skipped to its tail.

A metric logged with ``step=`` is drawn by step, but each of its points also carries its time
(``times``: seconds since the run's ``created``, to the millisecond, one per point), so the charts
can put it on a wall-clock or relative time axis too.
"""

from __future__ import annotations

import codecs
import os
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from jupyter_mltrain.engine.store import RunFolder

KEEP_LINES = 5000  # per rank, in the kernel
HISTORY_LINES = 2000  # per rank, in the synced snapshot (saved with the notebook)
# While the snapshot holds at most this many lines and points (a few tens of kB), it is sent
# again with every delta: a view that missed deltas then catches up at once, without asking.
LIVE_HISTORY_ITEMS = 1000
DELTA_LINES = 1000  # per rank per delta
KEEP_POINTS = 5000  # per metric per rank
DELTA_POINTS = 2000  # per metric per rank per delta
LOG_POLL_BYTES = 1 << 20
LOG_SKIP_BYTES = 4 << 20
# A poll scans at most this much per rank (tens of ms: the kernel's loop stays free) ...
METRIC_POLL_BYTES = 4 << 20
# ... and a backlog beyond this is skipped to its tail (counted), as a flood of log lines is.
METRIC_SKIP_BYTES = 64 << 20


def collapse(line: str) -> str:
    """A line as a terminal shows it after its carriage returns: the last non-empty redraw."""
    if "\r" not in line:
        return line
    for part in reversed(line.split("\r")):
        if part:
            return part
    return ""


@dataclass
class Delta:
    """What changed since the previous poll."""

    logs: dict[str, list[str]] = field(default_factory=dict)
    partial: dict[str, str] = field(default_factory=dict)
    points: dict[str, dict[str, list[list[Any]]]] = field(default_factory=dict)  # [xs, ys] or [xs, ys, attempts]
    x_kind: dict[str, str] = field(default_factory=dict)
    times: dict[str, dict[str, list[float]]] = field(default_factory=dict)  # step metrics: each point's time
    skipped: dict[str, int] = field(default_factory=dict)
    progress: dict[str, Any] | None = None

    def __bool__(self) -> bool:
        return bool(self.logs or self.partial or self.points or self.skipped or self.progress)

    def message(self, seq: int) -> dict[str, Any]:
        """The custom message the widget sends for this delta."""
        return {
            "type": "delta",
            "seq": seq,
            "logs": self.logs,
            "partial": self.partial,
            "points": self.points,
            "x_kind": self.x_kind,
            "times": self.times,
            "skipped": self.skipped,
        }


class _RankLog:
    def __init__(self) -> None:
        self.offset = 0
        self.lines: deque[str] = deque(maxlen=KEEP_LINES)
        self.partial = ""
        self.shown_partial = ""
        self.skipped = 0
        self.lines_read = 0
        self.decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")


class _Series:
    def __init__(self) -> None:
        self.x: list[float] = []
        self.y: list[float] = []
        self.a: list[int] | None = None  # each point's attempt, once a restarted attempt logged one
        self.t: list[float] | None = None  # each point's time since created (a metric logged by step)

    def add(self, x: float, y: float, attempt: int = 1, t: float | None = None) -> None:
        if attempt > 1 and self.a is None:
            self.a = [1] * len(self.x)
        if t is not None and self.t is None and not self.x:
            self.t = []
        self.x.append(x)
        self.y.append(y)
        if self.a is not None:
            self.a.append(attempt)
        if self.t is not None:
            self.t.append(0.0 if t is None else t)
        if len(self.x) > KEEP_POINTS:
            half = len(self.x) // 2  # thin the older half: keep every second point
            self.x = self.x[:half:2] + self.x[half:]
            self.y = self.y[:half:2] + self.y[half:]
            if self.a is not None:
                self.a = self.a[:half:2] + self.a[half:]
            if self.t is not None:
                self.t = self.t[:half:2] + self.t[half:]

    def snapshot(self) -> list[list[Any]]:
        """``[xs, ys]``, or ``[xs, ys, attempts]`` after a restart (copies: the snapshot must not change)."""
        return [self.x[:], self.y[:]] + ([self.a[:]] if self.a is not None else [])


def _count_lines(path: str, start: int, end: int) -> int:
    count = 0
    with open(path, "rb") as fh:
        fh.seek(start)
        left = end - start
        while left > 0:
            chunk = fh.read(min(left, 1 << 20))
            if not chunk:
                break
            count += chunk.count(b"\n")
            left -= len(chunk)
    return count


def _skip_to_tail(path: str, offset: int, size: int, keep: int) -> tuple[int, int]:
    """Where to resume so that about ``keep`` bytes are left (a line start), and how many lines lie before it."""
    start = size - keep
    with open(path, "rb") as fh:
        fh.seek(start)
        newline = fh.read(1 << 16).find(b"\n")
    resume = start + newline + 1 if newline >= 0 else start
    return resume, _count_lines(path, offset, resume)


class RunFeed:
    """Incremental reader of one run's logs and metrics, for the live widget."""

    def __init__(self, folder: RunFolder, ranks: int, created: float) -> None:
        self.folder = folder
        self.ranks = ranks
        self.created = created
        self.logs = {r: _RankLog() for r in range(ranks)}
        self.metric_offsets = {r: 0 for r in range(ranks)}
        self.series: dict[str, dict[int, _Series]] = {}
        self.x_kind: dict[str, str] = {}
        self.last: dict[str, dict[str, Any]] = {}
        self.progress: dict[str, Any] = {}
        self.points_read = 0
        self.metrics_thinned = 0  # values of flooding metrics left out by sampling
        self.metrics_skipped = 0  # metric lines not read at all: a backlog beyond one poll's reach

    def poll(self) -> Delta:
        """Read what is new in every rank's log and metrics."""
        delta = Delta()
        for rank in range(self.ranks):
            self._poll_log(rank, delta)
            self._poll_metrics(rank, delta)
        return delta

    def pending(self) -> bool:
        """Whether any rank's files hold more than has been read."""
        for rank in range(self.ranks):
            for path, offset in (
                (self.folder.log_path(rank), self.logs[rank].offset),
                (self.folder.metrics_path(rank), self.metric_offsets[rank]),
            ):
                try:
                    if os.stat(path).st_size > offset:
                        return True
                except FileNotFoundError:
                    continue
        return False

    def _poll_log(self, rank: int, delta: Delta) -> None:
        state = self.logs[rank]
        path = self.folder.log_path(rank)
        try:
            size = os.stat(path).st_size
        except FileNotFoundError:
            return
        key = str(rank)
        if size - state.offset > LOG_SKIP_BYTES:
            resume, skipped = _skip_to_tail(str(path), state.offset, size, LOG_POLL_BYTES)
            state.offset = resume
            state.skipped += skipped
            state.lines_read += skipped
            state.partial = ""
            state.decoder.reset()
            delta.skipped[key] = delta.skipped.get(key, 0) + skipped
        new_lines: list[str] = []
        while True:
            data, nxt = self.folder.read_log(rank, state.offset, LOG_POLL_BYTES)
            if not data:
                break
            state.offset = nxt
            text = state.partial + state.decoder.decode(data)
            pieces = text.split("\n")
            state.partial = pieces.pop()
            new_lines.extend(collapse(p) for p in pieces)
            if len(data) < LOG_POLL_BYTES:
                break
        if new_lines:
            state.lines_read += len(new_lines)
            state.lines.extend(new_lines)
            if len(new_lines) > DELTA_LINES:
                dropped = len(new_lines) - DELTA_LINES
                state.skipped += dropped
                delta.skipped[key] = delta.skipped.get(key, 0) + dropped
                new_lines = new_lines[-DELTA_LINES:]
            delta.logs[key] = new_lines
        shown = collapse(state.partial)
        if new_lines or shown != state.shown_partial:
            delta.partial[key] = shown
            state.shown_partial = shown

    def _poll_metrics(self, rank: int, delta: Delta) -> None:
        path = self.folder.metrics_path(rank)
        try:
            size = os.stat(path).st_size
        except FileNotFoundError:
            return
        offset = self.metric_offsets[rank]
        if size - offset > METRIC_SKIP_BYTES:
            offset, skipped = _skip_to_tail(str(path), offset, size, METRIC_POLL_BYTES)
            self.metrics_skipped += skipped
        records, self.metric_offsets[rank], thinned = self.folder.read_metric_sample(
            rank, offset, METRIC_POLL_BYTES, DELTA_POINTS - 1
        )
        self.metrics_thinned += thinned
        key = str(rank)
        for rec in records:
            if rec.get("event") == "progress":
                if rank == 0 or not self.progress or self.progress.get("rank") != 0:
                    self.progress = {
                        "step": rec.get("step"),
                        "total": rec.get("total"),
                        "rank": rank,
                        "time": rec.get("time"),
                    }
                    delta.progress = self.progress
                continue
            name = rec.get("name")
            if not isinstance(name, str):
                continue
            value = rec.get("value")
            self.last.setdefault(name, {})[key] = value
            self.points_read += 1
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                continue
            step = rec.get("step")
            kind = self.x_kind.setdefault(name, "step" if step is not None else "time")
            t = round(float(rec.get("time") or self.created) - self.created, 3)
            x = float(step) if kind == "step" and step is not None else t
            attempt = int(rec.get("attempt") or 1)
            timed = kind == "step"  # a step metric's points carry their times (time axes)
            self.series.setdefault(name, {}).setdefault(rank, _Series()).add(
                x, float(value), attempt, t if timed else None
            )
            if timed:
                delta.times.setdefault(name, {}).setdefault(key, []).append(t)
            points = delta.points.setdefault(name, {}).setdefault(key, [[], []])
            if attempt > 1 and len(points) == 2:
                points.append([1] * len(points[0]))  # [xs, ys, attempts]: the widget draws attempts apart
            points[0].append(x)
            points[1].append(float(value))
            if len(points) == 3:
                points[2].append(attempt)
            delta.x_kind[name] = kind
        for name, per_rank in delta.points.items():  # a flooding metric the sample's probes missed
            for r, xy in per_rank.items():
                if len(xy[0]) > DELTA_POINTS:
                    step = len(xy[0]) // DELTA_POINTS + 1
                    xy[:] = [column[::step] for column in xy]
                    times = delta.times.get(name, {}).get(r)
                    if times is not None:
                        times[:] = times[::step]

    def lines_read(self, rank: int) -> int:
        """How many complete lines of ``rank``'s log this feed has read (shown or skipped)."""
        return self.logs[rank].lines_read

    def history_items(self) -> int:
        """How many lines and points ``history()`` holds."""
        lines = sum(min(len(s.lines), HISTORY_LINES) for s in self.logs.values())
        return lines + sum(len(s.x) for per in self.series.values() for s in per.values())

    def history(self, seq: int) -> dict[str, Any]:
        """Everything buffered, as the ``history`` trait (as of delta number ``seq``)."""
        return {
            "seq": seq,
            "logs": {str(r): list(s.lines)[-HISTORY_LINES:] for r, s in self.logs.items()},
            "partial": {str(r): collapse(s.partial) for r, s in self.logs.items() if s.partial},
            # copies: the snapshot must not change as the series grow
            "series": {m: {str(r): s.snapshot() for r, s in per.items()} for m, per in self.series.items()},
            "x_kind": dict(self.x_kind),
            # a step metric's points' times (seconds since created), parallel to its series' points
            "times": {
                m: {str(r): s.t[:] for r, s in per.items() if s.t is not None}
                for m, per in self.series.items()
                if any(s.t is not None for s in per.values())
            },
            # every complete line read but not in the snapshot (skipped ahead, or older than its last lines)
            "skipped": {
                str(r): s.lines_read - min(len(s.lines), HISTORY_LINES)
                for r, s in self.logs.items()
                if s.lines_read > min(len(s.lines), HISTORY_LINES)
            },
        }
