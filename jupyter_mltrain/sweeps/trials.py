"""The trials of a sweep as rows: from ``trials.jsonl`` (trial → run) and each run's record and metrics."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from jupyter_mltrain.engine.store import RunFolder, Store


def submitted(folder: Path) -> list[dict[str, Any]]:
    """What ``trials.jsonl`` says: one entry per trial started, in order."""
    path = folder / "trials.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def metric_values(
    store: Store, run_id: str, metric: str, since: tuple[int, list[tuple[int, float]]] = (0, [])
) -> tuple[int, list[tuple[int, float]]]:
    """(offset read to, [(step, value), ...]) of ``metric`` as rank 0 logged it, in order, going on from
    ``since`` (an earlier answer); a value without a step counts as the next step."""
    folder = RunFolder(store.run_dir(run_id))
    offset, values = since[0], list(since[1])
    while True:
        records, nxt = folder.read_metrics(0, offset)
        for rec in records:
            if rec.get("name") == metric and isinstance(rec.get("value"), (int, float)):
                step = rec.get("step")
                values.append((int(step) if isinstance(step, int) else len(values), float(rec["value"])))
        if nxt == offset or not records:
            return offset, values
        offset = nxt


def trial_rows(folder: Path, store: Store, metric: str) -> list[dict[str, Any]]:
    """Every trial: number, run, params, status (Pruned for pruned ones), value, steps and duration."""
    rows = []
    for entry in submitted(folder):
        try:
            record = store.get(entry["run"])
        except Exception:  # a run folder removed by hand: the trial is shown as Lost
            rows.append({**entry, "status": "Lost", "value": None, "step": None, "duration": None})
            continue
        _, values = metric_values(store, entry["run"], metric)
        ended = record.ended or None
        rows.append(
            {
                "trial": entry["trial"],
                "run": entry["run"],
                "params": entry["params"],
                "status": str(record.status),
                "value": values[-1][1] if values else None,
                "step": values[-1][0] if values else None,
                "duration": (ended - record.created) if ended else None,
            }
        )
    return rows
