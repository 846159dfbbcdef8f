"""The supervisor is SIGKILLed: every rank is gone within 10 s and the run is Lost, with the reason."""

from __future__ import annotations

import os
import signal
import textwrap
import time

import pytest
from conftest import assert_no_process_left, processes_of_run, wait_for

from jupyter_mltrain.api import submit
from jupyter_mltrain.engine.spec import Distribution, RunSpec


@pytest.mark.timeout(120)
@pytest.mark.parametrize("mode", ["none", "torch", "mpi"])
def test_supervisor_killed_marks_the_run_lost_and_its_ranks_die(store, project, mode) -> None:
    script = """
        import time
        for i in range(3):
            print("ready", i, flush=True)
        time.sleep(300)
    """
    (project / "train.py").write_text(textwrap.dedent(script))
    spec = RunSpec(entry="train.py", source=str(project), distribution=Distribution(mode=mode, processes_per_node=2))
    run = submit(spec, store)
    wait_for(lambda: "ready 2" in run.logs(rank=0) and "ready 2" in run.logs(rank=1), 60, what="ranks ready")
    pid = run.record.supervisor_pid
    ranks = [p for p in processes_of_run(run.id) if p.pid != pid]
    assert len(ranks) >= 4  # two agents and two programs at least
    os.kill(pid, signal.SIGKILL)
    killed_at = time.monotonic()
    assert_no_process_left(run.id, within=10)
    assert time.monotonic() - killed_at <= 10
    record = run.record
    assert record.status == "Lost"
    assert "supervisor process died" in record.root_cause.message and str(pid) in record.root_cause.message
    for rank in (0, 1):  # nothing already written is lost
        assert run.logs(rank=rank).splitlines() == ["ready 0", "ready 1", "ready 2"]
