"""A sweep outlives the kernel that started it, and a sweep whose driver was killed (preempted) resumes on the
same study: the trials it left running are adopted, none is lost or counted twice."""

from __future__ import annotations

import os
import re
import signal
import textwrap
import time
from pathlib import Path

import psutil
import pytest
from helpers import execute, processes_of_run, wait_for
from jupyter_client.manager import start_new_kernel

from jupyter_mltrain.engine.spec import RunSpec
from jupyter_mltrain.engine.store import Store
from jupyter_mltrain.sweeps import Sweep
from jupyter_mltrain.sweeps.trials import submitted

# the loss falls with the step and stays above x: the best x is the smallest
SLOW = """
import time
import jupyter_mltrain as mt

x = mt.params()["x"]
for step in range(12):
    mt.log("val_loss", x + 1.0 / (step + 1), step=step)
    time.sleep(0.1)
"""


def _sweep_id(store: Store) -> str:
    folders = sorted((store.home / "sweeps").glob("sweep-*"))
    assert len(folders) == 1, folders
    return folders[0].name


@pytest.mark.timeout(300)
def test_a_sweep_goes_on_through_a_kernel_restart_and_the_new_kernel_resumes_it(home: Path, tmp_path: Path) -> None:
    notebook = str(tmp_path / "sweep.ipynb")
    km, kc = start_new_kernel(kernel_name="python3", cwd=str(tmp_path), env=dict(os.environ, JPY_SESSION_NAME=notebook))
    try:
        execute(kc, "%load_ext jupyter_mltrain")
        cell = '%%train --sweep "x=uniform(0, 1)" --trials 6 --concurrent 2 --metric val_loss --goal min --seed 1\n'
        execute(kc, cell + textwrap.dedent(SLOW).replace('mt.params()["x"]', "x"))
        store = Store()
        sweep = Sweep.get(_sweep_id(store), store)
        wait_for(lambda: len(submitted(sweep.folder)) >= 2, timeout=60, what="two trials started")
        km.restart_kernel(now=True)  # SIGKILL mid-sweep, then a fresh kernel
        kc.wait_for_ready(timeout=60)
        assert sweep.parent.record.status == "Running", "the sweep's driver must outlive the kernel"
        first = sweep.wait(timeout=200)
        assert first["status"] == "Completed" and len(first["trials"]) == 6
        assert all(t["status"] == "Completed" for t in first["trials"]), first["trials"]
        out = execute(
            kc,
            "from jupyter_mltrain.sweeps import Sweep\n"
            f"s = Sweep.get({sweep.id!r}).resume(trials=2)\n"
            "r = s.wait(timeout=200)\n"
            "print(r['status'], len(r['trials']), sorted(t['trial'] for t in r['trials']) == list(range(8)), "
            "r['best']['value'] == min(t['value'] for t in r['trials']))",
        )
        assert out.split() == ["Completed", "8", "True", "True"], out
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


@pytest.mark.timeout(300)
def test_a_sweep_whose_driver_was_killed_resumes_and_adopts_the_trials_it_left_running(
    store: Store, project: Path
) -> None:
    (project / "train.py").write_text(textwrap.dedent(SLOW))
    spec = RunSpec(entry="train.py", source=str(project), telemetry_interval_s=0.0)
    sweep = Sweep(spec, {"x": "uniform(0, 1)"}, "val_loss", trials=4, concurrent=2, sampler="random", store=store)
    sweep.submit()
    driver = sweep.parent
    running = wait_for(
        lambda: (
            [e for e in submitted(sweep.folder) if store.get(e["run"]).status == "Running"][:2]
            if len(submitted(sweep.folder)) >= 2
            else None
        ),
        timeout=60,
        what="two trials running",
    )
    said = re.search(r"forked by a warm server \(pid (\d+)\)", str(driver.logs(0)))
    assert said, driver.logs(0)
    forks = psutil.Process(int(said.group(1)))
    killed = [psutil.Process(driver.record.supervisor_pid), *processes_of_run(driver.id)]
    for proc in killed:
        proc.send_signal(signal.SIGKILL)  # the driver's run is killed (its supervisor, agent and program)
    psutil.wait_procs(killed, timeout=10)
    assert wait_for(lambda: driver.record.status == "Lost", timeout=30, what="the driver's run marked Lost")
    forks.wait(timeout=5)  # the fork server ends with its driver (psutil.TimeoutExpired if it lingers)
    # its trials were not its children: they go on and end by themselves
    for entry in running:
        assert store.get(entry["run"]).status in ("Running", "Finalizing", "Completed")
    time.sleep(0.5)
    sweep = Sweep.get(sweep.id, store).resume(trials=2)
    record = sweep.wait(timeout=200)
    assert record["status"] == "Completed" and record["parent"] != driver.id
    numbers = sorted(t["trial"] for t in record["trials"])
    assert numbers == list(range(len(numbers))) and 4 <= len(numbers) <= 6, record["trials"]
    assert all(t["status"] == "Completed" and t["value"] is not None for t in record["trials"]), record["trials"]
    import optuna
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    study = optuna.load_study(
        study_name=sweep.id, storage=JournalStorage(JournalFileBackend(str(sweep.folder / "optuna.journal")))
    )
    states = [t.state.name for t in study.trials]
    assert "RUNNING" not in states and states.count("COMPLETE") == len(numbers), states
    adopted = {e["run"] for e in running}
    values = {t.number: t.value for t in study.trials}
    for entry in submitted(sweep.folder):
        if entry["run"] in adopted:
            assert values[entry["trial"]] is not None, "an adopted trial's value reached the study"
