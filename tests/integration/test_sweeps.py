"""Sweeps of real runs on Optuna: a known optimum found, a grid covered, bad trials pruned, concurrency kept,
a sweep that outlives the process that started it and resumes on the same study; bad spaces refused up front."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from helpers import assert_no_process_left

from jupyter_mltrain.engine.spec import Distribution, RunSpec
from jupyter_mltrain.engine.store import Store
from jupyter_mltrain.sweeps import Sweep, SweepError

# Gradient descent on f(w) = 5 w^2 from w = 1: w <- w (1 - 10 lr), so the loss after 8 steps is least at lr = 0.1.
QUADRATIC = """
import argparse
import jupyter_mltrain as mt

parser = argparse.ArgumentParser()
parser.add_argument("--lr", type=float, required=True)
lr = parser.parse_args().lr
assert mt.params()["lr"] == lr
w = 1.0
for step in range(8):
    w -= lr * 10 * w
    mt.log("loss", min(5 * w * w, 1e6), step=step)
"""

# The loss falls with the step and stays above x: trials with a large x are clearly bad from their first steps.
SLOW = """
import time
import jupyter_mltrain as mt

x = mt.params()["x"]
for step in range(30):
    mt.log("val_loss", x + 1.0 / (step + 1), step=step)
    time.sleep(0.15)
"""

GRID = """
import jupyter_mltrain as mt

p = mt.params()
mt.log("score", p["a"] * 10 + p["b"], step=0)
(mt.outputs_dir() / "model").write_text(repr(sorted(p.items())))
"""


def _spec(project: Path, script: str, np: int = 1, mode: str = "none") -> RunSpec:
    (project / "train.py").write_text(textwrap.dedent(script))
    return RunSpec(entry="train.py", source=str(project), distribution=Distribution(mode=mode, processes_per_node=np))


@pytest.mark.timeout(600)
@pytest.mark.parametrize("sampler", ["tpe", "random"])
def test_a_sweep_finds_the_known_best_learning_rate(store: Store, project: Path, sampler: str) -> None:
    sweep = Sweep(
        _spec(project, QUADRATIC), {"lr": "loguniform(0.001, 1.0)"}, "loss", "min",
        trials=12, concurrent=2, sampler=sampler, seed=7, store=store,
    ).submit()  # fmt: skip
    record = sweep.wait(timeout=500)
    assert record["status"] == "Completed", sweep.parent.logs()
    assert len(record["trials"]) == 12 and all(t["status"] == "Completed" for t in record["trials"])
    best = record["best"]
    assert 0.05 <= best["params"]["lr"] <= 0.2, record["trials"]
    assert best["value"] == min(t["value"] for t in record["trials"])
    assert sweep.best().id == best["run"] and sweep.best().record.params["lr"] == best["params"]["lr"]
    assert "forked by a warm server" in str(sweep.parent.logs(0)), "trials start from the fork server"
    assert {store.get(t["run"]).parent for t in record["trials"]} == {sweep.parent.id}, "trials name their driver"
    parent_metrics = {m["name"] for m in sweep.parent.metrics()}
    assert {"best", "trial_value", "trials_started"} <= parent_metrics


@pytest.mark.timeout(600)
def test_a_grid_sweep_runs_exactly_the_grid(store: Store, project: Path) -> None:
    sweep = Sweep(
        _spec(project, GRID), ["a=choice(1, 2, 3)", "b=int(0, 1)"], "score", "max",
        trials=50, concurrent=2, sampler="grid", store=store,
    ).submit()  # fmt: skip
    record = sweep.wait(timeout=500)
    seen = sorted((t["params"]["a"], t["params"]["b"]) for t in record["trials"])
    assert seen == sorted(itertools.product([1, 2, 3], [0, 1])) and record["budget"] == 6
    assert record["best"]["params"] == {"a": 3, "b": 1} and record["best"]["value"] == 31
    model = sweep.best().register_model("grid-best")  # the best trial's model, in one call
    assert (model.name, model.version, model.run_id) == ("grid-best", 1, record["best"]["run"])
    assert model.source["params"] == {"a": 3, "b": 1}


@pytest.mark.timeout(600)
def test_median_pruning_stops_bad_trials_early_and_their_processes(store: Store, project: Path) -> None:
    sweep = Sweep(
        _spec(project, SLOW), {"x": "uniform(0, 1)"}, "val_loss", "min", trials=8, concurrent=2,
        sampler="random", early_stop="median:startup=2,warmup=3", seed=3, store=store,
    ).submit()  # fmt: skip
    record = sweep.wait(timeout=500)
    trials = record["trials"]
    pruned = [t for t in trials if t["status"] == "Pruned"]
    assert pruned, trials
    for trial in pruned:
        assert trial["step"] is not None and trial["step"] < 29, "stopped before its last step"
        assert_no_process_left(trial["run"], within=2)
        assert "pruned at step" in store.get(trial["run"]).root_cause.message
    # the best trial is below every other at every step: the median rule can never stop it (the second best
    # can be, while only better trials have completed)
    best = min(trials, key=lambda t: t["params"]["x"])
    assert best["status"] == "Completed" and record["best"]["run"] == best["run"], trials
    spans = [store.get(t["run"]) for t in trials]
    events = sorted(
        [(r.stages["Preparing"], 1) for r in spans] + [(r.ended, -1) for r in spans], key=lambda e: (e[0], e[1])
    )
    running = most = 0
    for _, delta in events:
        running += delta
        most = max(most, running)
    assert most <= 2, f"{most} trials ran at once with --concurrent 2"


@pytest.mark.timeout(600)
def test_a_sweep_outlives_the_process_that_started_it_and_resumes_on_the_same_study(
    store: Store, project: Path, home: Path
) -> None:
    (project / "train.py").write_text(textwrap.dedent(GRID.replace('p["a"] * 10 + p["b"]', 'p["a"]')))
    out = subprocess.run(
        [sys.executable, "-m", "jupyter_mltrain.cli", "sweep", "--sweep", "a=uniform(0, 1)", "--trials", "3",
         "--metric", "score", "--goal", "max", "--sampler", "random", "--json", "train.py"],
        cwd=project, env={**os.environ, "MLTRAIN_HOME": str(home)}, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    started = json.loads(out.stdout)
    sweep = Sweep.get(started["id"], store)
    first = sweep.wait(timeout=300)
    assert first["status"] == "Completed" and len(first["trials"]) == 3
    sweep.resume(trials=2)
    second = sweep.wait(timeout=300)
    assert second["budget"] == 5 and [t["trial"] for t in second["trials"]] == [0, 1, 2, 3, 4]
    assert second["parent"] != first["parent"] and second["best"]["value"] == max(t["value"] for t in second["trials"])
    shown = subprocess.run(
        [sys.executable, "-m", "jupyter_mltrain.cli", "sweep", "show", sweep.id, "--json"],
        env={**os.environ, "MLTRAIN_HOME": str(home)}, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert json.loads(shown.stdout)["best"] == second["best"]


@pytest.mark.parametrize(
    ("space", "sampler", "words"),
    [
        (["lr=loguniform(0, 1)"], "tpe", "needs LOW > 0"),
        (["lr=lognormal(0, 1)"], "tpe", "unknown distribution 'lognormal'"),
        (["batch=choice()"], "tpe", "choice() is empty"),
        (["lr=uniform(0.1, 0.01)"], "tpe", "needs LOW < HIGH"),
        (["layers=int(1, 4.5)"], "tpe", "int() takes integers"),
        (["lr=uniform(0, 1)"], "grid", "a grid takes only discrete values"),
        (["lr uniform(0, 1)"], "tpe", "expected NAME=KIND(ARGS)"),
        (["lr=uniform(0, 1)"], "hillclimb", "unknown --sampler 'hillclimb'"),
    ],
)
def test_bad_spaces_are_refused_before_anything_launches(store: Store, project, space, sampler, words) -> None:
    with pytest.raises(SweepError, match=words.replace("(", r"\(").replace(")", r"\)")):
        Sweep(_spec(project, GRID), space, "score", sampler=sampler, store=store).submit()
    with pytest.raises(SweepError, match="unknown --early-stop 'sometimes'"):
        Sweep(_spec(project, GRID), ["a=choice(1)"], "score", early_stop="sometimes", store=store)
    assert store.list() == [] and not (store.home / "sweeps").exists()


@pytest.mark.timeout(600)
def test_a_notebook_cell_sweeps_with_its_swept_names_as_variables(home: Path, project: Path, monkeypatch) -> None:
    from IPython.core.error import UsageError
    from IPython.core.interactiveshell import InteractiveShell

    monkeypatch.chdir(project)
    shell = InteractiveShell.instance()
    shell.reset(new_session=False)
    shell.run_line_magic("load_ext", "jupyter_mltrain")
    shell.run_cell("OFFSET = 100")
    cell = 'import jupyter_mltrain as mt\nmt.log("total", OFFSET + a * 10 + b, step=0)\n'
    result = shell.run_cell(
        '%%train --sweep "a=choice(1, 2)" --sweep "b=int(0, 2)" --sampler grid --metric total --goal max '
        "--concurrent 2 --wait\n" + cell
    )
    assert result.error_in_exec is None and result.error_before_exec is None
    store = Store(home)
    (sweep_id,) = [p.name for p in (home / "sweeps").iterdir()]
    record = Sweep.get(sweep_id, store).record()
    assert record["status"] == "Completed" and len(record["trials"]) == 6
    assert record["best"]["params"] == {"a": 2, "b": 2} and record["best"]["value"] == 122
    bad = shell.run_cell('%%train --sweep "lr=loguniform(0, 1)" --metric loss\nprint(lr)\n')
    error = bad.error_before_exec or bad.error_in_exec
    assert isinstance(error, UsageError) and "needs LOW > 0" in str(error)
    assert len(list((home / "sweeps").iterdir())) == 1, "nothing launched for the bad space"


DDP = """
import time
import torch
import torch.distributed as dist
import jupyter_mltrain as mt

dist.init_process_group("gloo")
x = mt.params()["x"]
for step in range(20):
    value = torch.tensor([x + 1.0 / (step + 1)])
    dist.all_reduce(value)
    mt.log("val_loss", value.item() / dist.get_world_size(), step=step)
    time.sleep(0.2)
dist.destroy_process_group()
"""


@pytest.mark.timeout(600)
def test_two_rank_ddp_trials_share_one_parameter_set_and_are_pruned_whole(store: Store, project: Path) -> None:
    sweep = Sweep(
        _spec(project, DDP, np=2, mode="torch"), ["x=choice(0.1, 0.9, 0.8, 0.7)"], "val_loss", "min",
        trials=4, concurrent=2, sampler="grid", early_stop="median:startup=1,warmup=2", seed=1, store=store,
    ).submit()  # fmt: skip
    record = sweep.wait(timeout=500)
    assert record["concurrent"] == 1, "2 ranks a trial on 2 cores: one trial at a time, not oversubscribed"
    assert sorted(t["params"]["x"] for t in record["trials"]) == [0.1, 0.7, 0.8, 0.9]
    for trial in record["trials"]:
        run = store.get(trial["run"])
        assert run.ranks == 2 and run.params["x"] == trial["params"]["x"]
        if trial["status"] == "Pruned":
            assert_no_process_left(trial["run"], within=2)
    by_x = {t["params"]["x"]: t for t in record["trials"]}
    assert by_x[0.1]["status"] == "Completed" and record["best"]["params"] == {"x": 0.1}
    first = min(record["trials"], key=lambda t: t["trial"])
    later_worse = [
        t for t in record["trials"] if t["trial"] > first["trial"] and t["params"]["x"] > first["params"]["x"]
    ]
    assert all(t["status"] == "Pruned" for t in later_worse), record["trials"]


@pytest.mark.timeout(600)
def test_canceling_a_sweep_stops_its_running_trials(store: Store, project: Path) -> None:
    sweep = Sweep(
        _spec(project, SLOW), {"x": "uniform(0, 1)"}, "val_loss", trials=6, concurrent=2, store=store
    ).submit()
    from helpers import wait_for

    wait_for(lambda: len([t for t in sweep.trials_table() if t["status"] == "Running"]) == 2, timeout=120)
    assert sweep.cancel() is True
    record = sweep.wait(timeout=120)
    assert record["status"] == "Canceled" and len(record["trials"]) == 2
    for trial in record["trials"]:
        assert trial["status"] == "Canceled"
        assert_no_process_left(trial["run"], within=5)
    assert_no_process_left(record["parent"], within=5)


# GPUs: this machine has none, so these tests put a FAKE `nvidia-smi` on PATH (named as such): they test how a
# sweep hands GPUs to its trials, never CUDA itself.
GPU_TRIAL = """
import os, time
import jupyter_mltrain as mt

mt.log("gpus", float(len(os.environ["CUDA_VISIBLE_DEVICES"].split(","))), step=0)
print("CUDA_VISIBLE_DEVICES=" + os.environ["CUDA_VISIBLE_DEVICES"], flush=True)
time.sleep(1.0)
"""


def _fake_gpus(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, count: int) -> None:
    bindir = tmp_path / "fake-nvidia-smi-bin"
    bindir.mkdir()
    exe = bindir / "nvidia-smi"
    lines = "".join(f'echo "{i}, Fake GPU, 16384"\n' for i in range(count))
    exe.write_text(f"#!/bin/sh\n# FAKE nvidia-smi for tests of GPU assignment\n{lines}")
    exe.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bindir}:{os.environ['PATH']}")


def _gpus_and_spans(store: Store, record: dict) -> list[tuple[set[str], float, float]]:
    found = []
    for t in record["trials"]:
        run = store.get(t["run"])
        log = (Path(run.run_dir) / "logs" / "rank-0.log").read_text()
        visible = log.split("CUDA_VISIBLE_DEVICES=")[1].split()[0]
        found.append((set(visible.split(",")), run.stages["Running"], run.ended))
    return found


def _gpu_sweep(store: Store, project: Path, trials: int) -> tuple[dict, list[tuple[set[str], float, float]]]:
    sweep = Sweep(
        _spec(project, GPU_TRIAL), {"x": "uniform(0, 1)"}, "gpus", trials=trials, concurrent=2, sampler="random",
        store=store,
    ).submit()  # fmt: skip
    record = sweep.wait(timeout=200)
    assert record["status"] == "Completed" and all(t["status"] == "Completed" for t in record["trials"])
    return record, _gpus_and_spans(store, record)


@pytest.mark.timeout(300)
def test_trials_running_at_once_never_share_a_gpu(
    store: Store, project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fake_gpus(tmp_path, monkeypatch, 4)
    _, spans = _gpu_sweep(store, project, 6)
    assert all(len(gpus) == 1 for gpus, _, _ in spans), spans
    overlapping = [(a, b) for a, b in itertools.combinations(spans, 2) if a[1] < b[2] and b[1] < a[2]]
    assert overlapping, "two trials ran at once"
    assert all(not (a[0] & b[0]) for a, b in overlapping), overlapping


@pytest.mark.timeout(300)
def test_trials_queue_for_the_gpus_rather_than_share_them(
    store: Store, project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fake_gpus(tmp_path, monkeypatch, 1)
    record, spans = _gpu_sweep(store, project, 3)
    assert record["concurrent"] == 1, "one GPU: one trial at a time"
    assert [gpus for gpus, _, _ in spans] == [{"0"}] * 3
    ordered = sorted(spans, key=lambda s: s[1])
    assert all(a[2] <= b[1] for a, b in itertools.pairwise(ordered)), "no two trials at once"
