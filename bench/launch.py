"""Launch latency: submit() to the first user line on disk, against the bare launcher to its first line.

Side by side, interleaved, median of 5 each (after one unmeasured warm-up round):

(a) ``submit()`` of a 2-rank ``mpi`` run → first line in ``logs/rank-0.log`` (polled every 2 ms);
(b) ``mpirun -np 2 python -c "print('x', flush=True)"`` → first line on its stdout pipe;
(c) ``submit()`` of a 2-rank ``torch`` run → first line in ``logs/rank-0.log``;
(d) ``python -m torch.distributed.run --nproc-per-node 2 script.py`` → first line on stdout.

Target: mltrain ≤ bare launcher + 150 ms.

    .venv/bin/python bench/launch.py
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from _common import (
    Row,
    finish,
    median,
    ms,
    note,
    print_rows,
    scratch,
    wait_for_line,
    write_source,
)

from jupyter_mltrain.api import submit
from jupyter_mltrain.engine.spec import Distribution, RunSpec
from jupyter_mltrain.engine.store import Store

ROUNDS = 5
RANKS = 2
BUDGET_S = 0.150
SCRIPT = "print('x', flush=True)\n"


def _mltrain(src: Path, store: Store, mode: str) -> tuple[float, float]:
    """(seconds to first line, seconds for submit() to return) for one run; waits for its end."""
    spec = RunSpec(entry="script.py", source=str(src), distribution=Distribution(mode=mode, processes_per_node=RANKS))
    t0 = time.perf_counter()
    run = submit(spec, store)
    t_submit = time.perf_counter() - t0
    try:
        first = wait_for_line(run.folder.log_path(0)) - t0
    finally:
        status = finish(run)
    if status != "Completed":
        raise RuntimeError(f"{mode} run {run.id} ended {status}: {run.record.root_cause}")
    line = run.logs(0).splitlines()[0] if run.logs(0) else ""
    if line != "x":
        raise RuntimeError(f"{mode} run {run.id}: first line of rank 0 is {line!r}, expected 'x'")
    return first, t_submit


def _bare(cmd: list[str], cwd: Path) -> float:
    """Seconds from starting ``cmd`` to the first line on its stdout; waits for it to end."""
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=cwd, env=env
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    first = time.perf_counter() - t0
    proc.stdout.read()
    code = proc.wait()
    # the bare launchers merge both ranks' stdout, so the first line can be "xx" (two lines interleaved)
    if code != 0 or not line.strip() or line.strip() != b"x" * len(line.strip()):
        raise RuntimeError(f"{cmd[0]} exited {code}, first line {line!r}")
    return first


def run() -> list[Row]:
    """Measure the four launches; one row per launcher pair."""
    py = sys.executable
    with scratch("launch") as (root, store):
        src = root / "src"
        write_source(src, {"script.py": SCRIPT})
        mpirun = ["mpirun", "--allow-run-as-root", "--oversubscribe", "-np", str(RANKS), py, "-c", SCRIPT.strip()]
        torchrun = [py, "-m", "torch.distributed.run", "--nproc-per-node", str(RANKS), "script.py"]
        times: dict[str, list[float]] = {"a": [], "b": [], "c": [], "d": []}
        submits: dict[str, list[float]] = {"a": [], "c": []}
        for i in range(ROUNDS + 1):
            a, sa = _mltrain(src, store, "mpi")
            b = _bare(mpirun, src)
            c, sc = _mltrain(src, store, "torch")
            d = _bare(torchrun, src)
            label = "warm-up" if i == 0 else f"round {i}"
            note(f"launch {label}: mltrain-mpi {ms(a)}  mpirun {ms(b)}  mltrain-torch {ms(c)}  torchrun {ms(d)}")
            if i == 0:
                continue
            for key, value in zip("abcd", (a, b, c, d)):
                times[key].append(value)
            submits["a"].append(sa)
            submits["c"].append(sc)
    rows = []
    for mode, ours, bare, bare_name in (("mpi", "a", "b", "mpirun"), ("torch", "c", "d", "torchrun")):
        m_ours, m_bare = median(times[ours]), median(times[bare])
        rows.append(
            Row(
                f"launch {mode}, {RANKS} ranks: submit() → first line in rank-0.log (median of {ROUNDS})",
                f"{ms(m_ours)} vs bare {bare_name} {ms(m_bare)} ({(m_ours - m_bare) * 1000:+.0f} ms); "
                f"submit() returns in {ms(median(submits[ours]))}",
                f"≤ bare {bare_name} + {BUDGET_S * 1000:.0f} ms",
                m_ours <= m_bare + BUDGET_S,
            )
        )
    return rows


if __name__ == "__main__":
    print_rows(run())
