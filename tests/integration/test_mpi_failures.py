"""An MPI rank that raises while its peers wait ends the run in seconds, naming the rank and its traceback.

mpi4py ranks finalize MPI at exit, which waits for peers that wait for the failed rank: without our
exit-on-error, the run stayed Running forever.
"""

from __future__ import annotations

import textwrap
import time
from pathlib import Path

import pytest
from conftest import assert_no_process_left

from jupyter_mltrain.api import submit
from jupyter_mltrain.engine.spec import Distribution, RunSpec

RAISES_WHILE_PEER_WAITS = """
from mpi4py import MPI

comm = MPI.COMM_WORLD
print("rank", comm.rank, "ready", flush=True)
if comm.rank == 1:
    raise ValueError("boom on rank 1")
comm.recv(source=1)  # rank 0 waits for rank 1 forever
"""

PRINTS_A_TRACEBACK_THEN_HANGS = """
import traceback
from mpi4py import MPI

comm = MPI.COMM_WORLD
if comm.rank == 1:
    try:
        {}["missing"]
    except KeyError:
        traceback.print_exc()  # handled, and printed: the program goes on, and waits
comm.recv(source=1 - comm.rank)
"""


def _spec(project: Path, script: str, **kw) -> RunSpec:
    (project / "train.py").write_text(textwrap.dedent(script))
    return RunSpec(
        entry="train.py", source=str(project), distribution=Distribution(mode="mpi", processes_per_node=2), **kw
    )


@pytest.mark.timeout(120)
def test_an_mpi4py_rank_raising_while_its_peer_waits_fails_the_run_in_seconds(store, project) -> None:
    started = time.monotonic()
    run = submit(_spec(project, RAISES_WHILE_PEER_WAITS), store)
    record = run.wait(timeout=60, raise_on_error=False)
    assert record.status == "Failed" and time.monotonic() - started < 45
    cause = record.root_cause
    assert cause is not None and cause.rank == 1 and cause.exit_code == 1
    assert cause.error == "ValueError: boom on rank 1"
    assert cause.traceback is not None and 'raise ValueError("boom on rank 1")' in cause.traceback
    assert "rank 1" in cause.message and "ValueError: boom on rank 1" in cause.message
    assert "rank 0 ready" in run.logs(0) and "rank 1 ready" in run.logs(1)
    assert_no_process_left(run.id)


@pytest.mark.timeout(120)
def test_a_hang_after_a_printed_traceback_keeps_the_traceback_in_the_root_cause(store, project) -> None:
    run = submit(_spec(project, PRINTS_A_TRACEBACK_THEN_HANGS, hang_timeout_s=2.5), store)
    record = run.wait(timeout=90, raise_on_error=False)
    cause = record.root_cause
    assert record.status == "Failed" and cause is not None and cause.hang
    assert cause.error == "KeyError: 'missing'" and "rank 1 raised KeyError: 'missing' before" in cause.message
    assert cause.traceback is not None and '{}["missing"]' in cause.traceback
    assert_no_process_left(run.id)


@pytest.mark.timeout(120)
def test_mpirun_that_cannot_reach_a_host_is_reported_with_the_host_and_the_reason(
    store, project, tmp_path, monkeypatch
) -> None:
    (project / "mltrain.toml").write_text(
        '[targets.far]\nkind = "local"\nmpirun_args = ["--host", "127.0.0.9:1,localhost:1"]\n'
    )
    run = submit(_spec(project, RAISES_WHILE_PEER_WAITS, target="far"), store)
    record = run.wait(timeout=90, raise_on_error=False)
    assert record.status == "Failed" and record.root_cause is not None
    assert record.root_cause.message == "mpirun could not reach 127.0.0.9 by ssh (port 22: Connection refused)"
    assert_no_process_left(run.id)
