"""Runs on an ssh target: two "hosts" (127.0.0.2, .3) reached through a real sshd, mpirun across them."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest
from helpers import assert_no_process_left

from jupyter_mltrain.api import submit
from jupyter_mltrain.engine.spec import Distribution, RunSpec
from jupyter_mltrain.engine.store import Store


def cluster_toml(sshd, work: Path) -> str:
    rsh = f"-p {sshd.port} -i {sshd.client_key} -o UserKnownHostsFile={sshd.known_hosts} -o StrictHostKeyChecking=yes -o BatchMode=yes"
    extra = (
        f'python = "{sys.executable}"\nmpirun = "/usr/bin/mpirun"\nworkdir = "{work}"\n'
        # both "hosts" are one machine: shared-memory transport (vader) would mix their segments
        f'mpirun_args = ["--mca", "btl", "self,tcp", "--mca", "oob_tcp_if_include", "lo", "--mca", "btl_tcp_if_include", "lo", '
        f'"--mca", "plm_rsh_args", "{rsh}"]\nenv = {{ GLOO_SOCKET_IFNAME = "lo" }}\n'
    )
    return sshd.target_toml(extra=extra)


@pytest.fixture
def cluster(sshd, project: Path, tmp_path: Path) -> Path:
    work = tmp_path / "remote-work"
    (project / "mltrain.toml").write_text(cluster_toml(sshd, work))
    return work


MPI_SCRIPT = textwrap.dedent("""
    import os, socket
    from mpi4py import MPI
    import jupyter_mltrain as mt
    comm = MPI.COMM_WORLD
    total = comm.allreduce(comm.Get_rank(), op=MPI.SUM)
    mt.log("total", total, step=0)
    print(f"rank {mt.rank()} of {mt.world_size()} local {mt.local_rank()} sum {total} cwd-ok {os.path.exists('main.py')}", flush=True)
    if mt.rank() == 0:
        (mt.outputs_dir() / "result.txt").write_text(str(total))
""")


@pytest.mark.timeout(240)
def test_mpi_across_two_hosts_streams_logs_metrics_and_brings_outputs_back(
    cluster: Path, project: Path, store: Store
) -> None:
    (project / "main.py").write_text(MPI_SCRIPT)
    spec = RunSpec(
        entry="main.py",
        source=str(project),
        target="cluster",
        distribution=Distribution(mode="mpi", processes_per_node=2, nodes=2),
    )
    run = submit(spec, store)
    record = run.wait(raise_on_error=False, timeout=180)
    assert record.status == "Completed", (record.root_cause, (run.folder.path / "supervisor.log").read_text()[-3000:])
    for rank in range(4):
        assert run.logs(rank).strip() == f"rank {rank} of 4 local {rank % 2} sum 6 cwd-ok True"
    assert sorted(m["rank"] for m in run.metrics() if m["name"] == "total") == [0, 1, 2, 3]
    assert (run.folder.path / "outputs" / "result.txt").read_text() == "6"
    assert not (cluster / run.id).exists(), "the remote run folder is removed after a completed run"
    import json

    env = json.loads((run.folder.path / "env.json").read_text())
    assert env["measured_on"] == "127.0.0.2" and "mpi4py" in env["packages"] and env["python_version"].count(".") == 2
    assert_no_process_left(run.id)


DDP_SCRIPT = textwrap.dedent("""
    import torch, torch.distributed as dist
    import jupyter_mltrain as mt
    dist.init_process_group("gloo")
    rank, world = dist.get_rank(), dist.get_world_size()
    torch.manual_seed(0)
    x = torch.randn(64, 4)[rank::world]
    y = x.sum(dim=1, keepdim=True)
    model = torch.nn.parallel.DistributedDataParallel(torch.nn.Linear(4, 1))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    for step in range(20):
        opt.zero_grad()
        loss = torch.nn.functional.mse_loss(model(x), y)
        loss.backward()
        opt.step()
        mt.log("loss", loss.item(), step=step)
    weights = [round(v, 6) for v in model.module.weight.detach().flatten().tolist()]
    print("rank", rank, "of", world, "weights", weights, flush=True)
    dist.barrier()
    dist.destroy_process_group()
""")


@pytest.mark.timeout(240)
def test_torch_ddp_across_two_hosts(cluster: Path, project: Path, store: Store) -> None:
    (project / "main.py").write_text(DDP_SCRIPT)
    spec = RunSpec(
        entry="main.py",
        source=str(project),
        target="cluster",
        distribution=Distribution(mode="torch", processes_per_node=2, nodes=2),
    )
    run = submit(spec, store)
    record = run.wait(raise_on_error=False, timeout=200)
    assert record.status == "Completed", (record.root_cause, (run.folder.path / "supervisor.log").read_text()[-3000:])
    weights = {run.logs(r).split("weights")[1].strip() for r in range(4)}
    assert len(weights) == 1, "DDP keeps the replicas identical across hosts"
    losses = [m["value"] for m in run.metrics() if m["name"] == "loss" and m["rank"] == 3]
    assert len(losses) == 20 and losses[-1] < losses[0]
    assert run.spec().to_dict()["target"] == "cluster"
    assert_no_process_left(run.id)


SLEEPER = "import time, jupyter_mltrain as mt\nprint('up', mt.rank(), flush=True)\ntime.sleep(300)\n"


def _start(project: Path, store: Store, script: str):
    from helpers import wait_for

    (project / "main.py").write_text(script)
    spec = RunSpec(
        entry="main.py",
        source=str(project),
        target="cluster",
        grace_period_s=3,
        distribution=Distribution(mode="mpi", processes_per_node=2, nodes=2),
    )
    run = submit(spec, store)
    wait_for(lambda: all(run.logs(r).startswith("up") for r in range(4)), timeout=120, what="all 4 ranks up")
    return run


@pytest.mark.timeout(240)
def test_cancel_stops_every_rank_on_every_host(cluster: Path, project: Path, store: Store) -> None:
    run = _start(project, store, SLEEPER)
    assert run.cancel(by="test")
    record = run.wait(raise_on_error=False, timeout=60)
    assert record.status == "Canceled"
    assert_no_process_left(run.id)
    assert (cluster / run.id).exists(), "cleanup = on-success keeps a canceled run's folder for inspection"


@pytest.mark.timeout(240)
def test_a_remote_rank_killed_fails_the_run_naming_it(cluster: Path, project: Path, store: Store) -> None:
    from helpers import processes_of_run

    run = _start(project, store, SLEEPER)
    victims = [
        p
        for p in processes_of_run(run.id)
        # the program itself, under hostside.watch in mpi mode (not its rank agent)
        if p.cmdline()[1:] == ["-m", "jupyter_mltrain.hostside.watch", "main.py"]
        and p.environ().get("OMPI_COMM_WORLD_RANK") == "2"
    ]
    assert len(victims) == 1
    victims[0].kill()
    record = run.wait(raise_on_error=False, timeout=60)
    assert record.status == "Failed" and record.root_cause.rank == 2
    assert "SIGKILL" in record.root_cause.message
    assert_no_process_left(run.id)


@pytest.mark.timeout(240)
def test_a_cut_ssh_connection_fails_the_run_and_leaves_nothing(cluster: Path, project: Path, store: Store) -> None:
    import json

    import psutil

    run = _start(project, store, SLEEPER)
    launched = json.loads(
        (run.folder.path / "supervisor.log").read_text().split("mltrain: launched ", 1)[1].splitlines()[0]
    )
    psutil.Process(launched["pid"]).kill()  # the local ssh client: the connection is gone
    record = run.wait(raise_on_error=False, timeout=60)
    assert record.status == "Failed"
    assert "connection to head host 127.0.0.2 lost" in record.root_cause.message
    assert_no_process_left(run.id)


HANG_SCRIPT = textwrap.dedent("""
    import os, signal, threading, time
    from mpi4py import MPI
    import jupyter_mltrain as mt
    comm = MPI.COMM_WORLD
    comm.allreduce(1)

    def tick():  # output never stops on every rank at once: the hang is the missing heartbeat
        while True:
            print("tick", flush=True)
            time.sleep(0.5)

    def stop_here():
        os.kill(os.getpid(), signal.SIGSTOP)

    def wait_in_collective():
        comm.allreduce(1)

    threading.Thread(target=tick, daemon=True).start()
    print("up", mt.rank(), flush=True)
    if mt.rank() == 2:
        time.sleep(1)
        stop_here()
    wait_in_collective()
""")


@pytest.mark.timeout(240)
def test_a_stopped_rank_on_the_second_host_is_a_hang_with_every_remote_rank_s_stack(
    cluster: Path, project: Path, store: Store
) -> None:
    from helpers import wait_for

    (project / "main.py").write_text(HANG_SCRIPT)
    spec = RunSpec(
        entry="main.py",
        source=str(project),
        target="cluster",
        grace_period_s=3,
        hang_timeout_s=3.0,
        distribution=Distribution(mode="mpi", processes_per_node=2, nodes=2),
    )
    run = submit(spec, store)
    wait_for(lambda: all("up" in run.logs(r) for r in range(4)), timeout=120, what="all 4 ranks up")
    record = run.wait(raise_on_error=False, timeout=90)
    cause = record.root_cause
    assert record.status == "Failed", cause
    assert cause.hang is True and cause.rank == 2, cause
    assert "rank 2 (worker)" in cause.message and "no heartbeat" in cause.message
    assert cause.process_state == "T (stopped)", "the state comes from the rank's host"
    stacks = {r: (Path(record.run_dir) / "stacks" / f"rank-{r}.txt").read_text() for r in range(4)}
    for rank, text in stacks.items():
        assert text.splitlines()[0].endswith("(ssh)"), text  # asked over ssh, not as a local process
    # The stopped rank: only py-spy can read it.
    assert "state T (stopped)" in stacks[2]
    assert "stop_here (main.py:" in stacks[2].split("## py-spy dump")[1].split("## faulthandler")[0]
    assert "no answer" in stacks[2].split("## faulthandler")[1]
    # The waiting ranks, on both hosts: faulthandler answered SIGQUIT once, and py-spy agrees.
    for rank in (0, 1, 3):
        printed = stacks[rank].split("## faulthandler")[1]
        assert printed.count("in wait_in_collective") == 1, stacks[rank]
        assert 'main.py", line' in printed
        assert "wait_in_collective (main.py:" in stacks[rank].split("## py-spy dump")[1]
    assert "in wait_in_collective" in run.logs(3), "the stacks travelled back in the rank's log too"
    assert_no_process_left(run.id)


TF_SCRIPT = textwrap.dedent("""
    import json, os
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import numpy as np
    import tensorflow as tf
    from jupyter_mltrain.integrations.keras import MLTrainCallback, keras_module
    keras = keras_module()
    config = json.loads(os.environ["TF_CONFIG"])
    print("TF_CONFIG", json.dumps(config, sort_keys=True), flush=True)
    strategy = tf.distribute.MultiWorkerMirroredStrategy()
    rng = np.random.default_rng(0)
    x = rng.normal(size=(256, 4)).astype("float32")
    y = (x.sum(axis=1, keepdims=True) > 0).astype("float32")
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    data = tf.data.Dataset.from_tensor_slices((x, y)).batch(32).with_options(options)
    with strategy.scope():
        model = keras.Sequential([keras.layers.Input((4,)), keras.layers.Dense(1, activation="sigmoid")])
        model.compile(optimizer="adam", loss="binary_crossentropy")
    model.fit(data, epochs=2, verbose=0, callbacks=[MLTrainCallback()])
""")


@pytest.mark.timeout(300)
def test_tf_multi_worker_across_two_hosts_gets_the_real_hosts_in_tf_config(
    cluster: Path, project: Path, store: Store
) -> None:
    import json

    (project / "main.py").write_text(TF_SCRIPT)
    spec = RunSpec(
        entry="main.py",
        source=str(project),
        target="cluster",
        distribution=Distribution(mode="tf", processes_per_node=1, nodes=2),
    )
    run = submit(spec, store)
    record = run.wait(raise_on_error=False, timeout=280)
    assert record.status == "Completed", (record.root_cause, (run.folder.path / "supervisor.log").read_text()[-3000:])
    configs = [json.loads(run.logs(r).split("TF_CONFIG ", 1)[1].splitlines()[0]) for r in range(2)]
    workers = configs[0]["cluster"]["worker"]
    assert [w.split(":")[0] for w in workers] == ["127.0.0.2", "127.0.0.3"]
    assert [c["task"] for c in configs] == [{"type": "worker", "index": 0}, {"type": "worker", "index": 1}]
    assert sorted({m["rank"] for m in run.metrics() if m["name"] == "loss"}) == [0, 1]


def test_an_unreachable_host_fails_the_submit_within_ten_seconds(
    sshd, project: Path, store: Store, tmp_path: Path
) -> None:
    import time

    from jupyter_mltrain.hostside.errors import TargetError

    (project / "mltrain.toml").write_text(sshd.target_toml(hosts=("127.0.0.2", "127.0.0.5")))
    (project / "main.py").write_text("print(1)\n")
    spec = RunSpec(
        entry="main.py",
        source=str(project),
        target="cluster",
        distribution=Distribution(mode="mpi", processes_per_node=1, nodes=2),
    )
    start = time.monotonic()
    with pytest.raises(TargetError, match=r"127\.0\.0\.5: connection refused.*") as info:
        submit(spec, store)
    assert time.monotonic() - start <= 10 and "nothing launched" in str(info.value)
    assert store.list() == []


@pytest.mark.timeout(300)
def test_requirements_venv_is_built_once_per_host_and_reused(
    cluster: Path, project: Path, store: Store, tmp_path: Path
) -> None:
    from test_requirements import make_wheel

    from jupyter_mltrain.engine.spec import Environment

    wheel = make_wheel(tmp_path, "on-the-hosts")
    (project / "main.py").write_text(
        "import sys, mltrain_testpkg, jupyter_mltrain as mt\n"
        "print(mt.rank(), mltrain_testpkg.VALUE, sys.prefix, flush=True)\n"
    )
    spec = RunSpec(
        entry="main.py",
        source=str(project),
        target="cluster",
        environment=Environment(requirements=f"{wheel}\n"),
        distribution=Distribution(mode="none", processes_per_node=1, nodes=2),
    )
    first = submit(spec, store)
    record = first.wait(raise_on_error=False, timeout=240)
    assert record.status == "Completed", (record.root_cause, (first.folder.path / "supervisor.log").read_text()[-3000:])
    prefixes = {first.logs(r).split()[2] for r in range(2)}
    assert {first.logs(r).split()[1] for r in range(2)} == {"on-the-hosts"} and len(prefixes) == 1
    (prefix,) = prefixes
    assert Path(prefix).parent == cluster / "envs"
    marker = Path(prefix) / ".mltrain-complete"
    built = marker.stat().st_mtime_ns
    second = submit(spec, store)
    assert second.wait(raise_on_error=False, timeout=120).status == "Completed"
    assert {second.logs(r).split()[2] for r in range(2)} == {prefix}
    assert marker.stat().st_mtime_ns == built, "the second run reused the environment"


@pytest.mark.timeout(300)
def test_horovod_across_two_hosts_keeps_parameters_identical(cluster: Path, project: Path, store: Store) -> None:
    from test_horovod import HOROVOD_SCRIPT

    (project / "main.py").write_text(HOROVOD_SCRIPT)
    run = submit(
        RunSpec(
            entry="main.py",
            source=str(project),
            target="cluster",
            distribution=Distribution(mode="horovod", processes_per_node=1, nodes=2),
        ),
        store,
    )
    record = run.wait(raise_on_error=False, timeout=280)
    assert record.status == "Completed", (record.root_cause, (run.folder.path / "supervisor.log").read_text()[-3000:])
    digests = {line.split("sha256=")[1] for r in range(2) for line in run.logs(r).splitlines() if "PARAMS" in line}
    assert len(digests) == 1
    assert "HVD rank=1 size=2" in run.logs(1)


@pytest.mark.timeout(300)
def test_tf_parameter_server_across_two_hosts_completes_with_the_chief(
    cluster: Path, project: Path, store: Store
) -> None:
    from test_tensorflow import PS_SCRIPT

    (project / "main.py").write_text(PS_SCRIPT)
    spec = RunSpec(
        entry="main.py",
        source=str(project),
        target="cluster",
        distribution=Distribution(mode="tf-ps", processes_per_node=2, nodes=2, workers=2, parameter_servers=1),
    )
    run = submit(spec, store)
    record = run.wait(raise_on_error=False, timeout=280)
    assert record.status == "Completed", (record.root_cause, (run.folder.path / "supervisor.log").read_text()[-3000:])
    assert "TASK chief 0" in run.logs(0) and "TASK ps 0" in run.logs(3)
    assert "HISTORY" in run.logs(0)
    assert_no_process_left(run.id)
