"""Runs that survive failures: a failed job starts again as the same run, resuming from its checkpoint."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from conftest import assert_no_process_left

from jupyter_mltrain.api import submit
from jupyter_mltrain.engine.spec import Distribution, RunSpec

# 2-rank DDP, a checkpoint after every 5th step; rank 1 exits at step 23 on the first attempt only.
DDP_WITH_CHECKPOINTS = """
import sys
import torch
import torch.distributed as dist
import jupyter_mltrain as mt
from jupyter_mltrain.integrations.torch import load_checkpoint, save_checkpoint

dist.init_process_group("gloo")
rank = dist.get_rank()
torch.manual_seed(0)
model = torch.nn.parallel.DistributedDataParallel(torch.nn.Linear(4, 1))
opt = torch.optim.SGD(model.parameters(), lr=0.01)
start = load_checkpoint(model, opt)
print(f"rank {rank} attempt {mt.attempt()} resumed from step {start}", flush=True)
x, y = torch.randn(32, 4), torch.randn(32, 1)
for step in range(start, 40):
    if step == 23 and rank == 1 and mt.attempt() in FAILING_ATTEMPTS:
        sys.exit(3)
    opt.zero_grad()
    loss = torch.nn.functional.mse_loss(model(x), y)
    loss.backward()
    opt.step()
    mt.log("loss", loss.item(), step=step)
    if (step + 1) % 5 == 0:
        dist.barrier()  # every rank finished the step before rank 0 records it
        save_checkpoint(model, opt, step)
dist.barrier()
dist.destroy_process_group()
"""


def _spec(project: Path, max_restarts: int, failing_attempts: str = "(1,)") -> RunSpec:
    (project / "train.py").write_text(
        textwrap.dedent(DDP_WITH_CHECKPOINTS).replace("FAILING_ATTEMPTS", failing_attempts)
    )
    return RunSpec(
        entry="train.py",
        source=str(project),
        distribution=Distribution(mode="torch", processes_per_node=2),
        max_restarts=max_restarts,
        grace_period_s=2.0,
    )


@pytest.mark.timeout(240)
def test_a_failed_rank_restarts_the_job_which_resumes_from_its_checkpoint(store, project) -> None:
    run = submit(_spec(project, max_restarts=2), store)
    record = run.wait(timeout=200, raise_on_error=False)
    assert record.status == "Completed", (record.root_cause, run.logs(1)[-2000:])
    assert record.attempt == 2 and len(record.attempts) == 1
    first = record.attempts[0]
    assert first["attempt"] == 1 and first["root_cause"]["rank"] == 1 and first["root_cause"]["exit_code"] == 3
    assert first["exit_codes"][1] == 3
    assert record.stages["Running"] < record.stages["Running (attempt 2)"] < record.stages["Completed"]
    assert "rank 0 attempt 1 resumed from step 0" in run.logs(0)
    assert "rank 0 attempt 2 resumed from step 20" in run.logs(0)
    assert "---- mltrain: attempt 2 of 3 (attempt 1: rank 1 (worker)" in run.logs(1)
    for rank in (0, 1):
        steps = [m["step"] for m in run.metrics() if m["name"] == "loss" and m["rank"] == rank]
        assert sorted(steps) == list(range(40)), (rank, steps)  # every step once: attempt 2's replace the redone
    every = [m for m in run.metrics(every_attempt=True) if m["name"] == "loss" and m["rank"] == 0]
    assert {m["step"] for m in every if m.get("attempt") == 2} == set(range(20, 40))
    assert len(every) > 40  # attempt 1 logged steps 20..22 too, kept with every_attempt
    assert_no_process_left(run.id)


@pytest.mark.timeout(240)
def test_without_restarts_a_failure_ends_the_run_and_spent_restarts_fail_with_the_last_cause(store, project) -> None:
    record = submit(_spec(project, max_restarts=0), store).wait(timeout=120, raise_on_error=False)
    assert record.status == "Failed" and record.attempt == 1 and record.attempts == []
    assert record.root_cause is not None and record.root_cause.rank == 1

    run = submit(_spec(project, max_restarts=1, failing_attempts="(1, 2, 3)"), store)  # fails every time
    record = run.wait(timeout=200, raise_on_error=False)
    assert record.status == "Failed" and record.attempt == 2 and len(record.attempts) == 1
    assert record.root_cause is not None and record.root_cause.rank == 1 and record.root_cause.exit_code == 3
    assert "rank 1 attempt 2 resumed from step 20" in run.logs(1)
    assert_no_process_left(run.id)


MPI_FAILS_ON_THE_SECOND_HOST_ONCE = """
import os
from mpi4py import MPI
import jupyter_mltrain as mt

comm = MPI.COMM_WORLD
print("rank", comm.rank, "attempt", mt.attempt(), "on", os.uname().nodename, flush=True)
if comm.rank == 2 and mt.attempt() == 1:
    os._exit(7)
comm.Barrier()
(mt.checkpoint_dir() / f"rank-{comm.rank}-attempt-{mt.attempt()}").write_text("kept")
"""


@pytest.mark.timeout(300)
def test_a_killed_rank_on_an_ssh_target_restarts_there(sshd, project, store, tmp_path) -> None:
    from test_ssh_runs import cluster_toml

    (project / "mltrain.toml").write_text(cluster_toml(sshd, tmp_path / "remote-work"))
    (project / "main.py").write_text(textwrap.dedent(MPI_FAILS_ON_THE_SECOND_HOST_ONCE))
    spec = RunSpec(
        entry="main.py",
        source=str(project),
        target="cluster",
        max_restarts=1,
        grace_period_s=2.0,
        distribution=Distribution(mode="mpi", processes_per_node=2, nodes=2),
    )
    run = submit(spec, store)
    record = run.wait(timeout=240, raise_on_error=False)
    assert record.status == "Completed", (record.root_cause, record.attempts)
    assert record.attempt == 2 and record.attempts[0]["root_cause"]["rank"] == 2
    assert "rank 2 attempt 2" in run.logs(2)
    # the checkpoint folder lives in the run folder on the head, and came back with the outputs
    assert (Path(record.run_dir) / "checkpoints" / "rank-0-attempt-2").read_text() == "kept"
    assert_no_process_left(run.id)


CHECKPOINT_ON_SIGTERM = """
import signal, sys, time
import jupyter_mltrain as mt

def save_and_leave(signum, frame):
    time.sleep(1.0)  # a checkpoint that takes a while to write
    (mt.checkpoint_dir() / "last.ckpt").write_text("saved on SIGTERM")
    sys.exit(0)

signal.signal(signal.SIGTERM, save_and_leave)
print("training", flush=True)
time.sleep(120)
"""


@pytest.mark.timeout(120)
def test_a_stopped_run_has_the_grace_period_to_write_its_checkpoint(store, project) -> None:
    from helpers import wait_for

    (project / "train.py").write_text(textwrap.dedent(CHECKPOINT_ON_SIGTERM))
    run = submit(RunSpec(entry="train.py", source=str(project), grace_period_s=5.0), store)
    wait_for(lambda: "training" in run.logs(0), timeout=60, what="the run training")
    assert run.cancel(by="test")
    record = run.wait(timeout=60, raise_on_error=False)
    assert record.status == "Canceled"
    assert (Path(record.run_dir) / "checkpoints" / "last.ckpt").read_text() == "saved on SIGTERM"
    assert_no_process_left(run.id)
