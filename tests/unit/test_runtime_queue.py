"""The runtime's queue under a program that logs faster than its values can be written."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

PROGRAM = r"""
    import json, os, threading, time
    r, w = os.pipe()
    os.environ["MLTRAIN_METRICS_FD"] = str(w)
    chunks, lines = [], [0]  # only the reader touches these until it has every line
    logging_done = threading.Event()
    def slow_reader():  # about 6 MB/s while the program logs: far slower than log() can be called
        while True:
            data = os.read(r, 65536)
            if not data:
                return
            chunks.append(data)
            lines[0] += data.count(b"\n")
            if not logging_done.is_set():
                time.sleep(0.01)
    threading.Thread(target=slow_reader, daemon=True).start()
    from jupyter_mltrain.hostside import runtime
    runtime.MAX_QUEUED = runtime._room = 400_000  # a smaller first burst: the test drains it sooner
    lengths = []
    n, t0 = 0, time.monotonic()
    while time.monotonic() - t0 < 4:
        for _ in range(1000):
            runtime.log("x", n, step=n)
            n += 1
        lengths.append((time.monotonic() - t0, len(runtime._queue)))
    room = runtime._room
    logging_done.set()
    runtime.flush()
    deadline = time.monotonic() + 60
    while lines[0] < n and time.monotonic() < deadline:
        time.sleep(0.05)
    steps = [json.loads(line)["step"] for line in b"".join(chunks).splitlines()]
    print(json.dumps({"max": runtime.MAX_QUEUED, "room": room, "late": max(q for t, q in lengths if t > 2.5), "first": max(q for t, q in lengths),
                      "in_order": steps == list(range(n)), "n": n}))
"""


def test_a_program_logging_faster_than_the_writer_is_held_to_about_a_second_of_backlog() -> None:
    out = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(PROGRAM)],
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(os.environ, PYTHONWARNINGS="ignore"),
        check=True,
    ).stdout
    from jupyter_mltrain.hostside.runtime import MIN_QUEUED

    result = json.loads(out.splitlines()[-1])
    assert result["in_order"], "every value arrives, in order"
    assert result["first"] > result["late"]  # the first burst is taken whole ...
    assert MIN_QUEUED <= result["room"] < result["max"] // 2  # ... then the limit is about a second of writing
    assert result["late"] <= 1.5 * result["room"] + 1000  # the pace it is set from moves a little
