"""Plans for ssh and Slurm targets: hosts, ranks per node, MASTER_ADDR, TF_CONFIG, GPUs (no network needed)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from jupyter_mltrain.engine.plan import make_plan
from jupyter_mltrain.engine.spec import Distribution, RunSpec
from jupyter_mltrain.engine.targets import parse_targets
from jupyter_mltrain.hostside.errors import SpecError

TOML = (
    '[targets.c]\nkind = "ssh"\nhosts = ["n1:4", "n2:4", "n3:2"]\nworkdir = "/scratch/w"\ngpus_per_host = 2\n'
    '[targets.s]\nkind = "slurm"\npartition = "gpu"\ngpus_per_node = 4\ntime = "10"\n'
)


def plan(mode: str, np: int, nodes: int, target: str = "c", tmp: Path = Path("/tmp/x")):
    spec = RunSpec(
        entry="main.py",
        source=str(tmp),
        target=target,
        distribution=Distribution(mode=mode, processes_per_node=np, nodes=nodes),
    )
    return make_plan(spec, parse_targets(TOML, "t")[target], "RUN", tmp / "RUN", check=False)


def test_ssh_ranks_fill_the_first_nodes_and_master_is_the_head() -> None:
    p = plan("torch", 2, 2)
    ssh = p.launcher_options["ssh"]
    assert p.launcher == "ssh" and ssh["hosts"] == "n1:2,n2:2" and ssh["head"] == "n1" and ssh["nodes"] == ["n1", "n2"]
    assert (
        p.env["MASTER_ADDR"] == "n1" and p.env["LOCAL_WORLD_SIZE"] == "2" and p.env["MLTRAIN_OUTPUTS_DIR"] == "outputs"
    )
    assert p.env["MLTRAIN_GPUS"] == "0,1" and p.world_size == 4


def test_ssh_tf_config_lists_the_real_host_of_each_rank() -> None:
    p = plan("tf", 2, 2)
    configs = [json.loads(p.env[f"MLTRAIN_TF_CONFIG_{r}"]) for r in range(4)]
    hosts = [a.split(":")[0] for a in configs[0]["cluster"]["worker"]]
    assert hosts == ["n1", "n1", "n2", "n2"] and [c["task"]["index"] for c in configs] == [0, 1, 2, 3]
    assert len({a for a in configs[0]["cluster"]["worker"]}) == 4


def test_ssh_layouts_that_do_not_fit_are_refused() -> None:
    with pytest.raises(SpecError, match="4 nodes asked"):
        plan("mpi", 1, 4)
    with pytest.raises(SpecError, match="fewer slots"):
        plan("mpi", 3, 3)


def test_slurm_layout_from_the_spec_and_the_target() -> None:
    p = plan("torch", 4, 2, target="s")
    s = p.launcher_options["slurm"]
    assert p.launcher == "slurm" and (s["nodes"], s["ntasks_per_node"], s["world_size"]) == (2, 4, 8)
    assert (s["partition"], s["gpus_per_node"], s["time"]) == ("gpu", 4, "10")
    with pytest.raises(SpecError, match="not supported on Slurm"):
        plan("tf", 1, 1, target="s")
