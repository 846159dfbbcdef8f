"""Where runs are kept: one folder per run and a SQLite index of them all.

``MLTRAIN_HOME`` (default: Jupyter's data dir + ``/mltrain``) holds::

    runs.sqlite              the index (WAL): status, stage times, target, exit codes, summaries
    runs/<id>/spec.json      the RunSpec (secret values left out)
    runs/<id>/status.json    the same record as the index row (the folder is the truth)
    runs/<id>/snapshot/      the packaged code; the ranks' working folder
    runs/<id>/env.json       interpreter, packages, hosts, GPUs
    runs/<id>/logs/rank-N.log        every line of rank N, stdout and stderr, in order
    runs/<id>/metrics/rank-N.jsonl   every value rank N logged
    runs/<id>/outputs/       files the run kept

Logs and metrics are append-only; readers follow them by byte offset.

The folders are the truth and the index a fast copy of them: when the index cannot be read
(damaged, or locked past the busy timeout), readers fall back to the folders' ``status.json``;
a write the index refused is kept in the folder and its run id in ``index-behind``, caught up
the next time a Store opens a healthy index. ``mltrain doctor`` (``doctor.py``) rebuilds a
damaged index from the folders.
"""

from __future__ import annotations

import enum
import json
import os
import re
import secrets
import shutil
import socket
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from jupyter_mltrain.errors import RunNotFound
from jupyter_mltrain.procs import process_alive

HEARTBEAT_S = 2.0
STALE_HEARTBEAT_S = 30.0
BEHIND_FILE = "index-behind"


class Status(str, enum.Enum):
    """The lifecycle of a run."""

    QUEUED = "Queued"
    PREPARING = "Preparing"
    RUNNING = "Running"
    FINALIZING = "Finalizing"
    COMPLETED = "Completed"
    FAILED = "Failed"
    CANCELED = "Canceled"
    LOST = "Lost"

    @property
    def final(self) -> bool:
        """Whether the run has ended."""
        return self in FINAL_STATUSES


FINAL_STATUSES = frozenset({Status.COMPLETED, Status.FAILED, Status.CANCELED, Status.LOST})


def default_home() -> Path:
    """``$MLTRAIN_HOME``, else Jupyter's data dir + ``/mltrain``."""
    if os.environ.get("MLTRAIN_HOME"):
        return Path(os.environ["MLTRAIN_HOME"]).expanduser()
    from jupyter_core.paths import jupyter_data_dir

    return Path(jupyter_data_dir()) / "mltrain"


def format_duration(seconds: float | None) -> str:
    """``m:ss`` or ``h:mm:ss`` (``-`` for none), as every face shows durations."""
    if seconds is None:
        return "-"
    m, s = divmod(int(seconds), 60)
    h, m = divmod(m, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def new_run_id() -> str:
    """A sortable, unique run id: ``YYYYMMDD-HHMMSS-xxxxxx``."""
    return time.strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(3)


@dataclass
class RunRecord:
    """What the index knows about one run."""

    id: str
    experiment: str
    name: str
    status: str
    created: float
    target: str = "local"
    mode: str = "none"
    ranks: int = 1
    stages: dict[str, float] = field(default_factory=dict)
    exit_codes: list[int | None] = field(default_factory=list)
    root_cause: dict[str, Any] | None = None
    metrics: dict[str, dict[str, Any]] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)
    supervisor_pid: int | None = None
    supervisor_host: str | None = None
    heartbeat: float | None = None
    ended: float | None = None
    run_dir: str = ""

    @property
    def final(self) -> bool:
        """Whether the run has ended."""
        return Status(self.status).final

    @property
    def duration(self) -> float | None:
        """Seconds from Running (else creation) to the end, or to now while it runs."""
        start = self.stages.get(Status.RUNNING.value, self.created)
        end = self.ended if self.ended is not None else (None if self.final else time.time())
        return None if end is None else max(0.0, end - start)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (the CLI's ``--json`` record)."""
        data = asdict(self)
        data["duration"] = self.duration
        return data


_COLUMNS = (
    "id", "experiment", "name", "status", "created", "target", "mode", "ranks", "stages", "exit_codes",
    "root_cause", "metrics", "params", "supervisor_pid", "supervisor_host", "heartbeat", "ended", "run_dir",
)
_JSON_COLUMNS = {"stages", "exit_codes", "root_cause", "metrics", "params"}

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY,
    experiment TEXT NOT NULL,
    name TEXT NOT NULL,
    status TEXT NOT NULL,
    created REAL NOT NULL,
    target TEXT, mode TEXT, ranks INTEGER,
    stages TEXT, exit_codes TEXT, root_cause TEXT, metrics TEXT, params TEXT,
    supervisor_pid INTEGER, supervisor_host TEXT, heartbeat REAL, ended REAL, run_dir TEXT
);
CREATE INDEX IF NOT EXISTS runs_created ON runs(created);
CREATE INDEX IF NOT EXISTS runs_experiment ON runs(experiment, created);
"""


def _row_to_record(row: sqlite3.Row | tuple[Any, ...]) -> RunRecord:
    values = dict(zip(_COLUMNS, row))
    for key in _JSON_COLUMNS:
        raw = values[key]
        values[key] = json.loads(raw) if raw else ({} if key != "exit_codes" and key != "root_cause" else None)
    values["exit_codes"] = values["exit_codes"] or []
    return RunRecord(**values)


def _record_to_row(record: RunRecord) -> tuple[Any, ...]:
    data = asdict(record)
    return tuple(json.dumps(data[c]) if c in _JSON_COLUMNS else data[c] for c in _COLUMNS)


def _filters(experiment: str | None, status: str | None, query: str | None) -> tuple[str, list[Any]]:
    where, args = [], []
    if experiment is not None:
        where.append("experiment = ?")
        args.append(experiment)
    if status is not None:
        where.append("status = ?")
        args.append(status)
    if query:
        like = "%" + query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        where.append("(name LIKE ? ESCAPE '\\' OR id LIKE ? ESCAPE '\\' OR experiment LIKE ? ESCAPE '\\')")
        args += [like, like, like]
    return (" WHERE " + " AND ".join(where) if where else ""), args


def _filter_records(records: list[RunRecord], experiment: str | None, status: str | None,
                    query: str | None) -> list[RunRecord]:
    """``_filters``' conditions applied to records in memory (when reading the folders)."""
    q = (query or "").lower()
    return [r for r in records if (experiment is None or r.experiment == experiment)
            and (status is None or r.status == status)
            and (not q or q in r.name.lower() or q in r.id.lower() or q in r.experiment.lower())]


def write_json_atomic(path: Path, data: Any) -> None:
    """Replace ``path`` with ``data`` as JSON so that no reader sees half a file."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}-{threading.get_ident()}.tmp")
    with open(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as fh:
        json.dump(data, fh, indent=1, default=str)
    os.replace(tmp, path)


class IndexUnavailable(Exception):
    """The index could not serve a query (damaged, or locked past the busy timeout)."""


def record_from_dict(data: dict[str, Any]) -> RunRecord:
    """A RunRecord from ``to_dict()`` output (a run folder's ``status.json``)."""
    known = RunRecord.__dataclass_fields__
    return RunRecord(**{k: v for k, v in data.items() if k in known})


class Store:
    """The run folders and their index under one ``MLTRAIN_HOME``.

    ``busy_timeout_s``: how long a query waits for a lock held by another process before the
    index counts as unavailable for it.
    """

    def __init__(self, home: str | os.PathLike[str] | None = None, *, busy_timeout_s: float = 5.0) -> None:
        self.home = Path(home) if home is not None else default_home()
        self.runs_dir = self.home / "runs"
        self.runs_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(self.home, 0o700)
        self.index_path = self.home / "runs.sqlite"
        self.index_error: str | None = None
        self._lock = threading.RLock()
        self._db: sqlite3.Connection | None = None
        try:
            db = sqlite3.connect(self.index_path, timeout=busy_timeout_s, check_same_thread=False, isolation_level=None)
            os.chmod(self.index_path, 0o600)
            if db.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.executescript(_SCHEMA)
            self._db = db
        except sqlite3.Error as exc:
            self.index_error = f"{self.index_path}: {exc}"
            return
        if (self.home / BEHIND_FILE).exists():
            self._catch_up()

    @property
    def degraded(self) -> bool:
        """Whether the index failed this Store (reads then come from the run folders)."""
        return self.index_error is not None

    def close(self) -> None:
        """Close the index connection."""
        if self._db is not None:
            self._db.close()

    def _query(self, sql: str, args: Any = (), *, many: bool = False) -> list[Any]:
        """Run one statement on the index; ``IndexUnavailable`` if it cannot."""
        with self._lock:
            if self._db is None:
                raise IndexUnavailable(self.index_error)
            try:
                cur = self._db.executemany(sql, args) if many else self._db.execute(sql, args)
                rows = cur.fetchall()
                self.index_error = None
                return rows
            except sqlite3.Error as exc:
                self.index_error = f"{self.index_path}: {exc}"
                if not isinstance(exc, sqlite3.OperationalError):  # damaged: stop using it
                    self._db.close()
                    self._db = None
                raise IndexUnavailable(self.index_error) from exc

    def _mark_behind(self, run_id: str) -> None:
        try:
            fd = os.open(self.home / BEHIND_FILE, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        except OSError:
            return  # the folder has the record; `mltrain doctor` finds the difference
        try:
            os.write(fd, run_id.encode() + b"\n")
        except OSError:
            pass
        finally:
            os.close(fd)

    def _catch_up(self) -> None:
        """Copy the runs whose writes the index missed from their folders into it."""
        behind = self.home / BEHIND_FILE
        taken = behind.with_name(f"{BEHIND_FILE}.{os.getpid()}")
        try:
            os.rename(behind, taken)
        except OSError:
            return
        ids = sorted(set(taken.read_text().split()))
        try:
            self.upsert([r for r in (self.folder_record(i) for i in ids) if r is not None])
        except IndexUnavailable:
            for run_id in ids:
                self._mark_behind(run_id)
        taken.unlink(missing_ok=True)

    def upsert(self, records: list[RunRecord]) -> None:
        """Write whole records into the index (``IndexUnavailable`` if it cannot)."""
        self._query(
            f"INSERT OR REPLACE INTO runs ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))})",
            [_record_to_row(r) for r in records], many=True,
        )

    def folder_record(self, run_id: str) -> RunRecord | None:
        """The record kept in the run's folder (``status.json``), or None."""
        try:
            return record_from_dict(json.loads((self.run_dir(run_id) / "status.json").read_text()))
        except (OSError, ValueError, TypeError, RunNotFound):
            return None

    def folder_records(self) -> list[RunRecord]:
        """Every run's record from its folder, newest first (what readers use without an index)."""
        records = []
        for entry in os.scandir(self.runs_dir):
            if entry.name.startswith(".") or not entry.is_dir():
                continue
            record = self.folder_record(entry.name)
            if record is not None:
                records.append(record)
        records.sort(key=lambda r: (r.created, r.id), reverse=True)
        return records

    def run_dir(self, run_id: str) -> Path:
        """The folder of run ``run_id`` (which may not exist)."""
        if not run_id or "/" in run_id or run_id.startswith("."):
            raise RunNotFound(f"no run {run_id!r}")
        return self.runs_dir / run_id

    def create(self, record: RunRecord, prepare: Callable[[Path], None]) -> RunRecord:
        """Make the run's folder with ``prepare(folder)``, then index it; all or nothing."""
        tmp = self.runs_dir / f".new-{record.id}"
        tmp.mkdir(mode=0o700)
        final = self.runs_dir / record.id
        try:
            prepare(tmp)
            record.run_dir = str(final)
            write_json_atomic(tmp / "status.json", record.to_dict())
            os.rename(tmp, final)
            try:
                self._query(
                    f"INSERT INTO runs ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))})",
                    _record_to_row(record),
                )
            except IndexUnavailable:
                self._mark_behind(record.id)  # the folder holds it; readers and doctor find it there
            except BaseException:
                shutil.rmtree(final, ignore_errors=True)
                raise
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return record

    def delete(self, run_id: str) -> None:
        """Remove a run from the index and its folder from disk."""
        self._query("DELETE FROM runs WHERE id = ?", (run_id,))
        shutil.rmtree(self.run_dir(run_id), ignore_errors=True)

    def update(self, run_id: str, **fields: Any) -> RunRecord:
        """Change some fields of a run, in the index and in its ``status.json``."""
        with self._lock:
            record = self._get_raw(run_id)
            for key, value in fields.items():
                setattr(record, key, value)
            cols = list(fields)
            row = dict(zip(_COLUMNS, _record_to_row(record)))
            if set(fields) - {"heartbeat"}:  # the folder first: it is the truth
                write_json_atomic(Path(record.run_dir) / "status.json", record.to_dict())
            try:
                self._query(f"UPDATE runs SET {', '.join(f'{c} = ?' for c in cols)} WHERE id = ?",
                            [row[c] for c in cols] + [run_id])
            except IndexUnavailable:
                if set(fields) - {"heartbeat"}:
                    self._mark_behind(run_id)
        return record

    def set_status(self, run_id: str, status: Status, **fields: Any) -> RunRecord:
        """Move a run to ``status``, stamping the time of the transition."""
        record = self._get_raw(run_id)
        if record.final:
            return record  # an ended run never changes status again
        stages = dict(record.stages)
        now = time.time()
        stages.setdefault(status.value, now)
        if status.final:
            fields.setdefault("ended", now)
        return self.update(run_id, status=status.value, stages=stages, **fields)

    def _get_raw(self, run_id: str) -> RunRecord:
        try:
            rows = self._query(f"SELECT {', '.join(_COLUMNS)} FROM runs WHERE id = ?", (run_id,))
        except IndexUnavailable:
            rows = []
        record = _row_to_record(rows[0]) if rows else self.folder_record(run_id)
        if record is None:
            raise RunNotFound(f"no run {run_id!r} in {self.home}")
        return record

    def get(self, run_id: str) -> RunRecord:
        """The run's record, marking it Lost if its supervisor died without a final status."""
        return self._check_alive(self._get_raw(run_id))

    def list(
        self,
        experiment: str | None = None,
        status: str | None = None,
        limit: int | None = None,
        offset: int = 0,
        query: str | None = None,
    ) -> list[RunRecord]:
        """Runs, newest first, optionally filtered (``query``: a substring of the name, id or experiment)."""
        where, args = _filters(experiment, status, query)
        sql = f"SELECT {', '.join(_COLUMNS)} FROM runs" + where
        sql += " ORDER BY created DESC, id DESC"
        if limit is not None:
            sql += " LIMIT ? OFFSET ?"
            args += [limit, offset]
        try:
            records = [_row_to_record(r) for r in self._query(sql, args)]
        except IndexUnavailable:
            found = _filter_records(self.folder_records(), experiment, status, query)
            records = found[offset:] if limit is None else found[offset : offset + limit]
        return [self._check_alive(r) for r in records]

    def count(self, experiment: str | None = None, status: str | None = None, query: str | None = None) -> int:
        """How many runs ``list`` would give without a limit."""
        where, args = _filters(experiment, status, query)
        try:
            return int(self._query("SELECT COUNT(*) FROM runs" + where, args)[0][0])
        except IndexUnavailable:
            return len(_filter_records(self.folder_records(), experiment, status, query))

    def _check_alive(self, record: RunRecord) -> RunRecord:
        if record.final:
            return record
        kept = self.folder_record(record.id)
        if kept is not None and (kept.final or len(kept.stages) > len(record.stages)):
            try:  # the index missed a write; the folder is the truth
                self.upsert([kept])
            except IndexUnavailable:
                pass
            record = kept
            if record.final:
                return record
        here = record.supervisor_host == socket.gethostname()
        if here and record.supervisor_pid:
            starting = record.heartbeat is None and time.time() - record.created < STALE_HEARTBEAT_S
            dead = not process_alive(record.supervisor_pid, record.id, starting)
        else:
            last = record.heartbeat or record.created
            dead = time.time() - last > STALE_HEARTBEAT_S
        if not dead:
            return record
        fresh = self._get_raw(record.id)
        if fresh.final:
            return fresh
        cause = {
            "message": "the run's supervisor process died without recording an end "
            f"(pid {record.supervisor_pid} on {record.supervisor_host}); its ranks were stopped",
            "time": time.time(),
        }
        return self.set_status(record.id, Status.LOST, root_cause=cause)


class RunFolder:
    """Reads one run's folder: spec, logs and metrics, from any byte offset."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    def resolve(self, rel: str) -> Path:
        """The path of ``rel`` inside the run folder; refuses anything that would leave it."""
        from jupyter_mltrain.errors import MLTrainError

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
        return json.loads((self.path / "spec.json").read_text())

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

    def read_metrics(self, rank: int, offset: int = 0, max_bytes: int = 8 * 1024 * 1024) -> tuple[list[dict[str, Any]], int]:
        """Metric records of ``rank`` from byte ``offset``; and the offset to read from next."""
        data, nxt = _read_lines(self.metrics_path(rank), offset, max_bytes)
        return parse_metric_lines(data), nxt

    def read_metric_sample(self, rank: int, offset: int, max_bytes: int, per_name: int) -> tuple[list[dict[str, Any]], int, int]:
        """Like ``read_metrics``, but a metric with more than ``per_name`` records in what was read
        keeps only ``per_name`` of them, spread evenly, and its last (``sample_metric_lines``); and
        how many records were left out. For displays that cannot draw a flood point by point."""
        data, nxt = _read_lines(self.metrics_path(rank), offset, max_bytes)
        records, left_out = sample_metric_lines(data, per_name)
        return records, nxt, left_out

    def all_metrics(self) -> list[dict[str, Any]]:
        """Every metric value of every rank, with its rank."""
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
        return out

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
        return json.loads(b"[" + data.rstrip(b"\n").replace(b"\n", b",") + b"]")
    except ValueError:
        out = []
        for line in data.splitlines():
            try:
                out.append(json.loads(line))
            except ValueError:
                continue
        return out
