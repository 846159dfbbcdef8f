"""Runs on a Slurm target, on a real one-node Slurm (slurmctld, slurmd, munged started by the tests)."""

from __future__ import annotations

import subprocess
import textwrap
from pathlib import Path

import pytest
from helpers import assert_no_process_left, wait_for

from jupyter_mltrain.api import submit
from jupyter_mltrain.engine.spec import Distribution, RunSpec
from jupyter_mltrain.engine.store import Store

DDP = textwrap.dedent("""
    import time, torch, torch.distributed as dist
    import jupyter_mltrain as mt
    dist.init_process_group("gloo")
    rank, world = dist.get_rank(), dist.get_world_size()
    model = torch.nn.parallel.DistributedDataParallel(torch.nn.Linear(4, 1))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    x = torch.randn(32, 4)
    for step in range(10):
        opt.zero_grad()
        loss = model(x).pow(2).mean()
        loss.backward()
        opt.step()
        mt.log("loss", loss.item(), step=step)
        time.sleep(0.3)
    print("rank", rank, "of", world, "job", __import__("os").environ.get("SLURM_JOB_ID"), flush=True)
    dist.barrier()
    dist.destroy_process_group()
""")


@pytest.fixture
def hpc(slurm, project: Path) -> Path:
    (project / "mltrain.toml").write_text(
        '[targets.hpc]\nkind = "slurm"\npartition = "debug"\n'
        '[targets.short]\nkind = "slurm"\npartition = "debug"\ntime = "1"\n'
        '[targets.later]\nkind = "slurm"\nsbatch_options = ["--begin=now+6"]\n'
    )
    return project


def squeue() -> str:
    return subprocess.run(["squeue", "-h"], capture_output=True, text=True, timeout=30).stdout.strip()


@pytest.mark.timeout(240)
def test_a_two_task_job_trains_and_streams_metrics_while_it_runs(hpc: Path, store: Store) -> None:
    (hpc / "main.py").write_text(DDP)
    run = submit(
        RunSpec(
            entry="main.py",
            source=str(hpc),
            target="hpc",
            distribution=Distribution(mode="torch", processes_per_node=2),
        ),
        store,
    )
    wait_for(lambda: run.metrics() and run.status == "Running", timeout=120, what="a metric while the job runs")
    record = run.wait(raise_on_error=False, timeout=180)
    assert record.status == "Completed", (record.root_cause, (run.folder.path / "supervisor.log").read_text()[-2000:])
    jobs = {run.logs(r).split()[-1] for r in range(2)}
    assert len(jobs) == 1 and jobs != {"None"}, "both ranks ran in the one batch job"
    assert sorted({m["rank"] for m in run.metrics() if m["name"] == "loss"}) == [0, 1]
    launched = (run.folder.path / "supervisor.log").read_text().split("mltrain: launched ", 1)[1].splitlines()[0]
    assert "--partition=debug" in __import__("json").loads(launched)["sbatch"]
    assert_no_process_left(run.id)


@pytest.mark.timeout(240)
def test_cancel_scancels_the_job(hpc: Path, store: Store) -> None:
    (hpc / "main.py").write_text("import time\nprint('up', flush=True)\ntime.sleep(300)\n")
    run = submit(
        RunSpec(
            entry="main.py",
            source=str(hpc),
            target="hpc",
            grace_period_s=3,
            distribution=Distribution(processes_per_node=2),
        ),
        store,
    )
    wait_for(lambda: run.logs(0).startswith("up") and run.logs(1).startswith("up"), timeout=120, what="both tasks up")
    assert run.cancel(by="test")
    assert run.wait(raise_on_error=False, timeout=90).status == "Canceled"
    wait_for(lambda: "mltrain" not in squeue(), timeout=60, what="the job gone from squeue")
    assert_no_process_left(run.id)


@pytest.mark.timeout(300)
def test_a_job_over_its_time_limit_fails_with_slurm_s_reason(hpc: Path, store: Store) -> None:
    (hpc / "main.py").write_text("import time\nprint('up', flush=True)\ntime.sleep(600)\n")
    run = submit(RunSpec(entry="main.py", source=str(hpc), target="short"), store)
    record = run.wait(raise_on_error=False, timeout=280)
    assert record.status == "Failed"
    assert "TIMEOUT" in record.root_cause.message and "time limit" in record.root_cause.message
    assert_no_process_left(run.id)


@pytest.mark.timeout(240)
def test_the_time_in_slurm_s_queue_is_the_queued_stage(hpc: Path, store: Store) -> None:
    (hpc / "main.py").write_text("print('ran')\n")
    run = submit(RunSpec(entry="main.py", source=str(hpc), target="later"), store)
    wait_for(lambda: "mltrain" in squeue(), timeout=60, what="the job in squeue")
    assert run.status == "Queued", "held by the scheduler: the run is Queued"
    record = run.wait(raise_on_error=False, timeout=180)
    assert record.status == "Completed" and run.logs(0) == "ran\n"
    assert record.stages["Preparing"] - record.stages["Queued"] >= 4.0


@pytest.mark.timeout(240)
def test_a_login_node_reached_over_ssh_runs_the_job_and_relays_everything(
    slurm, sshd, project: Path, store: Store, tmp_path: Path
) -> None:
    import sys

    work = tmp_path / "cluster-home"
    (project / "mltrain.toml").write_text(
        f'[targets.remote-hpc]\nkind = "slurm"\nlogin_host = "127.0.0.2"\nport = {sshd.port}\n'
        f'identity = "{sshd.client_key}"\nknown_hosts = "{sshd.known_hosts}"\npython = "{sys.executable}"\n'
        f'workdir = "{work}"\ncollector_host = "127.0.0.2"\nenv = {{ SLURM_CONF = "{slurm.conf}" }}\n'
    )
    (project / "main.py").write_text(
        DDP.replace('print("rank"', '(mt.outputs_dir() / f"r{rank}.txt").write_text("x")\nprint("rank"')
    )
    run = submit(
        RunSpec(
            entry="main.py",
            source=str(project),
            target="remote-hpc",
            distribution=Distribution(mode="torch", processes_per_node=2),
        ),
        store,
    )
    record = run.wait(raise_on_error=False, timeout=200)
    assert record.status == "Completed", (record.root_cause, (run.folder.path / "supervisor.log").read_text()[-2000:])
    assert sorted({m["rank"] for m in run.metrics() if m["name"] == "loss"}) == [0, 1]
    assert run.logs(1).startswith("rank 1 of 2 job ")
    assert (run.folder.path / "outputs" / "r0.txt").read_text() == "x"  # rank 0's outputs, copied back over ssh
    assert (work / run.id / "main.py").is_file(), "the snapshot was staged to the login host's filesystem"
    assert_no_process_left(run.id)


REQUEUED = textwrap.dedent("""
    import os, time
    import jupyter_mltrain as mt
    print("attempt", mt.attempt(), "slurm restart", os.environ.get("SLURM_RESTART_COUNT", "0"), flush=True)
    mt.log("attempt", mt.attempt(), step=mt.attempt())
    if mt.attempt() == 1:
        time.sleep(120)  # requeued meanwhile
    (mt.checkpoint_dir() / "seen").write_text(str(mt.attempt()))
""")


@pytest.mark.timeout(300)
def test_a_requeued_job_continues_the_same_run_as_its_next_attempt(hpc: Path, store: Store) -> None:
    import json
    import re

    (hpc / "train.py").write_text(REQUEUED)
    run = submit(RunSpec(entry="train.py", source=str(hpc), target="hpc", grace_period_s=2.0), store)
    wait_for(lambda: any(m["name"] == "attempt" for m in run.metrics()), timeout=120, what="attempt 1 logging")
    launched = re.search(r"mltrain: launched (\{.*\})", (Path(run.record.run_dir) / "supervisor.log").read_text())
    assert launched is not None
    job = str(json.loads(launched.group(1))["job_id"])
    subprocess.run(["scontrol", "requeue", job], check=True, timeout=30)
    # Slurm holds a requeued job back for a while (its BeginTime); the test does not wait for that
    wait_for(
        lambda: (
            "BeginTime" in subprocess.run(["scontrol", "show", "job", job], capture_output=True, text=True).stdout
            or "RUNNING" in squeue()
        ),
        timeout=30,
        what="the requeued job pending",
    )
    subprocess.run(["scontrol", "update", f"JobId={job}", "StartTime=now"], timeout=30)
    record = run.wait(timeout=200, raise_on_error=False)
    assert record.status == "Completed", (record.root_cause, record.attempts, run.logs(0)[-2000:])
    assert record.attempt == 2 and len(record.attempts) == 1
    assert "requeued" in record.attempts[0]["root_cause"]["message"]
    # the timeline shows the second wait in Slurm's queue, then the second attempt running
    assert record.stages["Running"] < record.stages["Queued (attempt 2)"] <= record.stages["Running (attempt 2)"]
    assert "attempt 2 slurm restart 1" in run.logs(0)
    assert (Path(record.run_dir) / "checkpoints" / "seen").read_text() == "2"
    assert [m["value"] for m in run.metrics() if m["name"] == "attempt"] == [1, 2]
    assert_no_process_left(run.id)
