"""A damaged or locked index: runs go on, readers fall back to the run folders, `mltrain doctor` rebuilds it."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from conftest import assert_no_process_left, wait_for

from jupyter_mltrain.api import submit
from jupyter_mltrain.engine.spec import RunSpec
from jupyter_mltrain.engine.store import Store

QUICK = """
    import time
    from jupyter_mltrain import log
    for i in range(5):
        print("line", i, flush=True)
        log("x", i, step=i)
"""


def _quick(project: Path, store: Store, name: str):
    (project / "train.py").write_text(textwrap.dedent(QUICK))
    return submit(RunSpec(entry="train.py", source=str(project), name=name), store)


def _mltrain(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MLTRAIN_HOME": str(home)}
    return subprocess.run(
        [sys.executable, "-m", "jupyter_mltrain.cli", *args],
        check=False,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


@pytest.mark.timeout(180)
def test_a_damaged_index_falls_back_to_the_folders_and_doctor_rebuilds_it(home, store, project) -> None:
    first = [_quick(project, store, f"before-{i}") for i in range(2)]
    for run in first:
        assert run.wait(timeout=60).status == "Completed"
        assert_no_process_left(run.id)  # a supervisor closing the index would write it back
    store.close()
    index = home / "runs.sqlite"
    for suffix in ("-wal", "-shm"):
        Path(str(index) + suffix).unlink(missing_ok=True)
    index.write_bytes(b"this is not a database" * 500)

    listed = _mltrain(home, "runs", "--json")
    assert listed.returncode == 0, listed.stderr
    assert "mltrain doctor" in listed.stderr
    assert {r["name"]: r["status"] for r in json.loads(listed.stdout)} == {
        "before-0": "Completed",
        "before-1": "Completed",
    }
    # A run submitted now still runs and is seen, from its folder.
    degraded = Store(home)
    assert degraded.degraded
    during = _quick(project, degraded, "during")
    assert during.wait(timeout=60).status == "Completed"
    assert "line 4" in during.logs(rank=0)
    assert len([m for m in during.metrics() if not m["name"].startswith("system/")]) == 5
    degraded.close()

    check = _mltrain(home, "doctor", "--check")
    assert check.returncode == 1 and "unreadable" in check.stdout
    fixed = _mltrain(home, "doctor", "--json")
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    report = json.loads(fixed.stdout)
    assert any("indexed 3 run(s)" in a for a in report["actions"])
    assert list(home.glob("runs.sqlite.damaged-*")), "the damaged index is kept for inspection"

    healthy = Store(home)
    assert not healthy.degraded
    rows = sqlite3.connect(index).execute("SELECT name, status FROM runs ORDER BY name").fetchall()
    assert rows == [("before-0", "Completed"), ("before-1", "Completed"), ("during", "Completed")]
    assert _mltrain(home, "doctor", "--check").stdout.strip().endswith("ok")
    healthy.close()


def _hold_lock(index: Path) -> subprocess.Popen[str]:
    """Another process holding the index's write lock until its stdin closes."""
    code = textwrap.dedent(f"""
        import sqlite3, sys
        db = sqlite3.connect({str(index)!r}, isolation_level=None, timeout=30)
        db.execute("BEGIN IMMEDIATE")
        db.execute("UPDATE runs SET name = name")
        print("locked", flush=True)
        sys.stdin.read()
        db.execute("COMMIT")
    """)
    proc = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "locked"
    return proc


@pytest.mark.timeout(180)
def test_a_locked_index_stalls_nothing_and_catches_up_when_released(home, store, project) -> None:
    script = """
        import time
        from jupyter_mltrain import log
        for i in range(40):
            print("line", i, flush=True)
            log("x", i, step=i)
            time.sleep(0.1)
    """
    (project / "train.py").write_text(textwrap.dedent(script))
    run = submit(RunSpec(entry="train.py", source=str(project)), store)
    wait_for(lambda: "line 1" in run.logs(rank=0), 60, what="first lines")
    holder = _hold_lock(home / "runs.sqlite")
    try:
        reader = Store(home, busy_timeout_s=0.2)
        started = time.monotonic()
        # The run ends while the index is locked: its folder says so, and readers see it.
        record = wait_for(lambda: (r := reader.get(run.id)).final and r, 90, interval=0.5, what="run end")
        assert record.status == "Completed"
        assert [r.id for r in reader.list()] == [run.id]
        assert time.monotonic() - started < 60
        reader.close()
    finally:
        holder.stdin.close()
        holder.wait(10)
    assert run.logs(rank=0).count("line ") == 40
    assert len([m for m in run.metrics() if not m["name"].startswith("system/")]) == 40
    assert (home / "index-behind").exists()
    Store(home).close()  # the next Store to open a healthy index catches up
    assert not (home / "index-behind").exists()
    row = sqlite3.connect(home / "runs.sqlite").execute("SELECT status, metrics FROM runs").fetchone()
    assert row[0] == "Completed" and json.loads(row[1])["x"]["count"] == 40
    assert_no_process_left(run.id)
