"""A run as plain text and HTML: what a viewer without widgets (nbconvert, GitHub) shows."""

from __future__ import annotations

import html
import time
from typing import Any

from jupyter_mltrain.engine.store import RunRecord, format_duration


def _value(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def summary_text(record: RunRecord) -> str:
    """A few lines: name, status, duration, metrics, root cause."""
    lines = [
        f"run {record.name} ({record.id}) — {record.status}, {record.target}, mode {record.mode}, "
        f"{record.ranks} rank(s), {format_duration(record.duration)}"
    ]
    for name, summary in sorted(record.metrics.items()):
        lines.append(
            f"  {name}: last {_value(summary.get('last'))}  min {_value(summary.get('min'))}  "
            f"max {_value(summary.get('max'))}  ({summary.get('count')} values)"
        )
    if record.root_cause:
        lines.append(f"  cause: {record.root_cause.message}")
    return "\n".join(lines)


def summary_html(record: RunRecord) -> str:
    """The same as a small HTML table (escaped)."""
    esc = html.escape
    colour = {"Completed": "#2e7d32", "Failed": "#c62828", "Lost": "#c62828", "Canceled": "#6d6d6d"}.get(
        record.status, "#1565c0"
    )
    started = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(record.created))
    rows = "".join(
        f"<tr><td>{esc(name)}</td><td>{esc(_value(s.get('last')))}</td><td>{esc(_value(s.get('min')))}</td>"
        f"<td>{esc(_value(s.get('max')))}</td><td>{esc(str(s.get('count')))}</td></tr>"
        for name, s in sorted(record.metrics.items())
    )
    parts = [
        f"<div class='mltrain-summary'><b>{esc(record.name)}</b> <code>{esc(record.id)}</code> "
        f"<span style='color:{colour};font-weight:bold'>{esc(record.status)}</span> · {esc(record.target)} · "
        f"mode {esc(record.mode)} · {record.ranks} rank(s) · started {esc(started)} · "
        f"{esc(format_duration(record.duration))}",
    ]
    if rows:
        parts.append(
            f"<table><tr><th>metric</th><th>last</th><th>min</th><th>max</th><th>values</th></tr>{rows}</table>"
        )
    if record.root_cause:
        parts.append(
            f"<pre style='color:#c62828'>{esc(record.root_cause.message)}"
            + (f"\n{esc(record.root_cause.traceback)}" if record.root_cause.traceback else "")
            + "</pre>"
        )
    parts.append("</div>")
    return "".join(parts)


def runs_table_html(records: list[RunRecord]) -> str:
    """``%train_runs``: one row per run."""
    esc = html.escape
    rows = []
    for r in records:
        metrics = ", ".join(f"{k}={_value(v.get('last'))}" for k, v in sorted(r.metrics.items())[:4])
        rows.append(
            f"<tr><td><code>{esc(r.id)}</code></td><td>{esc(r.experiment)}</td><td>{esc(r.name)}</td>"
            f"<td>{esc(r.status)}</td><td>{esc(r.target)}</td><td>{esc(r.mode)}</td><td>{r.ranks}</td>"
            f"<td>{esc(time.strftime('%m-%d %H:%M:%S', time.localtime(r.created)))}</td>"
            f"<td>{esc(format_duration(r.duration))}</td><td>{esc(metrics)}</td></tr>"
        )
    head = "".join(
        f"<th>{h}</th>"
        for h in (
            "id",
            "experiment",
            "name",
            "status",
            "target",
            "mode",
            "ranks",
            "started",
            "duration",
            "last metrics",
        )
    )
    return f"<table class='mltrain-runs'><tr>{head}</tr>{''.join(rows)}</table>"


def runs_table_text(records: list[RunRecord]) -> str:
    """``%train_runs`` as text."""
    out = []
    for r in records:
        metrics = ", ".join(f"{k}={_value(v.get('last'))}" for k, v in sorted(r.metrics.items())[:4])
        out.append(
            f"{r.id}  {r.experiment:12.12}  {r.name:24.24}  {r.status:10}  {r.target:8.8}  {r.mode:7}  "
            f"{r.ranks:>3}  {format_duration(r.duration):>8}  {metrics}"
        )
    return "\n".join(out) or "no runs"
