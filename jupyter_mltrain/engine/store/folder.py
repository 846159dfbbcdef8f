"""Reads one run's folder: spec, logs and metrics, from any byte offset; samples metric floods."""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, cast


class RunFolder:
    """Reads one run's folder: spec, logs and metrics, from any byte offset."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    def resolve(self, rel: str) -> Path:
        """The path of ``rel`` inside the run folder; refuses anything that would leave it."""
        from jupyter_mltrain.hostside.errors import MLTrainError

        if not rel or "\0" in rel or rel.startswith(("/", "\\")) or ".." in Path(rel).parts:
            raise MLTrainError(f"path {rel!r} is not inside the run folder")
        root = self.path.resolve()
        path = (root / rel).resolve()
        if path != root and root not in path.parents:
            raise MLTrainError(f"path {rel!r} leads outside the run folder")
        if not path.exists():
            raise MLTrainError(f"no file {rel!r} in run {self.path.name}")
        return path

    def spec_dict(self) -> dict[str, Any]:
        """The run's spec as stored."""
        return cast(dict[str, Any], json.loads((self.path / "spec.json").read_text()))

    def log_path(self, rank: int) -> Path:
        """Path of rank ``rank``'s log."""
        return self.path / "logs" / f"rank-{rank}.log"

    def metrics_path(self, rank: int) -> Path:
        """Path of rank ``rank``'s metrics."""
        return self.path / "metrics" / f"rank-{rank}.jsonl"

    def ranks_with_logs(self) -> list[int]:
        """Ranks that have a log file, in order."""
        return sorted(int(p.stem.split("-")[1]) for p in (self.path / "logs").glob("rank-*.log"))

    def read_log(self, rank: int, offset: int = 0, max_bytes: int = 8 * 1024 * 1024) -> tuple[bytes, int]:
        """Bytes of the log from ``offset``, up to a line end (or a ``\\r`` of a progress bar);
        and the offset to read from next."""
        return _read_lines(self.log_path(rank), offset, max_bytes, carriage_return=True)

    def read_metrics(
        self, rank: int, offset: int = 0, max_bytes: int = 8 * 1024 * 1024
    ) -> tuple[list[dict[str, Any]], int]:
        """Metric records of ``rank`` from byte ``offset``; and the offset to read from next."""
        data, nxt = _read_lines(self.metrics_path(rank), offset, max_bytes)
        return parse_metric_lines(data), nxt

    def read_metric_sample(
        self, rank: int, offset: int, max_bytes: int, per_name: int
    ) -> tuple[list[dict[str, Any]], int, int]:
        """Like ``read_metrics``, but a metric with more than ``per_name`` records in what was read
        keeps only ``per_name`` of them, spread evenly, and its last (``sample_metric_lines``); and
        how many records were left out. For displays that cannot draw a flood point by point."""
        data, nxt = _read_lines(self.metrics_path(rank), offset, max_bytes)
        records, left_out = sample_metric_lines(data, per_name)
        return records, nxt, left_out

    def all_metrics(self, every_attempt: bool = False) -> list[dict[str, Any]]:
        """Every metric value of every rank, with its rank.

        A restarted run re-does the steps after its last checkpoint: by default a step's value from a
        later attempt replaces the earlier attempts' (``every_attempt``: keep them all, each with its
        ``attempt``; a record without one is of attempt 1).
        """
        out: list[dict[str, Any]] = []
        for path in sorted((self.path / "metrics").glob("rank-*.jsonl"), key=lambda p: int(p.stem.split("-")[1])):
            rank = int(path.stem.split("-")[1])
            offset = 0
            while True:
                records, nxt = self.read_metrics(rank, offset)
                for rec in records:
                    if "name" in rec:
                        rec["rank"] = rank
                        out.append(rec)
                if nxt == offset:
                    break
                offset = nxt
        return out if every_attempt else last_attempts(out)

    def follow_log(self, rank: int, is_done: Callable[[], bool], poll_s: float = 0.1) -> Iterator[bytes]:
        """Yield the log's bytes as they arrive until ``is_done()`` and nothing more is left."""
        offset = 0
        while True:
            done = is_done()
            data, offset = self.read_log(rank, offset)
            if data:
                yield data
                continue
            if done:
                return
            time.sleep(poll_s)


def _read_lines(path: Path, offset: int, max_bytes: int, carriage_return: bool = False) -> tuple[bytes, int]:
    try:
        with open(path, "rb") as fh:
            fh.seek(offset)
            data = fh.read(max_bytes)
    except FileNotFoundError:
        return b"", offset
    cut = (max(data.rfind(b"\n"), data.rfind(b"\r")) if carriage_return else data.rfind(b"\n")) + 1
    if cut == 0 and len(data) < max_bytes:
        return b"", offset
    if cut == 0:
        cut = len(data)
    return data[:cut], offset + cut


# The name the runtime writes first in every record (a JSON string, escapes and all).
_NAME_AT = re.compile(rb'\{"name":("[^"\\\n]*(?:\\.[^"\\\n]*)*"),')
_PROBES = 64  # lines looked at, evenly spread, to learn which metrics flood a read


def sample_metric_lines(data: bytes, per_name: int) -> tuple[list[dict[str, Any]], int]:
    """Parse whole metric lines, keeping at most ``per_name`` + 1 records of each metric: a metric
    with more keeps values spread evenly over the data, and its last; events and metrics with
    fewer keep every record. Returns the records in file order and how many were left out.

    A flood costs a few scans in C, not a parse: the metrics that flood are found by probing
    lines spread over the data and counting their prefix; one regex pass finds every other line;
    each flooding metric's samples are the first of its lines after evenly spaced offsets. A
    flooding metric the probes missed is kept whole (never lost, only not thinned).
    """
    total = data.count(b"\n") + (0 if data.endswith(b"\n") or not data else 1)
    if total <= per_name:
        return parse_metric_lines(data), 0
    text = b"\n" + data  # every line now starts after a newline
    size = len(text)
    heavy: dict[bytes, bytes] = {}
    for j in range(_PROBES):
        at = text.find(b"\n", j * size // _PROBES)
        match = _NAME_AT.match(text, at + 1) if at >= 0 else None
        if match and match.group(1) not in heavy:
            prefix = b'\n{"name":' + match.group(1) + b","
            heavy[match.group(1)] = prefix if text.count(prefix) > per_name else b""
    heavy = {name: prefix for name, prefix in heavy.items() if prefix}
    if not heavy:
        return parse_metric_lines(data), 0
    others = re.compile(rb'\n(?!\{"name":(?:' + b"|".join(re.escape(name) for name in heavy) + rb"),)")
    starts = {m.start() for m in others.finditer(text)}
    starts.discard(size - 1)  # after the last newline: no line
    whole = size if data.endswith(b"\n") else text.rfind(b"\n") + 1  # the last whole line ends here
    for prefix in heavy.values():
        starts.update(text.find(prefix, j * size // per_name) for j in range(per_name))
        starts.add(text.rfind(prefix, 0, whole))
    starts.discard(-1)
    kept = []
    for at in sorted(starts):
        end = text.find(b"\n", at + 1)
        kept.append(text[at + 1 : end if end >= 0 else size])
    return parse_metric_lines(b"\n".join(kept) + b"\n"), total - len(kept)


def parse_metric_lines(data: bytes) -> list[dict[str, Any]]:
    """Parse JSON lines written by the runtime; a damaged line is skipped, not fatal."""
    if not data:
        return []
    try:
        return cast(list[dict[str, Any]], json.loads(b"[" + data.rstrip(b"\n").replace(b"\n", b",") + b"]"))
    except ValueError:
        out = []
        for line in data.splitlines():
            try:
                out.append(json.loads(line))
            except ValueError:
                continue
        return out


def last_attempts(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``records`` less the values of a (rank, name, step) that a later attempt logged again."""
    latest: dict[tuple[Any, Any, Any], int] = {}
    for rec in records:
        if rec.get("step") is not None:
            key = (rec.get("rank"), rec.get("name"), rec["step"])
            latest[key] = max(latest.get(key, 1), int(rec.get("attempt") or 1))
    if not latest or max(latest.values()) == 1:
        return records
    return [
        r
        for r in records
        if r.get("step") is None or int(r.get("attempt") or 1) == latest[(r.get("rank"), r.get("name"), r["step"])]
    ]
