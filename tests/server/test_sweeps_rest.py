"""``GET sweeps``, ``GET sweeps/{id}`` and ``DELETE sweeps/{id}``: a real sweep of real runs, read by the panel."""

from __future__ import annotations

import textwrap
from pathlib import Path

from jupyter_mltrain.engine.spec import RunSpec
from jupyter_mltrain.engine.store import Store
from jupyter_mltrain.sweeps import Sweep

SCRIPT = """
import jupyter_mltrain as mt

mt.log("score", mt.params()["a"] * 2, step=0)
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
