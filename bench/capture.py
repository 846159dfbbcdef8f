"""Log capture throughput: how fast a rank's stdout reaches ``logs/rank-0.log``.

A 1-rank run writes ~200 MB of mixed-length lines to stdout as fast as it can
(``sys.stdout.buffer.write`` of one pre-built ~1 MiB block, in a loop). The benchmark
polls the log file's size every 10 ms and reports total bytes / (time from the first
bytes on disk to the last); the figure from the run's own stage stamps (Running →
Finalizing, which includes starting the rank) is shown beside it. The log must end up
exactly as long as what was written. MB = 10^6 bytes. Target: ≥ 50 MB/s.

    .venv/bin/python bench/capture.py
"""

from __future__ import annotations

import math
import os
import random
import time
from collections.abc import Callable
from pathlib import Path

from _common import Row, finish, note, print_rows, scratch, write_source

from jupyter_mltrain.api import submit
from jupyter_mltrain.engine.spec import RunSpec

TOTAL_BYTES = 200_000_000
TARGET_MB_S = 50.0
POLL_S = 0.010

SCRIPT = """\
import sys

block = open("block.bin", "rb").read()
reps = int(sys.argv[1])
write = sys.stdout.buffer.write
for _ in range(reps):
    write(block)
sys.stdout.buffer.flush()
"""


def make_block(size: int = 1 << 20, seed: int = 0) -> bytes:
    """About ``size`` bytes of whole lines: mostly short, some long, a few very long."""
    rng = random.Random(seed)
    alphabet = "abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.,:;=-+[]()"
    parts, n = [], 0
    while n < size:
        pick = rng.random()
        length = (
            rng.randint(0, 120) if pick < 0.80 else rng.randint(120, 1000) if pick < 0.98 else rng.randint(1000, 16000)
        )
        line = ("".join(rng.choices(alphabet, k=length)) + "\n").encode()
        parts.append(line)
        n += len(line)
    return b"".join(parts)


def _follow_size(
    path: Path, expected: int, run_final: Callable[[], bool], timeout: float = 120.0
) -> tuple[float, float]:
    """perf_counter() when ``path`` first had bytes, and when it reached ``expected`` bytes."""
    first = last = None
    deadline = time.perf_counter() + timeout
    next_status = 0.0
    while True:
        now = time.perf_counter()
        try:
            size = os.stat(path).st_size
        except FileNotFoundError:
            size = 0
        if size > 0 and first is None:
            first = now
        if size >= expected:
            last = now
            break
        if now >= next_status:  # a run that dies early must not keep us here
            if run_final():
                break
            next_status = now + 0.5
        if now > deadline:
            break
        time.sleep(POLL_S)
    if first is None or last is None:
        raise RuntimeError(f"log reached {size:,} of {expected:,} bytes")
    return first, last


def run() -> list[Row]:
    """Measure capture throughput; one row."""
    block = make_block()
    reps = math.ceil(TOTAL_BYTES / len(block))
    expected = reps * len(block)
    with scratch("capture") as (root, store):
        src = root / "src"
        write_source(src, {"flood.py": SCRIPT})
        (src / "block.bin").write_bytes(block)
        run_ = submit(RunSpec(entry="flood.py", source=str(src), args=(str(reps),)), store)
        try:
            first, last = _follow_size(run_.folder.log_path(0), expected, lambda: run_.record.final)
        finally:
            status = finish(run_)
        record = run_.record
        size = run_.folder.log_path(0).stat().st_size
        if status != "Completed":
            raise RuntimeError(f"run {run_.id} ended {status}: {record.root_cause}")
    polled = expected / (last - first) / 1e6
    stages = record.stages
    staged = expected / (stages["Finalizing"] - stages["Running"]) / 1e6
    note(
        f"capture: {expected / 1e6:.0f} MB in {last - first:.2f} s on disk ({polled:.0f} MB/s); "
        f"Running→Finalizing {stages['Finalizing'] - stages['Running']:.2f} s ({staged:.0f} MB/s); "
        f"log {size:,} bytes, written {expected:,}"
    )
    return [
        Row(
            f"log capture: 1 rank writes {expected / 1e6:.0f} MB of mixed-length lines to stdout",
            f"{polled:.0f} MB/s first→last byte on disk ({staged:.0f} MB/s Running→Finalizing); "
            f"log size {'=' if size == expected else '≠'} bytes written",
            f"≥ {TARGET_MB_S:.0f} MB/s, log size = bytes written",
            polled >= TARGET_MB_S and size == expected,
        )
    ]


if __name__ == "__main__":
    print_rows(run())
