"""Cost of ``jupyter_mltrain.log()`` inside a real run, and whether every value arrives.

A submitted 1-rank run times 1,000,000 ``log("x", i, step=i)`` calls with
``time.perf_counter_ns`` (the loop's own cost included; the background flush thread runs
meanwhile, as it does in training) and prints the cost per call; beside it, the cost up
to an explicit ``flush()`` having written everything, and the process's CPU time per call
(both threads; unlike wall time, not inflated by other load on the machine). The benchmark
reads these from the run's log, then checks that ``metrics/rank-0.jsonl`` holds all 1,000,000 values,
each step exactly once. Target: ≤ 2 µs per call (wall, the loop alone).

    .venv/bin/python bench/log_cost.py
"""

from __future__ import annotations

import re
import time

from _common import Row, finish, note, print_rows, scratch, write_source

from jupyter_mltrain.api import submit
from jupyter_mltrain.engine.spec import RunSpec

CALLS = 1_000_000
TARGET_NS = 2000.0

SCRIPT = f"""\
import time
from jupyter_mltrain import flush, log

N = {CALLS}
c0 = time.process_time_ns()
t0 = time.perf_counter_ns()
for i in range(N):
    log("x", i, step=i)
t1 = time.perf_counter_ns()
flush()
t2 = time.perf_counter_ns()
c2 = time.process_time_ns()
for i in range(N):
    pass
t3 = time.perf_counter_ns()
print(f"log_ns_per_call={{(t1 - t0) / N:.1f}} with_flush_ns={{(t2 - t0) / N:.1f}} "
      f"cpu_ns={{(c2 - c0) / N:.1f}} empty_loop_ns={{(t3 - t2) / N:.1f}}", flush=True)
"""


def run() -> list[Row]:
    """Measure log() in a run; one row."""
    with scratch("log") as (root, store):
        write_source(root / "src", {"train.py": SCRIPT})
        t0 = time.perf_counter()
        run_ = submit(RunSpec(entry="train.py", source=str(root / "src")), store)
        status = finish(run_)
        total_s = time.perf_counter() - t0
        log_text = run_.logs(0)
        match = re.search(
            r"log_ns_per_call=([\d.]+) with_flush_ns=([\d.]+) cpu_ns=([\d.]+) empty_loop_ns=([\d.]+)", log_text
        )
        if status != "Completed" or match is None:
            raise RuntimeError(f"run {run_.id} ended {status}: {run_.record.root_cause}; log: {log_text[-500:]!r}")
        ns, flushed_ns, cpu_ns, loop_ns = (float(g) for g in match.groups())
        data = run_.folder.metrics_path(0).read_bytes()
        lines = data.count(b"\n")
        steps = [int(s) for s in re.findall(rb'"name":"x","value":\d+,"step":(\d+)', data)]
        complete = lines == CALLS and len(steps) == CALLS and len(set(steps)) == CALLS and max(steps) == CALLS - 1
        note(
            f"log(): {ns:.0f} ns/call wall, {flushed_ns:.0f} ns/call up to flush() done, {cpu_ns:.0f} ns/call "
            f"CPU of the process (empty loop {loop_ns:.0f} ns); {lines:,} metric lines, "
            f"{len(set(steps)):,} distinct steps, run took {total_s:.1f} s end to end"
        )
    return [
        Row(
            f"log() in a run: {CALLS:,} calls, cost per call (loop included)",
            f"{ns / 1000:.2f} µs/call = {1e9 / ns / 1e6:.2f} M calls/s wall (to flush() done {flushed_ns / 1000:.2f} µs, "
            f"process CPU {cpu_ns / 1000:.2f} µs, empty loop {loop_ns:.0f} ns); "
            f"{lines:,}/{CALLS:,} values in metrics/rank-0.jsonl" + ("" if complete else " — INCOMPLETE"),
            "≤ 2 µs/call, all values arrive",
            ns <= TARGET_NS and complete,
        )
    ]


if __name__ == "__main__":
    print_rows(run())
