"""GPU assignment per rank. This machine has no GPU, so these tests put a FAKE `nvidia-smi`
on PATH that reports four GPUs: it tests our assignment logic only, never CUDA itself."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from jupyter_mltrain.api import submit
from jupyter_mltrain.engine.plan import make_plan
from jupyter_mltrain.engine.spec import Distribution, RunSpec
from jupyter_mltrain.engine.targets import LocalTarget
from jupyter_mltrain.hostside.errors import SpecError


@pytest.fixture
def fake_four_gpus(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A fake nvidia-smi (named as such) listing GPUs 0-3."""
    bindir = tmp_path / "fake-nvidia-smi-bin"
    bindir.mkdir()
    exe = bindir / "nvidia-smi"
    exe.write_text(
        "#!/bin/sh\n# FAKE nvidia-smi for tests of GPU assignment\n"
        'for i in 0 1 2 3; do echo "$i, Fake GPU, 16384"; done\n'
    )
    exe.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bindir}:{__import__('os').environ['PATH']}")


def _plan(tmp_path: Path, **dist):
    spec = RunSpec(entry="t.py", source=str(tmp_path), distribution=Distribution(**dist))
    return make_plan(spec, LocalTarget(name="local"), "rid", tmp_path / "run", check=False)


def test_each_rank_gets_its_own_gpu(fake_four_gpus, tmp_path) -> None:
    plan = _plan(tmp_path, mode="torch", processes_per_node=4)
    assert [plan.env_for_rank(r)["CUDA_VISIBLE_DEVICES"] for r in range(4)] == ["0", "1", "2", "3"]


def test_a_subset_of_gpus_is_used_in_order(fake_four_gpus, tmp_path) -> None:
    plan = _plan(tmp_path, mode="torch", processes_per_node=2, gpus=(3, 1))
    assert [plan.env_for_rank(r)["CUDA_VISIBLE_DEVICES"] for r in range(2)] == ["3", "1"]


def test_policy_all_shows_every_gpu_to_every_rank(fake_four_gpus, tmp_path) -> None:
    plan = _plan(tmp_path, mode="torch", processes_per_node=2, gpu_policy="all")
    assert {plan.env_for_rank(r)["CUDA_VISIBLE_DEVICES"] for r in range(2)} == {"0,1,2,3"}
    assert plan.env_for_rank(1)["LOCAL_RANK"] == "1"


def test_more_ranks_than_gpus_is_an_error_unless_asked_for(fake_four_gpus, tmp_path) -> None:
    with pytest.raises(SpecError, match="5 ranks but only 4 GPU"):
        _plan(tmp_path, processes_per_node=5)
    plan = _plan(tmp_path, processes_per_node=5, allow_gpu_sharing=True)
    assert plan.env_for_rank(4)["CUDA_VISIBLE_DEVICES"] == "0"


def test_unknown_gpu_id_is_an_error(fake_four_gpus, tmp_path) -> None:
    with pytest.raises(SpecError, match=r"GPU\(s\) \[7\] not found"):
        _plan(tmp_path, gpus=(7,))


def test_without_gpus_ranks_run_on_cpu(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    plan = _plan(tmp_path, processes_per_node=2)
    assert "CUDA_VISIBLE_DEVICES" not in plan.env_for_rank(0) and plan.gpus == []


@pytest.mark.timeout(120)
@pytest.mark.parametrize("mode", ["none", "mpi"])
def test_ranks_see_their_assigned_gpu_under_every_launcher(fake_four_gpus, store, project, mode) -> None:
    (project / "train.py").write_text(
        textwrap.dedent("""
        import os
        print("cvd", os.environ["RANK"], os.environ["CUDA_VISIBLE_DEVICES"])
    """)
    )
    spec = RunSpec(
        entry="train.py", source=str(project), distribution=Distribution(mode=mode, processes_per_node=2, gpus=(2, 3))
    )
    run = submit(spec, store)
    run.wait(timeout=100)
    assert "cvd 0 2" in run.logs(rank=0)
    assert "cvd 1 3" in run.logs(rank=1)
