"""System telemetry and stragglers on real runs: the rank agent's system/* metrics, --telemetry-interval 0,
and a rank that steps twice as slowly as its peer flagged in the run record."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from jupyter_mltrain.api import submit
from jupyter_mltrain.engine.spec import Distribution, RunSpec

MLTRAIN = [sys.executable, "-m", "jupyter_mltrain.cli"]

# Rank 0 spins for 4 s (one core, busy); rank 1 holds 500 MB it touched, idle, for 4 s.
BUSY_AND_BIG = """
import os, time
if os.environ["RANK"] == "0":
    end = time.time() + 4
    while time.time() < end:
        pass
else:
    block = bytearray(500 * 2**20)
    for i in range(0, len(block), 4096):
        block[i] = 1
    time.sleep(4)
print("done")
"""


def system_metrics(run) -> dict[tuple[int, str], list[dict]]:
    out: dict[tuple[int, str], list[dict]] = {}
    for m in run.metrics():
        if m["name"].startswith("system/"):
            out.setdefault((m["rank"], m["name"]), []).append(m)
    return out


@pytest.mark.timeout(120)
def test_each_rank_reports_its_cpu_and_memory_about_every_second(store, project: Path) -> None:
    (project / "train.py").write_text(textwrap.dedent(BUSY_AND_BIG))
    run = submit(RunSpec(entry="train.py", source=str(project), distribution=Distribution(processes_per_node=2)), store)
    record = run.wait(timeout=90)
    assert record.status == "Completed", record.root_cause
    metrics = system_metrics(run)
    for rank in (0, 1):
        for name in ("system/cpu_percent", "system/rss_mb", "system/threads"):
            assert len(metrics.get((rank, name), [])) >= 2, (rank, name, sorted(metrics))
        times = [m["time"] for m in metrics[(rank, "system/rss_mb")]]
        gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
        assert 0.7 <= statistics.median(gaps) <= 1.5, gaps  # the default interval, 1 s
        assert all(m["step"] is None for m in metrics[(rank, "system/rss_mb")])  # charted against time
    assert max(m["value"] for m in metrics[(0, "system/cpu_percent")]) > 50  # a spinning rank: most of a core
    assert max(m["value"] for m in metrics[(1, "system/cpu_percent")]) < 50  # an idle one: not
    assert max(m["value"] for m in metrics[(1, "system/rss_mb")]) >= 450
    assert max(m["value"] for m in metrics[(0, "system/rss_mb")]) < 200
    # the host's memory and load come once per host: from local rank 0 only
    assert (0, "system/host_mem_used_mb") in metrics and (0, "system/host_load1") in metrics
    assert not any(rank == 1 and name.startswith("system/host_") for rank, name in metrics)
    # the index's metric summary stays the program's: telemetry is not a headline metric
    assert not any(name.startswith("system/") for name in record.metrics)


@pytest.mark.timeout(120)
def test_telemetry_interval_0_sends_no_system_metrics(home: Path, store, project: Path) -> None:
    (project / "train.py").write_text(
        "import time\nimport jupyter_mltrain as mt\ntime.sleep(2.5)\nmt.log('x', 1, step=0)\n"
    )
    out = subprocess.run(
        [*MLTRAIN, "submit", "--np", "2", "--telemetry-interval", "0", "--wait", "--json", "train.py"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=100,
    )
    assert out.returncode == 0, out.stderr
    record = json.loads(out.stdout)
    from jupyter_mltrain.api import Run

    metrics = Run(record["id"], store).metrics()
    assert sorted((m["rank"], m["name"]) for m in metrics) == [(0, "x"), (1, "x")]
    assert run_env(home, record["id"])["MLTRAIN_TELEMETRY_S"] == "0"


def run_env(home: Path, run_id: str) -> dict[str, str]:
    return json.loads((home / "runs" / run_id / "plan.json").read_text())["env"]


def test_a_bad_interval_names_the_flag(project: Path) -> None:
    (project / "train.py").write_text("pass\n")
    out = subprocess.run(
        [*MLTRAIN, "submit", "--telemetry-interval", "-1", "train.py"], cwd=project, capture_output=True, text=True
    )
    assert out.returncode == 2 and "--telemetry-interval" in out.stderr and ">= 0" in out.stderr, out.stderr


# Rank 1 sleeps twice as long per step as rank 0; no collective ties them, so each keeps its own pace.
SLOW_RANK = """
import os, time
import jupyter_mltrain as mt
rank = int(os.environ["RANK"])
pause = 0.2 if rank == 0 else 0.4
end = time.time() + 14
step = 0
while time.time() < end:
    time.sleep(pause)
    mt.log("loss", 1.0 / (step + 1), step=step)
    step += 1
"""


@pytest.mark.timeout(120)
def test_a_rank_stepping_twice_as_slowly_is_flagged_as_a_straggler(
    store, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLTRAIN_STRAGGLER_S", "4")  # the supervisor's window, 30 s by default
    (project / "train.py").write_text(textwrap.dedent(SLOW_RANK))
    run = submit(RunSpec(entry="train.py", source=str(project), distribution=Distribution(processes_per_node=2)), store)
    from helpers import wait_for

    flagged = wait_for(lambda: run.record.stragglers, timeout=45, interval=0.5, what="a straggler in the record")
    assert [(s["rank"], s["until"]) for s in flagged] == [(1, None)]  # while it lasts
    record = run.wait(timeout=60)
    assert record.status == "Completed", record.root_cause
    assert [s["rank"] for s in record.stragglers] == [1]  # rank 0 never; the entry stays after the run
    entry = record.stragglers[0]
    assert 1.6 <= entry["ratio"] <= 2.4, entry
    assert entry["host"] and entry["since"] >= record.stages["Running"]
    assert entry["since"] < entry["until"] <= record.ended, "closed when the run ended"
    on_disk = json.loads((Path(record.run_dir) / "status.json").read_text())
    assert on_disk["stragglers"] == record.stragglers
