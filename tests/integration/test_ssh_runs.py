"""Runs on an ssh target: two "hosts" (127.0.0.2, .3) reached through a real sshd, mpirun across them."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

from helpers import assert_no_process_left
from jupyter_mltrain.api import submit
from jupyter_mltrain.spec import Distribution, RunSpec
from jupyter_mltrain.store import Store


def cluster_toml(sshd, work: Path) -> str:
    rsh = f"-p {sshd.port} -i {sshd.client_key} -o UserKnownHostsFile={sshd.known_hosts} -o StrictHostKeyChecking=yes -o BatchMode=yes"
    extra = (f'python = "{sys.executable}"\nmpirun = "/usr/bin/mpirun"\nworkdir = "{work}"\n'
             # both "hosts" are one machine: shared-memory transport (vader) would mix their segments
             f'mpirun_args = ["--mca", "btl", "self,tcp", "--mca", "oob_tcp_if_include", "lo", "--mca", "btl_tcp_if_include", "lo", '
             f'"--mca", "plm_rsh_args", "{rsh}"]\nenv = {{ GLOO_SOCKET_IFNAME = "lo" }}\n')
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
def test_mpi_across_two_hosts_streams_logs_metrics_and_brings_outputs_back(cluster: Path, project: Path, store: Store) -> None:
    (project / "main.py").write_text(MPI_SCRIPT)
    spec = RunSpec(entry="main.py", source=str(project), target="cluster",
                   distribution=Distribution(mode="mpi", processes_per_node=2, nodes=2))
    run = submit(spec, store)
    record = run.wait(raise_on_error=False, timeout=180)
    assert record.status == "Completed", (record.root_cause, (run.folder.path / "supervisor.log").read_text()[-3000:])
    for rank in range(4):
        assert run.logs(rank).strip() == f"rank {rank} of 4 local {rank % 2} sum 6 cwd-ok True"
    assert sorted(m["rank"] for m in run.metrics() if m["name"] == "total") == [0, 1, 2, 3]
    assert (run.folder.path / "outputs" / "result.txt").read_text() == "6"
    assert not (cluster / run.id).exists(), "the remote run folder is removed after a completed run"
    assert_no_process_left(run.id)
