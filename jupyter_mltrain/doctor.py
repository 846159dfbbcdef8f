"""``mltrain doctor``: check the index against the run folders, and rebuild it from them.

The folders are the truth (see ``store``). The doctor finds an index that cannot be read
(damaged) or is held by another process (locked), runs missing from it, rows whose folder is
gone, statuses that differ from the folder's, and folders left half-made by a submit that
died; with ``repair`` it moves a damaged index aside (kept as ``runs.sqlite.damaged-<time>``),
builds a new one from every folder's ``status.json``, and removes what is stale.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path

from jupyter_mltrain.engine.store import Store, default_home

HALF_MADE_AGE_S = 3600.0


@dataclass
class Diagnosis:
    """What the doctor found, and what it did."""

    home: str
    runs_in_folders: int = 0
    index_error: str | None = None
    index_locked: bool = False
    missing_from_index: list[str] = field(default_factory=list)
    rows_without_folder: list[str] = field(default_factory=list)
    status_differs: list[str] = field(default_factory=list)
    half_made: list[str] = field(default_factory=list)
    actions: list[str] = field(default_factory=list)

    @property
    def healthy(self) -> bool:
        """Whether nothing needs repair."""
        return not (
            self.index_error
            or self.missing_from_index
            or self.rows_without_folder
            or self.status_differs
            or self.half_made
        )

    def report(self) -> str:
        """Lines for people."""
        lines = [f"store: {self.home} ({self.runs_in_folders} run folder(s))"]
        if self.index_locked:
            lines.append(f"index: locked by another process ({self.index_error}); reads fall back to the folders")
        elif self.index_error:
            lines.append(f"index: unreadable: {self.index_error}")
        else:
            lines.append("index: readable")
        for label, ids in (
            ("runs missing from the index", self.missing_from_index),
            ("index rows without a folder", self.rows_without_folder),
            ("statuses that differ from the folder", self.status_differs),
            ("half-made folders (a submit died)", self.half_made),
        ):
            if ids:
                lines.append(f"{label}: {len(ids)} ({', '.join(ids[:5])}{' …' if len(ids) > 5 else ''})")
        lines += [f"did: {a}" for a in self.actions]
        if self.healthy and not self.index_locked:
            lines.append("ok")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready dict."""
        return {**self.__dict__, "healthy": self.healthy}


def _read_index(path: Path) -> dict[str, str]:
    """``{id: status}`` from the index, raising ``sqlite3.Error`` when it cannot be read whole."""
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=2)
    try:
        check = db.execute("PRAGMA quick_check").fetchone()[0]
        if check != "ok":
            raise sqlite3.DatabaseError(f"integrity check: {check}")
        return dict(db.execute("SELECT id, status FROM runs").fetchall())
    finally:
        db.close()


def diagnose(home: Path | None = None) -> Diagnosis:
    """Compare the index with the run folders; change nothing."""
    home = Path(home) if home is not None else default_home()
    store = Store(home, busy_timeout_s=2.0)
    try:
        folders = {r.id: r for r in store.folder_records()}
    finally:
        store.close()
    found = Diagnosis(home=str(home), runs_in_folders=len(folders))
    now = time.time()
    for entry in (home / "runs").glob(".new-*"):
        if now - entry.stat().st_mtime > HALF_MADE_AGE_S:
            found.half_made.append(entry.name)
    try:
        rows = _read_index(home / "runs.sqlite")
    except sqlite3.OperationalError as exc:
        found.index_error = str(exc)
        found.index_locked = "locked" in str(exc)
        return found
    except sqlite3.Error as exc:
        found.index_error = str(exc)
        return found
    found.missing_from_index = sorted(set(folders) - set(rows))
    found.rows_without_folder = sorted(set(rows) - set(folders))
    found.status_differs = sorted(i for i in set(rows) & set(folders) if rows[i] != folders[i].status)
    return found


def repair(home: Path | None = None) -> Diagnosis:
    """Diagnose, then make the index match the folders again (a damaged one is rebuilt)."""
    home = Path(home) if home is not None else default_home()
    found = diagnose(home)
    if found.index_locked:
        found.actions.append("nothing: the index is locked; stop the process holding it and run again")
        return found
    index = home / "runs.sqlite"
    if found.index_error:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        for suffix in ("", "-wal", "-shm"):
            part = index.with_name(index.name + suffix)
            if part.exists():
                part.rename(index.with_name(f"{index.name}.damaged-{stamp}{suffix}"))
        found.actions.append(f"moved the damaged index aside to {index.name}.damaged-{stamp}")
    store = Store(home)
    try:
        records = store.folder_records()
        if found.index_error or found.missing_from_index or found.status_differs:
            store.upsert(records)
            found.actions.append(f"indexed {len(records)} run(s) from their folders")
        for run_id in found.rows_without_folder:
            store.delete(run_id)
        if found.rows_without_folder:
            found.actions.append(f"removed {len(found.rows_without_folder)} row(s) whose folder is gone")
        for name in found.half_made:
            shutil.rmtree(home / "runs" / name, ignore_errors=True)
        if found.half_made:
            found.actions.append(f"removed {len(found.half_made)} half-made folder(s)")
        for record in records:
            if not record.final:
                store.get(record.id)  # a run whose supervisor is gone becomes Lost, with the reason
    finally:
        store.close()
    return found


def main_report(home: Path | None, check_only: bool, as_json: bool) -> tuple[str, bool]:
    """What ``mltrain doctor`` prints, and whether the store is (now) healthy."""
    found = diagnose(home) if check_only else repair(home)
    healthy = found.healthy if check_only else not found.index_locked
    return (json.dumps(found.to_dict()) if as_json else found.report()), healthy
