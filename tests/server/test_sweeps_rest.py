"""``GET sweeps``, ``GET sweeps/{id}`` (``?curves=1``) and ``DELETE sweeps/{id}``, and the run list's ``sweep``
field: a real sweep of real runs, read by the panel."""

from __future__ import annotations

import textwrap
from pathlib import Path

from jupyter_mltrain.api import submit
from jupyter_mltrain.engine.spec import RunSpec
from jupyter_mltrain.engine.store import Store
from jupyter_mltrain.sweeps import Sweep

SCRIPT = """
import jupyter_mltrain as mt

mt.log("score", mt.params()["a"], step=0)
mt.log("score", mt.params()["a"] * 2, step=1)
"""


async def test_sweeps_are_listed_and_read_with_their_trials_and_best(api, home: Path, tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    (source / "train.py").write_text(textwrap.dedent(SCRIPT))
    spec = RunSpec(entry="train.py", source=str(source), telemetry_interval_s=0.0)
    sweep = Sweep(spec, ["a=choice(1, 2, 3)"], "score", "max", sampler="grid", concurrent=2, store=Store(home))
    sweep.submit()
    sweep.wait(timeout=240)

    code, body = await api("GET", "sweeps")
    assert code == 200
    (listed,) = body["sweeps"]
    assert listed["id"] == sweep.id and listed["status"] == "Completed" and listed["started"] == 3
    assert (listed["metric"], listed["goal"], listed["budget"]) == ("score", "max", 3)

    code, record = await api("GET", "sweeps", sweep.id)
    assert code == 200 and record["best"]["params"] == {"a": 3} and record["best"]["value"] == 6
    assert sorted(t["params"]["a"] for t in record["trials"]) == [1, 2, 3]
    assert all(t["status"] == "Completed" and t["duration"] > 0 for t in record["trials"])

    code, body = await api("DELETE", "sweeps", sweep.id)
    assert code == 200 and body == {"canceled": False}, "an ended sweep has nothing to cancel"
    code, body = await api("GET", "sweeps", "sweep-20990101-000000-abcdef")
    assert code == 404 and "no sweep" in body["message"]


async def test_a_sweep_reads_with_its_trials_curves_and_the_run_list_nests_its_runs(
    api, home: Path, tmp_path: Path
) -> None:
    source = tmp_path / "src"
    source.mkdir()
    (source / "train.py").write_text(textwrap.dedent(SCRIPT))
    spec = RunSpec(entry="train.py", source=str(source), telemetry_interval_s=0.0)
    sweep = Sweep(spec, ["a=choice(1, 2, 3)"], "score", "max", sampler="grid", concurrent=3, store=Store(home))
    sweep.submit()
    sweep.wait(timeout=240)
    plain = submit(spec.with_changes(params={"a": 5}), Store(home))
    plain.wait(timeout=120)

    code, record = await api("GET", "sweeps", sweep.id, params={"curves": "1"})
    assert code == 200 and record["name"] == "train" and record["sampler"] == "grid"
    assert record["space"] == {"a": {"kind": "choice", "args": [1, 2, 3]}}
    runs = {t["run"]: t["params"]["a"] for t in record["trials"]}
    assert set(record["curves"]) == set(runs), "every trial's curve of the primary metric"
    for run, a in runs.items():
        assert record["curves"][run] == [[0, 1], [a, a * 2]], "steps, then values"
    code, plain_record = await api("GET", "sweeps", sweep.id)
    assert code == 200 and "curves" not in plain_record, "curves only when asked"

    code, body = await api("GET", "sweeps")
    (listed,) = body["sweeps"]
    assert {t["run"] for t in listed["trials"]} == set(runs) and listed["drivers"] == [sweep.parent.id]

    code, body = await api("GET", "runs", params={"limit": "50"})
    assert code == 200 and len(body["runs"]) == 5
    marks = {r["id"]: r["sweep"] for r in body["runs"]}
    assert marks[sweep.parent.id] == {"id": sweep.id, "role": "driver", "trial": None}
    assert marks[plain.id] is None, "a run of no sweep"
    numbers = {t["run"]: t["trial"] for t in record["trials"]}
    for run in runs:
        assert marks[run] == {"id": sweep.id, "role": "trial", "trial": numbers[run]}
