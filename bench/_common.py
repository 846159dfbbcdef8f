"""Shared pieces of the benchmarks: a throw-away MLTRAIN_HOME, table rows, waiting for runs.

Benchmarks are scripts that print numbers; they are never collected as tests.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from jupyter_mltrain.api import Run
from jupyter_mltrain.store import Store, process_alive

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"


@dataclass
class Row:
    """One line of the results table."""

    benchmark: str
    result: str
    target: str
    ok: bool | None  # None: no target to meet


def note(message: str) -> None:
    """A progress or detail line, on stderr so the table on stdout stays clean."""
    print(f"  {message}", file=sys.stderr, flush=True)


def ms(seconds: float) -> str:
    """Seconds as a short millisecond string."""
    return f"{seconds * 1000:.0f} ms"


def median(values: list[float]) -> float:
    """The median of ``values``."""
    return statistics.median(values)


@contextlib.contextmanager
def scratch(prefix: str) -> Iterator[tuple[Path, Store]]:
    """A temporary folder holding ``src/`` and a fresh ``home/`` (MLTRAIN_HOME); removed at the end."""
    root = Path(tempfile.mkdtemp(prefix=f"mltrain-bench-{prefix}-"))
    (root / "src").mkdir()
    old_home = os.environ.get("MLTRAIN_HOME")
    os.environ["MLTRAIN_HOME"] = str(root / "home")
    store = Store(root / "home")
    try:
        yield root, store
    finally:
        store.close()
        if old_home is None:
            os.environ.pop("MLTRAIN_HOME", None)
        else:
            os.environ["MLTRAIN_HOME"] = old_home
        shutil.rmtree(root, ignore_errors=True)


def wait_for_line(path: Path, timeout: float = 60.0, poll_s: float = 0.002) -> float:
    """Poll ``path`` until it holds a whole line; return ``time.perf_counter()`` at that moment."""
    deadline = time.perf_counter() + timeout
    while True:
        try:
            if os.stat(path).st_size > 0:
                with open(path, "rb") as fh:
                    if b"\n" in fh.read(65536):
                        return time.perf_counter()
        except FileNotFoundError:
            pass
        now = time.perf_counter()
        if now > deadline:
            raise TimeoutError(f"no line in {path} after {timeout:.0f} s")
        time.sleep(poll_s)


def finish(run: Run, timeout: float = 120.0) -> str:
    """Wait until the run has ended and its supervisor has exited; return the final status.

    The supervisor process, not the first final status read, decides: a run can read as
    ``Lost`` for a moment right after ``submit()`` while its supervisor is still starting.
    If the run overstays ``timeout`` it is canceled, and killed if it ignores that.
    """
    deadline = time.monotonic() + timeout
    try:
        run.wait(raise_on_error=False, timeout=timeout, poll_s=0.02)
    except TimeoutError:
        pass
    pid = run.record.supervisor_pid
    while process_alive(pid, run.id) and time.monotonic() < deadline:
        time.sleep(0.02)
    if process_alive(pid, run.id):
        note(f"run {run.id} still running after {timeout:.0f} s: canceling it")
        run.cancel(by="bench")
        stop = time.monotonic() + 20
        while process_alive(pid, run.id) and time.monotonic() < stop:
            time.sleep(0.1)
        if process_alive(pid, run.id) and pid:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)  # the supervisor leads its own session
    return run.record.status


def write_source(folder: Path, files: dict[str, str]) -> None:
    """Write small text files into a source folder."""
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def print_rows(rows: list[Row]) -> None:
    """Print rows as a Markdown table (for running one benchmark alone)."""
    print(render_table(rows))


def render_table(rows: list[Row]) -> str:
    """The rows as a Markdown table: benchmark | result | target | ok?"""
    def ok_text(ok: bool | None) -> str:
        return "—" if ok is None else ("yes" if ok else "**NO**")

    lines = ["| benchmark | result | target | ok? |", "|---|---|---|---|"]
    for r in rows:
        cells = [r.benchmark, r.result, r.target, ok_text(r.ok)]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines)
