"""The trials of a sweep as rows: from ``trials.jsonl`` (trial → run) and each run's record and metrics; and
what the faces draw beside them: the trials' curves of the primary metric (``CurveReader``), the space
(``described``) and which run is a sweep's driver or trial (``memberships``)."""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from jupyter_mltrain.engine.store import RunFolder, Store


def submitted(folder: Path) -> list[dict[str, Any]]:
    """What ``trials.jsonl`` says: one entry per trial started, in order."""
    path = folder / "trials.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _scan(folder: RunFolder, metric: str, offset: int, count: int) -> tuple[int, list[tuple[int, float]]]:
    """(offset read to, the new [(step, value), ...]) of ``metric`` in rank 0's file from ``offset``, where
    ``count`` values came before (a value without a step counts as the next step)."""
    values: list[tuple[int, float]] = []
    while True:
        records, nxt = folder.read_metrics(0, offset)
        for rec in records:
            if rec.get("name") == metric and isinstance(rec.get("value"), (int, float)):
                step = rec.get("step")
                values.append((int(step) if isinstance(step, int) else count + len(values), float(rec["value"])))
        if nxt == offset or not records:
            return offset, values
        offset = nxt


def metric_values(
    store: Store, run_id: str, metric: str, since: tuple[int, list[tuple[int, float]]] = (0, [])
) -> tuple[int, list[tuple[int, float]]]:
    """(offset read to, [(step, value), ...]) of ``metric`` as rank 0 logged it, in order, going on from
    ``since`` (an earlier answer); a value without a step counts as the next step."""
    offset, values = _scan(RunFolder(store.run_dir(run_id)), metric, since[0], len(since[1]))
    return offset, [*since[1], *values]


# The last value of a trial's metric, per (run folder, metric), read on from where the last look stopped: a
# sweep's record is read every second by its widget and the panel, and the files only grow.
_LAST: OrderedDict[tuple[str, str], tuple[int, int, tuple[int, float] | None]] = OrderedDict()
_LAST_KEPT = 2048
_LAST_LOCK = threading.Lock()


def last_value(store: Store, run_id: str, metric: str) -> tuple[int, float] | None:
    """(step, value) of the last ``metric`` rank 0 logged, or None."""
    key = (str(store.run_dir(run_id)), metric)
    with _LAST_LOCK:
        offset, count, last = _LAST.pop(key, (0, 0, None))
    offset, new = _scan(RunFolder(store.run_dir(run_id)), metric, offset, count)
    if new:
        count, last = count + len(new), new[-1]
    with _LAST_LOCK:
        _LAST[key] = (offset, count, last)
        while len(_LAST) > _LAST_KEPT:
            _LAST.popitem(last=False)
    return last


def trial_rows(
    folder: Path, store: Store, metric: str, last: Callable[[str], tuple[int, float] | None] | None = None
) -> list[dict[str, Any]]:
    """Every trial: number, run, params, status (Pruned for pruned ones), value, steps and duration. ``last(run)``
    gives a trial's last (step, value) when the caller has read them already (a ``CurveReader``)."""
    rows = []
    for entry in submitted(folder):
        try:
            record = store.get(entry["run"])
        except Exception:  # a run folder removed by hand: the trial is shown as Lost
            rows.append({**entry, "status": "Lost", "value": None, "step": None, "duration": None})
            continue
        final = last(entry["run"]) if last is not None else last_value(store, entry["run"], metric)
        ended = record.ended or None
        rows.append(
            {
                "trial": entry["trial"],
                "run": entry["run"],
                "params": entry["params"],
                "status": str(record.status),
                "value": final[1] if final else None,
                "step": final[0] if final else None,
                "duration": (ended - record.created) if ended else None,
            }
        )
    return rows


# ---- what the faces draw: the primary metric's curves, the space, which run is whose ---------------------------

MAX_CURVE_POINTS = 500
MAX_CURVES_POINTS = 20000  # all trials together: a sweep of many trials sends fewer points of each


def curve_limit(trials: int) -> int:
    """Points per curve for a sweep of ``trials`` trials: 500, fewer (down to 50) when there are many trials."""
    return min(MAX_CURVE_POINTS, max(50, MAX_CURVES_POINTS // max(1, trials)))


def downsample(points: list[tuple[int, float]], limit: int = MAX_CURVE_POINTS) -> list[list[float]]:
    """``[[steps], [values]]`` of at most ``limit`` points, evenly spread, always with the first and last."""
    if len(points) > limit > 1:
        last = len(points) - 1
        points = [points[round(i * last / (limit - 1))] for i in range(limit)]
    return [[p[0] for p in points], [p[1] for p in points]]


class CurveReader:
    """The primary metric's values of many trial runs, read on from where the last ``read`` stopped."""

    def __init__(self, store: Store, metric: str) -> None:
        self.store, self.metric = store, metric
        self._seen: dict[str, tuple[int, list[tuple[int, float]]]] = {}

    def read(self, run_ids: list[str], limit: int | None = None) -> dict[str, list[list[float]]]:
        """``{run_id: [[steps], [values]]}`` of every run that has values, at most ``limit`` points each (by
        default ``curve_limit`` of their number)."""
        limit = curve_limit(len(run_ids)) if limit is None else limit
        curves = {}
        for run_id in run_ids:
            try:
                self._seen[run_id] = metric_values(self.store, run_id, self.metric, self._seen.get(run_id, (0, [])))
            except OSError:
                continue  # a run folder removed by hand
            values = self._seen[run_id][1]
            if values:
                curves[run_id] = downsample(values, limit)
        return curves

    def last(self, run_id: str) -> tuple[int, float] | None:
        """(step, value) of the last value ``read`` found for ``run_id``, or None."""
        values = self._seen.get(run_id, (0, []))[1]
        return values[-1] if values else None


def described(folder: Path) -> dict[str, Any]:
    """What the faces show beside a sweep's record: its ``name``, ``sampler`` and ``space`` as
    ``{param: {"kind", "args"}}`` (kind: uniform, loguniform, int or choice)."""
    from jupyter_mltrain.sweeps.space import parse_space

    state = json.loads((folder / "sweep.json").read_text())
    space = {name: {"kind": dim.kind, "args": list(dim.args)} for name, dim in parse_space(state["space"]).items()}
    return {"name": state["name"], "sampler": state["sampler"], "space": space}


_MEMBERS: dict[Path, tuple[tuple[float, float], dict[str, dict[str, Any]]]] = {}


def _stamp(path: Path) -> float:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return -1.0


def memberships(home: Path) -> dict[str, dict[str, Any]]:
    """Which runs belong to a sweep: ``{run_id: {"id": SWEEP, "role": "driver" | "trial", "trial": N | None}}``.

    A sweep folder is read again only when its ``sweep.json`` or ``trials.jsonl`` changed."""
    found: dict[str, dict[str, Any]] = {}
    root = home / "sweeps"
    for folder in sorted(root.glob("sweep-*")) if root.is_dir() else []:
        stamp = (_stamp(folder / "sweep.json"), _stamp(folder / "trials.jsonl"))
        cached = _MEMBERS.get(folder)
        if cached is None or cached[0] != stamp:
            members: dict[str, dict[str, Any]] = {}
            try:
                state = json.loads((folder / "sweep.json").read_text())
                for entry in submitted(folder):
                    members[entry["run"]] = {"id": folder.name, "role": "trial", "trial": entry["trial"]}
            except (OSError, ValueError, KeyError):
                continue  # being written: read it next time
            for driver in state.get("drivers", []):
                members[driver] = {"id": folder.name, "role": "driver", "trial": None}
            _MEMBERS[folder] = cached = (stamp, members)
        found.update(cached[1])
    return found
