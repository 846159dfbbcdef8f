"""A rank that dies or hangs inside a collective: the run ends, says which rank, and saves every stack."""

from __future__ import annotations

import textwrap
import time
from pathlib import Path

import pytest
from conftest import assert_no_process_left

from jupyter_mltrain.api import submit
from jupyter_mltrain.engine.spec import Distribution, RunSpec

COLLECTIVE_THEN = """
    import os, signal, time, torch, torch.distributed as dist
    dist.init_process_group("gloo")
    rank = dist.get_rank()
    t = torch.ones(1)
    for step in range(3):
        dist.all_reduce(t)
        print(f"rank {{rank}} step {{step}}", flush=True)

    def wait_in_collective():
        dist.all_reduce(t)

    if rank == 1:
        print("rank 1 goes down", flush=True)
        {fault}
    wait_in_collective()
"""


def _spec(project: Path, script: str, **kw) -> RunSpec:
    (project / "train.py").write_text(textwrap.dedent(script))
    return RunSpec(
        entry="train.py",
        source=str(project),
        distribution=Distribution(mode="torch", processes_per_node=2),
        grace_period_s=1.0,
        **kw,
    )


@pytest.mark.timeout(120)
def test_a_rank_killed_in_a_collective_fails_the_run_naming_it(store, project) -> None:
    run = submit(_spec(project, COLLECTIVE_THEN.format(fault="os.kill(os.getpid(), signal.SIGKILL)")), store)
    started = time.monotonic()
    record = run.wait(timeout=90, raise_on_error=False)
    assert record.status == "Failed"
    assert record.root_cause.rank == 1
    assert "rank 1" in record.root_cause.message and "SIGKILL" in record.root_cause.message
    assert time.monotonic() - started < 60
    assert "rank 0 step 2" in run.logs(rank=0) and "rank 1 goes down" in run.logs(rank=1)
    assert_no_process_left(run.id)


@pytest.mark.timeout(120)
def test_a_stopped_rank_is_reported_as_a_hang_with_every_rank_s_stack(store, project) -> None:
    run = submit(
        _spec(project, COLLECTIVE_THEN.format(fault="os.kill(os.getpid(), signal.SIGSTOP)"), hang_timeout_s=3.0), store
    )
    record = run.wait(timeout=90, raise_on_error=False)
    cause = record.root_cause
    assert record.status == "Failed"
    assert cause.hang is True and cause.rank == 1
    assert "rank 1 (worker)" in cause.message and "hung" in cause.message
    assert "no heartbeat" in cause.message and "stopped" in cause.message
    stacks = Path(record.run_dir) / "stacks"
    rank0 = (stacks / "rank-0.txt").read_text()
    rank1 = (stacks / "rank-1.txt").read_text()
    # The waiting rank answers SIGQUIT (faulthandler) and py-spy; the stopped one only py-spy can read.
    assert rank0.split("## faulthandler")[1].count("in wait_in_collective") == 1, "SIGQUIT was sent once"
    assert "wait_in_collective" in rank0.split("## py-spy dump")[1]
    assert "state T (stopped)" in rank1
    assert "<module> (train.py:" in rank1.split("## py-spy dump")[1]
    assert "no answer" in rank1.split("## faulthandler")[1]
    # The stacks are not lost from the log either: the rank printed them.
    assert "wait_in_collective" in run.logs(rank=0)
    assert_no_process_left(run.id)


SILENT = """
    import os, sys, time
    rank = int(os.environ["RANK"])
    print(f"rank {rank} ready", flush=True)

    def stuck_here():
        time.sleep(600)

    if rank == 1:
        for i in range(6):
            print(f"rank 1 still busy {i}", flush=True)
            time.sleep(0.4)
    stuck_here()
"""


@pytest.mark.timeout(120)
def test_no_progress_on_any_rank_names_the_first_to_fall_silent(store, project) -> None:
    run = submit(_spec(project, SILENT, hang_timeout_s=2.5), store)
    record = run.wait(timeout=90, raise_on_error=False)
    cause = record.root_cause
    assert record.status == "Failed" and cause.hang is True
    assert cause.rank == 0, cause
    assert "no rank printed or logged anything for 2.5 s" in cause.message
    for rank in (0, 1):
        text = (Path(record.run_dir) / "stacks" / f"rank-{rank}.txt").read_text()
        assert "stuck_here" in text.split("## faulthandler")[1], text
    assert "rank 1 still busy 5" in run.logs(rank=1)
    assert_no_process_left(run.id)


@pytest.mark.timeout(60)
def test_without_a_hang_timeout_a_silent_rank_is_left_alone(store, project) -> None:
    script = """
        import time
        time.sleep(4)
        print("woke up", flush=True)
    """
    (project / "train.py").write_text(textwrap.dedent(script))
    run = submit(RunSpec(entry="train.py", source=str(project)), store)
    record = run.wait(timeout=50)
    assert record.status == "Completed" and "woke up" in run.logs(rank=0)
    assert not (Path(record.run_dir) / "stacks").exists()


STOP_ONE = """
    import os, signal, time
    rank = int(os.environ["RANK"])

    def stop_here():
        os.kill(os.getpid(), signal.SIGSTOP)

    def stuck_here():
        while True:
            print("tick", flush=True)
            time.sleep(0.5)

    if rank == 1:
        time.sleep(1)
        stop_here()
    stuck_here()
"""


@pytest.mark.timeout(120)
def test_a_stopped_rank_of_a_slurm_job_is_a_hang_with_stacks_from_its_node(slurm, store, project) -> None:
    (project / "mltrain.toml").write_text('[targets.hpc]\nkind = "slurm"\npartition = "debug"\n')
    (project / "main.py").write_text(textwrap.dedent(STOP_ONE))
    run = submit(
        RunSpec(
            entry="main.py",
            source=str(project),
            target="hpc",
            hang_timeout_s=3.0,
            grace_period_s=1.0,
            distribution=Distribution(mode="none", processes_per_node=2),
        ),
        store,
    )
    record = run.wait(timeout=90, raise_on_error=False)
    cause = record.root_cause
    assert record.status == "Failed" and cause.hang is True and cause.rank == 1, cause
    assert "no heartbeat" in cause.message and "(process state: T (stopped))" in cause.message
    stacks = {r: (Path(record.run_dir) / "stacks" / f"rank-{r}.txt").read_text() for r in (0, 1)}
    for text in stacks.values():  # Slurm reached the node: a step of the job, not a process of this host
        assert text.splitlines()[0].endswith("nodes (srun)"), text
    assert "stop_here (main.py:" in stacks[1].split("## py-spy dump")[1]
    assert "no answer" in stacks[1].split("## faulthandler")[1]
    assert stacks[0].split("## faulthandler")[1].count("in stuck_here") == 1, stacks[0]
    assert "stuck_here (main.py:" in stacks[0].split("## py-spy dump")[1]
    assert_no_process_left(run.id)


def test_a_host_that_does_not_answer_the_stack_dump_is_given_up_on_in_time() -> None:
    from jupyter_mltrain.engine.launch.base import StackDumps

    dumps = StackDumps()
    started = time.monotonic()
    dumps.start(["sleep", "30"], [0, 1], "a silent host", limit_s=0.5)
    dumps.start(["false"], [2], "a failing host")
    answers = dumps.collect()
    assert time.monotonic() - started < 5 and dumps.done()
    silent = "(the stack dump on a silent host did not answer within 0.5 s)\n"
    assert answers[0]["py_spy"] == answers[1]["py_spy"] == silent
    assert answers[2]["py_spy"].startswith("(the stack dump on a failing host failed: exit code 1)")
