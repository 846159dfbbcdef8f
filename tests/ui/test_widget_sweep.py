"""The widget of a sweep's driver run carries the sweep: every trial with its params, status and value, the
best one, the space, and each trial's curve of the primary metric (thinned to 500 points); other runs carry none.

A real sweep of real runs, followed by the widget's own ticks as in a ``--wait`` cell.
"""

from __future__ import annotations

import textwrap
import time
from pathlib import Path

import pytest

from jupyter_mltrain.api import Run
from jupyter_mltrain.engine.spec import RunSpec
from jupyter_mltrain.engine.store import Store
from jupyter_mltrain.sweeps import Sweep
from jupyter_mltrain.widget import RunWidget

# loss = a / (step + 1); the trial of a = 3 logs 1200 steps (more than 500: thinned) and ends lowest: the best.
SCRIPT = """
import jupyter_mltrain as mt

a = mt.params()["a"]
for step in range(1200 if a == 3 else 6):
    mt.log("loss", a / (step + 1), step=step)
"""


@pytest.mark.timeout(300)
def test_the_driver_widget_holds_every_trial_the_best_and_all_curves(store: Store, project: Path) -> None:
    (project / "train.py").write_text(textwrap.dedent(SCRIPT))
    spec = RunSpec(entry="train.py", source=str(project), telemetry_interval_s=0.0)
    sweep = Sweep(spec, ["a=choice(1, 2, 3)"], "loss", "min", sampler="grid", concurrent=2, store=store).submit()
    widget = RunWidget(sweep.parent)
    updates: list[float] = []
    widget.observe(lambda _change: updates.append(time.monotonic()), names="sweep")
    started = time.monotonic()
    widget.wait(timeout=240, tick_s=0.1)
    elapsed = time.monotonic() - started

    state = widget.sweep
    assert state["id"] == sweep.id and state["status"] == "Completed"
    assert (state["metric"], state["goal"], state["name"]) == ("loss", "min", "train")
    assert state["space"] == {"a": {"kind": "choice", "args": [1, 2, 3]}}
    trials = sorted(state["trials"], key=lambda t: t["params"]["a"])
    assert [t["params"] for t in trials] == [{"a": 1}, {"a": 2}, {"a": 3}]
    assert all(t["status"] == "Completed" and t["duration"] > 0 for t in trials)
    assert [t["value"] for t in trials] == [1 / 6, 2 / 6, 3 / 1200] and [t["step"] for t in trials] == [5, 5, 1199]
    assert state["best"] == {"run": trials[2]["run"], "params": {"a": 3}, "value": 3 / 1200}

    curves = state["curves"]
    assert set(curves) == {t["run"] for t in trials}, "a curve per trial"
    for trial in trials[:2]:
        a = trial["params"]["a"]
        assert curves[trial["run"]] == [list(range(6)), [a / (s + 1) for s in range(6)]]
    steps, values = curves[trials[2]["run"]]
    assert len(steps) == len(values) == 500 and steps[0] == 0 and steps[-1] == 1199, "thinned, ends kept"
    assert steps == sorted(steps) and values[0] == 3.0 and values[-1] == 3 / 1200

    # the sweep is read at most once a second while the driver runs (plus once per change of status)
    assert 1 <= len(updates) <= elapsed + 6, (len(updates), elapsed)
    assert Run(trials[0]["run"], store) and RunWidget(Run(trials[0]["run"], store)).sweep == {}, "a trial is no sweep"
