"""The SQLite index of every run under one home, with the run folders as its truth (see the package docstring)."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import socket
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from jupyter_mltrain.engine.store.records import (
    BEHIND_FILE,
    STALE_HEARTBEAT_S,
    RootCause,
    RunRecord,
    Status,
    default_home,
    record_from_dict,
    write_json_atomic,
)
from jupyter_mltrain.hostside.errors import RunNotFound
from jupyter_mltrain.hostside.procs import process_alive

_COLUMNS = (
    "id",
    "experiment",
    "name",
    "status",
    "created",
    "target",
    "mode",
    "ranks",
    "stages",
    "exit_codes",
    "root_cause",
    "metrics",
    "params",
    "supervisor_pid",
    "supervisor_host",
    "heartbeat",
    "ended",
    "run_dir",
    "attempt",
    "attempts",
    "stragglers",
    "tags",
    "note",
    "parent",
)
_JSON_COLUMNS = {"stages", "exit_codes", "root_cause", "metrics", "params", "attempts", "stragglers", "tags"}
# Columns added after the first release, with their type: an older index gets them on open.
_ADDED_COLUMNS = {
    "attempt": "INTEGER DEFAULT 1",
    "attempts": "TEXT",
    "stragglers": "TEXT",
    "tags": "TEXT",
    "note": "TEXT",
    "parent": "TEXT",
}

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY,
    experiment TEXT NOT NULL,
    name TEXT NOT NULL,
    status TEXT NOT NULL,
    created REAL NOT NULL,
    target TEXT, mode TEXT, ranks INTEGER,
    stages TEXT, exit_codes TEXT, root_cause TEXT, metrics TEXT, params TEXT,
    supervisor_pid INTEGER, supervisor_host TEXT, heartbeat REAL, ended REAL, run_dir TEXT,
    attempt INTEGER DEFAULT 1, attempts TEXT, stragglers TEXT, tags TEXT, note TEXT, parent TEXT
);
CREATE INDEX IF NOT EXISTS runs_created ON runs(created);
CREATE INDEX IF NOT EXISTS runs_experiment ON runs(experiment, created);
"""


def _row_to_record(row: sqlite3.Row | tuple[Any, ...]) -> RunRecord:
    values = dict(zip(_COLUMNS, row, strict=False))
    for key in _JSON_COLUMNS:
        raw = values[key]
        values[key] = json.loads(raw) if raw else ({} if key != "exit_codes" and key != "root_cause" else None)
    values["exit_codes"] = values["exit_codes"] or []
    values["attempts"] = values["attempts"] or []
    values["attempt"] = values["attempt"] or 1
    values["stragglers"] = values["stragglers"] or []
    values["tags"] = values["tags"] or []
    values["note"] = values["note"] or ""
    values["parent"] = values.get("parent") or ""
    return RunRecord(**values)


def _record_to_row(record: RunRecord) -> tuple[Any, ...]:
    data = record.to_dict()
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


def _filter_records(
    records: list[RunRecord], experiment: str | None, status: str | None, query: str | None
) -> list[RunRecord]:
    """``_filters``' conditions applied to records in memory (when reading the folders)."""
    q = (query or "").lower()
    return [
        r
        for r in records
        if (experiment is None or r.experiment == experiment)
        and (status is None or r.status == status)
        and (not q or q in r.name.lower() or q in r.id.lower() or q in r.experiment.lower())
    ]


@contextlib.contextmanager
def _folder_locked(folder: Path) -> Iterator[None]:
    """Hold an exclusive lock on a run folder: one read-change-write of its record at a time, across
    processes (the supervisor writes the record while a person tags it)."""
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:  # no folder: the read that follows says so
        yield
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
        except OSError:  # a filesystem without flock on directories (some NFS): unlocked, as before
            pass
        yield
    finally:
        os.close(fd)


class IndexUnavailable(Exception):
    """The index could not serve a query (damaged, or locked past the busy timeout)."""


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
            have = {row[1] for row in db.execute("PRAGMA table_info(runs)")}
            for column, kind in _ADDED_COLUMNS.items():
                if column not in have:
                    db.execute(f"ALTER TABLE runs ADD COLUMN {column} {kind}")
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
            [_record_to_row(r) for r in records],
            many=True,
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
        to_folder = bool(set(fields) - {"heartbeat"})
        with self._lock, _folder_locked(self.run_dir(run_id)) if to_folder else contextlib.nullcontext():
            record = self._get_raw(run_id)
            for key, value in fields.items():
                setattr(record, key, value)
            record.__post_init__()  # a status or root cause given as plain JSON values becomes typed
            cols = list(fields)
            row = dict(zip(_COLUMNS, _record_to_row(record), strict=False))
            if to_folder:  # the folder first: it is the truth
                write_json_atomic(Path(record.run_dir) / "status.json", record.to_dict())
            try:
                self._query(
                    f"UPDATE runs SET {', '.join(f'{c} = ?' for c in cols)} WHERE id = ?",
                    [row[c] for c in cols] + [run_id],
                )
            except IndexUnavailable:
                if to_folder:
                    self._mark_behind(run_id)
        return record

    def set_status(self, run_id: str, status: Status, stage: str | None = None, **fields: Any) -> RunRecord:
        """Move a run to ``status``, stamping the time of the transition (under ``stage`` when given, e.g.
        ``Queued (attempt 2)``: a requeued job waits again, and its timeline shows both waits)."""
        record = self._get_raw(run_id)
        if record.final:
            return record  # an ended run never changes status again
        stages = dict(record.stages)
        now = time.time()
        stages.setdefault(stage or status.value, now)
        if status.final:
            fields.setdefault("ended", now)
        return self.update(run_id, status=status, stages=stages, **fields)

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
        cause = RootCause(
            message="the run's supervisor process died without recording an end "
            f"(pid {record.supervisor_pid} on {record.supervisor_host}); its ranks were stopped",
            time=time.time(),
        )
        return self.set_status(record.id, Status.LOST, root_cause=cause)
