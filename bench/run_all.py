"""Run every benchmark and print one Markdown table (also written to ``bench/results/latest.md``).

    make bench            # or: .venv/bin/python bench/run_all.py
    .venv/bin/python bench/run_all.py --only load,server   # some of them (by module name); table not saved

Details and progress go to stderr, the table to stdout. A benchmark that crashes gets a row
saying so and makes the exit status 1; a missed target is only marked in the table.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import subprocess
import sys
import time
import traceback
from collections.abc import Callable

import capture
import launch
import load
import log_cost
import resubmit
import server
import serving
import sweep_overhead
import telemetry_cost
import widget
from _common import HERE, RESULTS, Row, render_table

BENCHMARKS: list[tuple[str, Callable[[], list[Row]]]] = [
    ("launch latency", launch.run),
    ("log() cost", log_cost.run),
    ("log capture", capture.run),
    ("re-submit", resubmit.run),
    ("notebook widget", widget.run),
    ("server extension", server.run),
    ("load", load.run),
    ("model serving", serving.run),
    ("telemetry cost", telemetry_cost.run),
    ("sweep overhead", sweep_overhead.run),
]


def cpu_model() -> str:
    """The CPU model name from /proc/cpuinfo."""
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def nproc() -> int:
    """CPUs this process may run on (what ``nproc`` prints)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def commit() -> str:
    """The checkout's short commit, with ``+changes`` when the tree differs from it."""
    try:
        rev = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], check=False, cwd=HERE, capture_output=True, text=True, timeout=10
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            check=False,
            cwd=HERE,
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return (rev or "unknown") + ("+changes" if dirty else "")


def header() -> str:
    """One line: when, on what machine, with which Python and code."""
    load = " / ".join(f"{x:.2f}" for x in os.getloadavg())
    when = datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    return (
        f"{when} · {nproc()} CPUs ({cpu_model()}) · Python {platform.python_version()} · "
        f"commit {commit()} · load average at start {load}"
    )


def main(argv: list[str] | None = None) -> int:
    """Run the benchmarks, print and save the table; 1 if a benchmark crashed."""
    parser = argparse.ArgumentParser(description="Run the benchmarks and print one Markdown table.")
    parser.add_argument(
        "--only",
        metavar="NAME[,NAME]",
        help="only these benchmarks, by module name (e.g. load); the table is printed, not saved",
    )
    args = parser.parse_args(argv)
    chosen = BENCHMARKS
    if args.only:
        wanted = set(args.only.split(","))
        chosen = [(name, bench) for name, bench in BENCHMARKS if bench.__module__ in wanted or name in wanted]
        unknown = wanted - {n for name, bench in chosen for n in (name, bench.__module__)}
        if unknown:
            parser.error(
                f"unknown benchmark {', '.join(sorted(unknown))}; choose from "
                f"{', '.join(bench.__module__ for _, bench in BENCHMARKS)}"
            )
    head = header()
    print(f"jupyter_mltrain benchmarks — {head}", file=sys.stderr, flush=True)
    rows: list[Row] = []
    crashed = False
    started = time.perf_counter()
    for name, bench in chosen:
        print(f"{name} …", file=sys.stderr, flush=True)
        t0 = time.perf_counter()
        try:
            rows += bench()
        except Exception as exc:  # noqa: BLE001 - one broken benchmark must not hide the others
            crashed = True
            traceback.print_exc()
            rows.append(Row(name, f"crashed: {type(exc).__name__}: {exc}".splitlines()[0][:300], "—", False))
        print(f"{name}: {time.perf_counter() - t0:.1f} s", file=sys.stderr, flush=True)
    total = time.perf_counter() - started
    text = f"Benchmarks — {head} · took {total:.0f} s\n\n{render_table(rows)}\n"
    print(text, end="")
    if not args.only:
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / "latest.md").write_text(text)
    return 1 if crashed else 0


if __name__ == "__main__":
    sys.exit(main())
