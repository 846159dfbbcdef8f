"""The notebook path: ``%%train`` to the first log line in the widget model, and metric lag to the widget.

In a real IPython shell (no browser: the widget model is the Python object the kernel syncs),
driven by an asyncio loop as the kernel's idle loop drives it:

(a) first line: the ``%%train`` cell's execution → the first delta carrying a log line of rank 0
    leaves the widget (its ``send``), for a cell printing one line; against the bare launcher
    (``python main.py`` of the same generated script) → its first line on a pipe. Median of 5,
    interleaved, after one warm-up. Target: ≤ bare + 300 ms.
(b) lag: a rank logs ``time.time()`` as a metric every 20 ms for 8 s; for every point the
    widget sends, lag = send time − the value. Targets: p50 ≤ 250 ms, p99 ≤ 1 s.

    .venv/bin/python bench/widget.py
"""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from _common import Row, finish, ipython_shell, median, ms, note, print_rows, scratch

ROUNDS = 5
FIRST_LINE_BUDGET_S = 0.300
LAG_P50_S, LAG_P99_S = 0.250, 1.0


def _magics(shell: Any) -> Any:
    return shell.magics_manager.registry["TrainMagics"]


def _drive(widget: Any, on_send: Any) -> None:
    """Run the widget's ticks on an event loop, as the idle kernel does, timing each message."""
    widget.send = lambda msg, buffers=None: on_send(time.time(), msg)
    asyncio.get_event_loop().run_until_complete(widget._task)


def _first_line_magic(shell: Any) -> float:
    seen: list[float] = []

    def on_send(now: float, msg: dict[str, Any]) -> None:
        if not seen and msg.get("logs", {}).get("0"):
            seen.append(now)

    t0 = time.time()
    result = shell.run_cell("%%train\nprint('x', flush=True)\n")
    if result.error_in_exec or result.error_before_exec:
        raise RuntimeError(f"%%train failed: {result.error_in_exec or result.error_before_exec}")
    widget = _magics(shell).widgets[_magics(shell).last_run_id]
    _drive(widget, on_send)
    if widget.status != "Completed" or not seen:
        raise RuntimeError(f"run {widget.run_id} ended {widget.status}; first line seen: {bool(seen)}")
    return seen[0] - t0


def _first_line_bare(script: Path) -> float:
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, str(script)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=script.parent
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    elapsed = time.perf_counter() - t0
    proc.wait()
    if line.strip() != b"x":
        raise RuntimeError(f"bare run printed {line!r}")
    return elapsed


def _lag(shell: Any) -> list[float]:
    lags: list[float] = []

    def on_send(now: float, msg: dict[str, Any]) -> None:
        for xy in msg.get("points", {}).get("t", {}).values():
            lags.extend(now - value for value in xy[1])

    cell = (
        "%%train\nimport time\nimport jupyter_mltrain as mt\nend = time.time() + 8\n"
        "while time.time() < end:\n    mt.log('t', time.time())\n    time.sleep(0.02)\n"
    )
    result = shell.run_cell(cell)
    if result.error_in_exec or result.error_before_exec:
        raise RuntimeError(f"%%train failed: {result.error_in_exec or result.error_before_exec}")
    widget = _magics(shell).widgets[_magics(shell).last_run_id]
    _drive(widget, on_send)
    if widget.status != "Completed":
        raise RuntimeError(f"lag run ended {widget.status}")
    return lags


def run() -> list[Row]:
    """Measure and return the table rows."""
    cwd = os.getcwd()
    with scratch("widget") as (root, store):
        try:
            shell = ipython_shell(root / "src")
            _first_line_magic(shell)  # warm-up: imports, caches
            shell.run_cell("%%train --dry-run\nprint('x', flush=True)\n")
            script = root / "bare" / "main.py"
            script.parent.mkdir()
            from jupyter_mltrain.engine.capture import capture_cell

            script.write_text(capture_cell("print('x', flush=True)\n", shell.user_ns).script)
            magic_s, bare_s = [], []
            for i in range(ROUNDS):
                magic_s.append(_first_line_magic(shell))
                bare_s.append(_first_line_bare(script))
                note(f"round {i + 1}: %%train {ms(magic_s[-1])}, bare python {ms(bare_s[-1])}")
            lags = sorted(_lag(shell))
        finally:
            os.chdir(cwd)
            for record in store.list():
                if not record.final:
                    from jupyter_mltrain.api import Run

                    finish(Run(record.id, store))
    m, b = median(magic_s), median(bare_s)
    p50 = statistics.median(lags)
    p99 = lags[min(len(lags) - 1, int(len(lags) * 0.99))]
    note(f"lag: {len(lags)} points, p50 {ms(p50)}, p99 {ms(p99)}, max {ms(lags[-1])}")
    return [
        Row(
            "%%train → first log line in the widget model (median of 5)",
            f"{ms(m)} (bare `python main.py` {ms(b)}, +{ms(m - b)})",
            f"≤ bare + {ms(FIRST_LINE_BUDGET_S)}",
            m - b <= FIRST_LINE_BUDGET_S,
        ),
        Row("metric lag log() → widget model, p50", ms(p50), f"≤ {ms(LAG_P50_S)}", p50 <= LAG_P50_S),
        Row(
            "metric lag log() → widget model, p99",
            f"{ms(p99)} ({len(lags)} points)",
            f"≤ {ms(LAG_P99_S)}",
            p99 <= LAG_P99_S,
        ),
    ]


if __name__ == "__main__":
    print_rows(run())
