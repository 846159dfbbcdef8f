"""Per-trial overhead of a sweep: 20 trials of a script that does almost nothing, three ways, side by side.

1. ``Sweep(...)`` with 2 trials at a time: each trial is a real run (snapshot, supervisor, rank agent, record),
   started by the sweep driver; timed from ``submit()`` to the driver's end.
2. 20 × ``python script.py`` in a loop (the floor for a fresh interpreter per trial).
3. Optuna's own in-process ``study.optimize`` of the same objective (no process per trial at all).

Goal (issue 15): sweep per trial ≤ bare per trial + 0.15 s.

    .venv/bin/python bench/sweep_overhead.py
"""

from __future__ import annotations

import subprocess
import sys
import time

from _common import Row, note, print_rows, scratch, write_source

TRIALS = 20
SCRIPT = """\
import jupyter_mltrain as mt

x = mt.params().get("x", 0.5)
mt.log("loss", (x - 0.3) ** 2, step=0)
"""


def run() -> list[Row]:
    """Time the three ways; one row."""
    import optuna

    from jupyter_mltrain.engine.spec import RunSpec
    from jupyter_mltrain.sweeps import Sweep

    with scratch("sweep") as (root, store):
        write_source(root / "src", {"train.py": SCRIPT})
        started = time.perf_counter()
        for _ in range(TRIALS):
            subprocess.run([sys.executable, "train.py"], cwd=root / "src", check=True)
        bare = (time.perf_counter() - started) / TRIALS

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        study = optuna.create_study()
        started = time.perf_counter()
        study.optimize(lambda t: (t.suggest_float("x", 0, 1) - 0.3) ** 2, n_trials=TRIALS)
        in_process = (time.perf_counter() - started) / TRIALS

        spec = RunSpec(entry="train.py", source=str(root / "src"), telemetry_interval_s=0.0)
        started = time.perf_counter()
        sweep = Sweep(spec, {"x": "uniform(0, 1)"}, "loss", trials=TRIALS, concurrent=2, store=store).submit()
        record = sweep.wait(timeout=600)
        swept = (time.perf_counter() - started) / TRIALS
        done = sum(t["status"] == "Completed" for t in record["trials"])
        note(f"bare {bare:.3f} s, optuna in-process {in_process * 1000:.2f} ms, sweep {swept:.3f} s per trial")
    return [
        Row(
            f"sweep of {TRIALS} empty trials, 2 at a time: per trial",
            f"{swept:.2f} s ({done}/{TRIALS} completed); bare `python script.py` {bare:.2f} s; "
            f"Optuna in-process {in_process * 1000:.1f} ms; overhead over bare {swept - bare:+.2f} s",
            "≤ bare + 0.15 s",
            done == TRIALS and swept <= bare + 0.15,
        )
    ]


if __name__ == "__main__":
    print_rows(run())
