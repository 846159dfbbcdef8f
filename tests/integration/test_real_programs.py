"""Programs written by others, installed from PyPI and run unchanged under `mltrain submit`, as a new user runs them.

Lightning starts its own processes when nothing says a launcher did; accelerate's own test script joins its ranks
on CPU as `accelerate launch` makes it. A disagreement between the program and the flags ends the run at once,
with the flag that fixes it.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import accelerate
import pytest
from conftest import assert_no_process_left

from jupyter_mltrain.engine.store import Store

MLTRAIN = [sys.executable, "-m", "jupyter_mltrain.cli"]

LIGHTNING_DDP = """
import lightning as L
from lightning.pytorch.demos.boring_classes import BoringModel

if __name__ == "__main__":
    trainer = L.Trainer(accelerator="cpu", devices=DEVICES, strategy="ddp", max_epochs=1, limit_train_batches=8,
                        limit_val_batches=2, logger=False, enable_checkpointing=False, enable_progress_bar=False)
    trainer.fit(BoringModel())
    print(f"finished global rank {trainer.global_rank} of {trainer.world_size}", flush=True)
"""


def _submit(project: Path, *args: str, timeout: float = 240) -> dict:
    out = subprocess.run(
        [*MLTRAIN, "submit", "--wait", "--json", *args], cwd=project, capture_output=True, text=True, timeout=timeout
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def _log(record: dict, rank: int = 0) -> str:
    path = Path(record["run_dir"]) / "logs" / f"rank-{rank}.log"
    return path.read_text() if path.exists() else ""


def _lightning(project: Path, devices: int) -> None:
    (project / "fit.py").write_text(textwrap.dedent(LIGHTNING_DDP).replace("DEVICES", str(devices)))


@pytest.mark.timeout(300)
def test_a_lightning_ddp_script_under_the_defaults_starts_its_own_processes_and_completes(home, project) -> None:
    _lightning(project, devices=2)
    record = _submit(project, "fit.py")
    log = _log(record)
    assert record["status"] == "Completed", (record["root_cause"], log[-3000:])
    assert "GLOBAL_RANK: 1, MEMBER: 2/2" in log and "finished global rank 1 of 2" in log, log[-3000:]
    assert_no_process_left(record["id"])


@pytest.mark.timeout(300)
def test_lightning_on_two_mode_none_processes_finds_its_peer_and_completes(home, project) -> None:
    _lightning(project, devices=2)
    record = _submit(project, "--np", "2", "fit.py")
    assert record["status"] == "Completed", (record["root_cause"], _log(record)[-3000:])
    assert "finished global rank 1 of 2" in _log(record, 1)


@pytest.mark.timeout(300)
def test_lightning_whose_devices_disagree_with_the_flags_fails_at_once_naming_the_flag(home, project) -> None:
    _lightning(project, devices=2)
    record = _submit(project, "--mode", "torch", "--np", "1", "fit.py", timeout=120)
    cause = record["root_cause"]
    assert record["status"] == "Failed" and cause["rank"] == 0
    assert cause["error"].startswith("ValueError: You set `devices=2`") and "world size (1)" in cause["error"]
    assert "--np" in cause["message"] and "--np" in cause["hint"]
    run = Store(Path(record["run_dir"]).parent.parent).get(record["id"])
    assert run.duration is not None and run.duration < 60, "it failed, not waited for a peer"
    assert_no_process_left(record["id"])


@pytest.mark.timeout(300)
def test_accelerates_own_test_script_runs_distributed_on_cpu_under_mode_torch(home, project) -> None:
    script = Path(accelerate.__file__).parent / "test_utils" / "scripts" / "test_script.py"
    record = _submit(project, "--mode", "torch", "--np", "2", str(script))
    log = _log(record)
    assert record["status"] == "Completed", (record["root_cause"], log[-3000:])
    assert "Distributed environment: DistributedType.MULTI_CPU" in log and "Num processes: 2" in log
    assert "Num processes: 2" in _log(record, 1)
    assert_no_process_left(record["id"])


def test_one_mode_none_process_sees_what_python_script_py_sees(home, project) -> None:
    (project / "env.py").write_text(
        "import os\nprint('seen', sorted(k for k in ('RANK', 'LOCAL_RANK', 'WORLD_SIZE', 'LOCAL_WORLD_SIZE',"
        " 'MASTER_ADDR', 'MASTER_PORT') if k in os.environ))\nfrom jupyter_mltrain import rank, world_size\n"
        "print('runtime', rank(), world_size())\n"
    )
    record = _submit(project, "env.py")
    assert record["status"] == "Completed"
    assert "seen []" in _log(record) and "runtime 0 1" in _log(record)
