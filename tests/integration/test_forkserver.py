"""Supervisors forked by the warm fork server (what a sweep's trials start from) are supervisors like any other:
the run completes with its logs and metrics, is seen as alive while it runs, can be canceled with nothing left
behind, outlives the server, and its end is told to the client at once."""

from __future__ import annotations

import textwrap
import time
from pathlib import Path

import psutil
import pytest
from helpers import assert_no_process_left, wait_for

from jupyter_mltrain.api import Run, submit
from jupyter_mltrain.engine.spec import RunSpec
from jupyter_mltrain.engine.starting import SERVER_MODULE, ForkServer
from jupyter_mltrain.engine.store import Store
from jupyter_mltrain.hostside.procs import process_alive

SCRIPT = """
import sys, time
import jupyter_mltrain as mt

for step in range(int(sys.argv[1])):
    mt.log("loss", 1.0 / (step + 1), step=step)
    print(f"step {step}", flush=True)
    time.sleep(float(sys.argv[2]))
"""


def _spec(project: Path, steps: int, pause: float) -> RunSpec:
    (project / "train.py").write_text(textwrap.dedent(SCRIPT))
    return RunSpec(entry="train.py", source=str(project), args=(str(steps), str(pause)), telemetry_interval_s=0.0)


@pytest.fixture
def forks(home: Path):
    server = ForkServer(cwd=str(home))
    yield server
    server.close()


@pytest.mark.timeout(120)
def test_a_forked_supervisor_runs_the_run_to_its_end_and_the_client_hears_of_it(
    store: Store, project: Path, forks: ForkServer
) -> None:
    run = submit(_spec(project, 3, 0.3), store, starter=forks.start_supervisor)
    pid = wait_for(lambda: run.record.supervisor_pid, what="the supervisor's pid")
    supervisor = psutil.Process(pid)
    assert SERVER_MODULE in " ".join(supervisor.cmdline()), "started by the fork server, not a fresh interpreter"
    assert supervisor.ppid() == forks.proc.pid
    assert process_alive(pid, run.id), "a forked supervisor is recognised as its run's (by its folder)"
    assert not process_alive(pid, "some-other-run")
    ended: dict[int, int] = {}
    deadline = time.monotonic() + 60
    while pid not in ended and time.monotonic() < deadline:
        ended.update(forks.wait(1.0))
    assert ended.get(pid) == 0, ended
    record = run.record
    assert record.status == "Completed", run.logs()
    assert [m["value"] for m in run.metrics() if m["name"] == "loss"] == [1.0, 0.5, 1.0 / 3]
    assert "step 2" in str(run.logs(0))
    assert list(record.stages) == ["Queued", "Preparing", "Running", "Finalizing", "Completed"]


@pytest.mark.timeout(120)
def test_a_forked_run_is_canceled_with_nothing_left_and_outlives_the_server(
    store: Store, project: Path, forks: ForkServer
) -> None:
    spec = _spec(project, 200, 0.1)
    canceled = submit(spec, store, starter=forks.start_supervisor)
    survivor = submit(spec.with_changes(args=("8", "0.3")), store, starter=forks.start_supervisor)
    wait_for(lambda: canceled.record.status == "Running" and survivor.record.status == "Running", what="running")
    supervisor_pid = canceled.record.supervisor_pid
    assert canceled.cancel(by="the test")
    assert canceled.wait(timeout=30, raise_on_error=False).status == "Canceled"
    assert_no_process_left(canceled.id, within=5)
    wait_for(lambda: not process_alive(supervisor_pid, canceled.id), timeout=5, what="the supervisor to end")
    forks.close()  # the server ends; the run it started goes on to its end
    assert Run(survivor.id, store).wait(timeout=60, raise_on_error=False).status == "Completed", survivor.logs()
    assert_no_process_left(survivor.id, within=5)


@pytest.mark.timeout(60)
def test_the_server_answers_a_bad_request_with_an_error_and_goes_on(store: Store, project: Path) -> None:
    forks = ForkServer()
    try:
        assert forks.proc.stdin is not None
        forks.proc.stdin.write("not json\n")
        forks.proc.stdin.flush()
        line = forks.lines.next(timeout=30)
        assert line is not None and "bad request" in line
        run = submit(_spec(project, 1, 0.0), store, starter=forks.start_supervisor)
        run.wait(timeout=60)
        assert run.record.status == "Completed"
    finally:
        forks.close()
    assert forks.proc.returncode == 0
