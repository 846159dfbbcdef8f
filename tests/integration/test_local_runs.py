"""Runs on this machine end to end: real processes, real torch, nothing mocked."""

from __future__ import annotations

import json
import os
import textwrap
import time
import zlib
from pathlib import Path

import pytest
from conftest import assert_no_process_left, processes_of_run, wait_for

from jupyter_mltrain.api import submit
from jupyter_mltrain.engine.spec import Distribution, Environment, RunSpec
from jupyter_mltrain.hostside.errors import RunFailed


def _spec(project: Path, script: str, **kw) -> RunSpec:
    (project / "train.py").write_text(textwrap.dedent(script))
    return RunSpec(entry="train.py", source=str(project), **kw)


DDP_DIGITS = """
    import os, torch, torch.distributed as dist
    from sklearn.datasets import load_digits
    from jupyter_mltrain import log, outputs_dir
    dist.init_process_group("gloo")
    rank, world = dist.get_rank(), dist.get_world_size()
    print("env", os.environ["RANK"], os.environ["LOCAL_RANK"], os.environ["WORLD_SIZE"],
          os.environ["LOCAL_WORLD_SIZE"], os.environ["MASTER_ADDR"], os.environ["MASTER_PORT"], flush=True)
    torch.manual_seed(0)
    x, y = load_digits(return_X_y=True)
    x = torch.tensor(x, dtype=torch.float32) / 16.0
    y = torch.tensor(y)
    shard = slice(rank, None, world)
    x, y = x[shard], y[shard]
    model = torch.nn.parallel.DistributedDataParallel(torch.nn.Sequential(
        torch.nn.Linear(64, 32), torch.nn.ReLU(), torch.nn.Linear(32, 10)))
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    for step in range(60):
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        log("loss", loss.item(), step=step)
    acc = (model(x).argmax(1) == y).float().mean().item()
    log("accuracy", acc, step=59)
    print(f"rank {rank} done accuracy={acc:.3f}", flush=True)
    if rank == 0:
        (outputs_dir() / "model.pt").write_bytes(b"weights")
    dist.barrier()
    dist.destroy_process_group()
"""


@pytest.mark.timeout(180)
def test_torch_ddp_on_two_ranks_learns_digits_and_keeps_every_metric(store, project) -> None:
    run = submit(_spec(project, DDP_DIGITS, distribution=Distribution(mode="torch", processes_per_node=2)), store)
    record = run.wait(timeout=150)
    assert record.status == "Completed"
    assert record.exit_codes == [0, 0]
    assert list(record.stages) == ["Queued", "Preparing", "Running", "Finalizing", "Completed"]
    for rank in (0, 1):
        log = run.logs(rank=rank)
        assert f"rank {rank} done" in log
        env_line = next(line for line in log.splitlines() if line.startswith("env "))
        _, r, lr, ws, lws, addr, port = env_line.split()
        assert (r, lr, ws, lws, addr) == (str(rank), str(rank), "2", "2", "127.0.0.1")
        assert int(port) > 0
    metrics = run.metrics()
    losses = {(m["rank"], m["step"]): m["value"] for m in metrics if m["name"] == "loss"}
    assert set(losses) == {(r, s) for r in (0, 1) for s in range(60)}
    assert losses[(0, 59)] < losses[(0, 0)] * 0.5
    assert record.metrics["loss"]["count"] == 120
    assert record.metrics["accuracy"]["last"] > 0.8
    assert (Path(record.run_dir) / "outputs" / "model.pt").read_bytes() == b"weights"
    env = json.loads((Path(record.run_dir) / "env.json").read_text())
    assert env["python"] and "torch" in env["packages"] and env["hosts"]
    assert_no_process_left(run.id)


@pytest.mark.timeout(120)
def test_rank_exit_code_fails_the_run_names_the_rank_and_leaves_no_process(store, project) -> None:
    script = """
        import os, sys, time
        print("started", flush=True)
        if os.environ["RANK"] == "1":
            time.sleep(0.5)
            print("about to fail", file=sys.stderr, flush=True)
            sys.exit(3)
        time.sleep(300)
    """
    run = submit(_spec(project, script, distribution=Distribution(processes_per_node=3)), store)
    with pytest.raises(RunFailed, match="rank 1"):
        run.wait(timeout=60)
    record = run.record
    assert record.status == "Failed"
    cause = record.root_cause
    assert cause.rank == 1 and cause.exit_code == 3 and cause.signal is None
    assert "exited with code 3" in cause.message
    assert "about to fail" in cause.stderr_tail
    assert record.exit_codes[1] == 3
    assert_no_process_left(run.id)


@pytest.mark.timeout(120)
def test_python_traceback_of_the_failing_rank_is_in_the_root_cause(store, project) -> None:
    script = """
        import os
        def load():
            raise ValueError("bad shard 7")
        if os.environ["RANK"] == "0":
            load()
    """
    run = submit(_spec(project, script, distribution=Distribution(processes_per_node=2)), store)
    record = run.wait(timeout=60, raise_on_error=False)
    assert record.status == "Failed"
    tb = record.root_cause.traceback
    assert tb.startswith("Traceback (most recent call last):")
    assert "in load" in tb and "ValueError: bad shard 7" in tb
    assert_no_process_left(run.id)


@pytest.mark.timeout(120)
def test_a_rank_killed_by_a_signal_is_reported_with_the_signal(store, project) -> None:
    script = """
        import os, signal, time
        if os.environ["RANK"] == "1":
            os.kill(os.getpid(), signal.SIGKILL)
        time.sleep(300)
    """
    run = submit(_spec(project, script, distribution=Distribution(processes_per_node=2)), store)
    record = run.wait(timeout=60, raise_on_error=False)
    assert record.status == "Failed"
    assert record.root_cause.rank == 1 and record.root_cause.signal == 9
    assert "SIGKILL" in record.root_cause.message
    assert_no_process_left(run.id)


@pytest.mark.timeout(120)
def test_a_rank_aborting_because_its_peer_failed_is_not_the_root_cause(store, project) -> None:
    # what gloo or NCCL do: rank 1 exits with an error and its interpreter takes a while to end; its sockets
    # are gone at once, and rank 0's collective aborts (SIGABRT) before rank 1's process has ended
    script = f"""
        import atexit, os, sys, time
        from pathlib import Path
        flag = Path({str(project / "rank1-failed")!r})
        if os.environ["RANK"] == "1":
            atexit.register(time.sleep, 1.0)
            flag.write_text("x")
            sys.exit(3)
        while not flag.exists():
            time.sleep(0.01)
        os.abort()
    """
    run = submit(_spec(project, script, distribution=Distribution(processes_per_node=2)), store)
    record = run.wait(timeout=60, raise_on_error=False)
    assert record.status == "Failed" and record.exit_codes == [-6, 3], record.root_cause.message
    assert record.root_cause.rank == 1 and record.root_cause.exit_code == 3, record.root_cause.message
    assert_no_process_left(run.id)


@pytest.mark.timeout(120)
def test_cancel_stops_every_rank_even_one_ignoring_sigterm(store, project) -> None:
    script = """
        import os, signal, time, subprocess, sys
        if os.environ["RANK"] == "1":
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"])
        print("ready", flush=True)
        time.sleep(300)
    """
    spec = _spec(project, script, distribution=Distribution(processes_per_node=2), grace_period_s=1.0)
    run = submit(spec, store)
    wait_for(lambda: "ready" in run.logs(rank=1) and "ready" in run.logs(rank=0), 60, what="ranks ready")
    assert len(processes_of_run(run.id)) >= 5  # supervisor, 2 agents, 2 programs, their children
    started = time.monotonic()
    assert run.cancel(by="test") is True
    record = run.wait(timeout=30, raise_on_error=False)
    assert record.status == "Canceled"
    assert "test" in record.root_cause.message
    assert_no_process_left(run.id, within=10)
    assert time.monotonic() - started < 10


@pytest.mark.timeout(240)
def test_a_million_line_log_keeps_every_line(store, project) -> None:
    script = """
        import sys
        w = sys.stdout.write
        for i in range(1_000_000):
            w(f"line {i} " + "x" * (i % 50) + "\\n")
    """
    run = submit(_spec(project, script), store)
    run.wait(timeout=200)
    path = Path(run.record.run_dir) / "logs" / "rank-0.log"
    expected = hashlib_lines(1_000_000)
    with open(path, "rb") as fh:
        count = 0
        for i, line in enumerate(fh):
            assert line == expected(i), f"line {i} damaged: {line[:80]!r}"
            count += 1
    assert count == 1_000_000


def hashlib_lines(n: int):
    def line(i: int) -> bytes:
        return (f"line {i} " + "x" * (i % 50) + "\n").encode()

    return line


MIXED_LINES = """
    import os, random, sys, zlib
    rank = int(os.environ["RANK"])
    rnd = random.Random(rank)
    out = sys.stdout.buffer
    for i in range(__N__):
        r = rnd.random()
        size = rnd.randint(60_000, 70_000) if r < 0.01 else rnd.randint(1_000, 8_000) if r < 0.1 else rnd.randint(0, 120)
        body = (f"{rank}-{i}-" * (size // 8 + 1))[:size].encode()
        out.write(b"%d %d %08x " % (rank, i, zlib.crc32(body)) + body + b"\\n")
    out.flush()
"""


@pytest.mark.timeout(300)
def test_mpi_ranks_flooding_mixed_lines_keep_every_line_intact(store, project) -> None:
    n = 20_000
    run = submit(
        _spec(
            project, MIXED_LINES.replace("__N__", str(n)), distribution=Distribution(mode="mpi", processes_per_node=4)
        ),
        store,
    )
    record = run.wait(timeout=280)
    assert record.status == "Completed"
    for rank in range(4):
        with open(Path(record.run_dir) / "logs" / f"rank-{rank}.log", "rb") as fh:
            lines = fh.read().split(b"\n")
        assert lines[-1] == b""
        lines = lines[:-1]
        assert len(lines) == n, f"rank {rank}: {len(lines)} lines"
        for i, line in enumerate(lines):
            r, idx, crc, body = line.split(b" ", 3)
            assert (int(r), int(idx)) == (rank, i)
            assert int(crc, 16) == zlib.crc32(body), f"rank {rank} line {i} corrupt"
    assert_no_process_left(run.id)


@pytest.mark.timeout(120)
def test_mpi_mode_runs_an_mpi4py_allreduce(store, project) -> None:
    script = """
        from mpi4py import MPI
        from jupyter_mltrain import log, rank, world_size
        comm = MPI.COMM_WORLD
        total = comm.allreduce(comm.Get_rank() + 1, op=MPI.SUM)
        print(f"mpi rank {comm.Get_rank()} of {comm.Get_size()} sum={total} env_rank={rank()} env_world={world_size()}")
        log("sum", total)
    """
    run = submit(_spec(project, script, distribution=Distribution(mode="mpi", processes_per_node=2)), store)
    record = run.wait(timeout=100)
    assert record.status == "Completed"
    assert "mpi rank 0 of 2 sum=3 env_rank=0 env_world=2" in run.logs(rank=0)
    assert "mpi rank 1 of 2 sum=3 env_rank=1 env_world=2" in run.logs(rank=1)
    assert sorted((m["rank"], m["value"]) for m in run.metrics() if m["name"] == "sum") == [(0, 3), (1, 3)]
    assert_no_process_left(run.id)


@pytest.mark.timeout(120)
def test_mpi_rank_failure_names_the_rank(store, project) -> None:
    script = """
        import os, sys, time
        if os.environ["RANK"] == "1":
            sys.exit(3)
        time.sleep(300)
    """
    run = submit(
        _spec(project, script, distribution=Distribution(mode="mpi", processes_per_node=2), grace_period_s=2), store
    )
    record = run.wait(timeout=100, raise_on_error=False)
    assert record.status == "Failed"
    assert record.root_cause.rank == 1 and record.root_cause.exit_code == 3
    assert_no_process_left(run.id)


@pytest.mark.timeout(120)
def test_concurrent_torch_runs_get_distinct_ports_and_both_complete(store, tmp_path) -> None:
    script = """
        import os, torch.distributed as dist
        dist.init_process_group("gloo")
        print("port", os.environ["MASTER_PORT"], flush=True)
        dist.barrier()
        dist.destroy_process_group()
    """
    runs = []
    for i in range(2):
        project = tmp_path / f"p{i}"
        project.mkdir()
        runs.append(
            submit(_spec(project, script, distribution=Distribution(mode="torch", processes_per_node=2)), store)
        )
    assert runs[0].id != runs[1].id
    ports = []
    for run in runs:
        assert run.wait(timeout=100).status == "Completed"
        ports.append(run.logs(rank=0).split()[1])
    assert ports[0] != ports[1]


@pytest.mark.timeout(60)
def test_secret_variables_reach_the_ranks_but_never_the_disk(store, project) -> None:
    script = """
        import os
        print("secret-ok" if os.environ["API_TOKEN"] == "hunter2" else "secret-missing")
        print("plain", os.environ["PLAIN"])
    """
    spec = _spec(project, script, environment=Environment(variables={"API_TOKEN": "hunter2", "PLAIN": "v"}))
    run = submit(spec, store)
    record = run.wait(timeout=50)
    assert "secret-ok" in run.logs() and "plain v" in run.logs()
    for path in Path(record.run_dir).rglob("*"):
        if path.is_file() and not path.is_relative_to(Path(record.run_dir) / "snapshot"):
            assert b"hunter2" not in path.read_bytes(), path
    assert b"hunter2" not in store.index_path.read_bytes()


@pytest.mark.timeout(60)
def test_inputs_are_linked_into_the_run_and_passed_by_name(store, project, tmp_path) -> None:
    data = tmp_path / "data.csv"
    data.write_text("a,b\n1,2\n")
    script = """
        from jupyter_mltrain import input_path
        print(input_path("table").read_text().splitlines()[1])
    """
    run = submit(_spec(project, script, inputs={"table": str(data)}), store)
    run.wait(timeout=50)
    assert "1,2" in run.logs()


@pytest.mark.timeout(60)
def test_outside_a_run_log_is_a_no_op_that_warns_once(tmp_path) -> None:
    import subprocess
    import sys

    code = "import warnings\nfrom jupyter_mltrain import log\nlog('a', 1)\nlog('a', 2)\nprint('ok')"
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLTRAIN_")}
    out = subprocess.run([sys.executable, "-W", "always", "-c", code], capture_output=True, text=True, env=env)
    assert out.stdout.strip() == "ok"
    assert out.stderr.count("not running inside an mltrain run") == 1


@pytest.mark.timeout(60)
@pytest.mark.parametrize("gather, kept", [("rank0", {"r0.txt"}), ("all", {"r0.txt", "rank-1/r1.txt"})])
def test_outputs_of_rank0_or_of_all_ranks_are_kept(store, project, gather, kept) -> None:
    script = """
        from jupyter_mltrain import outputs_dir, rank
        (outputs_dir() / f"r{rank()}.txt").write_text(str(rank()))
    """
    run = submit(_spec(project, script, distribution=Distribution(processes_per_node=2), gather_outputs=gather), store)
    outputs = Path(run.wait(timeout=50).run_dir) / "outputs"
    assert {str(p.relative_to(outputs)) for p in outputs.rglob("*.txt")} == kept
