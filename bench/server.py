"""The server extension under load, on a real ``jupyter server`` process:

(a) ``GET /mltrain/api/runs`` (first page of 50) with 10,000 runs in the store: p50/p99 of 100
    requests (goal: ≤ 300 ms);
(b) websocket lag: a rank logs ``time.time()`` every 20 ms for 6 s; for every record a client of
    ``runs/{id}/stream`` receives, lag = receive time − value (goal: p50 ≤ 250 ms);
(c) 50 clients stream one run printing 20,000 lines: every client gets every byte; the time
    from the run's end to the last client's ``end`` message.

    .venv/bin/python bench/server.py
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time
from pathlib import Path

from _common import (
    Row,
    Server,
    fill_store,
    finish,
    follow_stream,
    ms,
    note,
    print_rows,
    scratch,
)

from jupyter_mltrain.api import Run, submit
from jupyter_mltrain.engine.spec import RunSpec
from jupyter_mltrain.engine.store import Store

RUNS = 10_000
LIST_GOAL_S, LAG_GOAL_S = 0.300, 0.250
CLIENTS = 50


def list_latency(server: Server, requests: int = 100) -> list[float]:
    """Seconds per ``GET runs?limit=50`` (every fourth filtered by experiment), sorted."""
    times = []
    for i in range(requests):
        t0 = time.perf_counter()
        page = server.get("runs?limit=50" + ("&experiment=exp-3" if i % 4 == 3 else ""))
        times.append(time.perf_counter() - t0)
        assert len(page["runs"]) == 50
    return sorted(times)


def _lag(server: Server, src: Path, store: Store) -> list[float]:
    (src / "lag.py").write_text(
        "import time, jupyter_mltrain as mt\nend = time.time() + 6\n"
        "while time.time() < end:\n    mt.log('t', time.time())\n    time.sleep(0.02)\n"
    )
    run = submit(RunSpec(entry="lag.py", source=str(src)), store)
    lags: list[float] = []

    def on_message(now: float, kind: str, raw: str) -> None:
        if kind == "metrics":
            lags.extend(now - r["value"] for r in json.loads(raw)["records"] if r.get("name") == "t")

    asyncio.run(follow_stream(server, run.id, on_message))
    finish(run)
    return sorted(lags)


def _many(server: Server, src: Path, store: Store) -> tuple[int, float, int]:
    (src / "many.py").write_text(
        "import time\nfor i in range(20000):\n    print('line', i, 'x' * (i % 80))\n"
        "    if i % 2000 == 0:\n        time.sleep(0.2)\n"
    )
    run = submit(RunSpec(entry="many.py", source=str(src)), store)
    received = [0] * CLIENTS

    async def all_clients() -> None:
        async def one(i: int) -> None:
            def on_message(_now: float, kind: str, raw: str) -> None:
                if kind == "logs":
                    received[i] += len(json.loads(raw)["data"].encode())

            await follow_stream(server, run.id, on_message)

        await asyncio.gather(*(one(i) for i in range(CLIENTS)))

    asyncio.run(all_clients())
    done = time.time()
    record = Run(run.id, store).record
    size = run.folder.log_path(0).stat().st_size
    complete = sum(1 for n in received if n == size)
    return complete, done - (record.ended or done), size


def run() -> list[Row]:
    """Measure and return the table rows."""
    with scratch("server") as (root, store):
        t0 = time.perf_counter()
        fill_store(store, RUNS)
        note(f"store filled with {RUNS} runs in {time.perf_counter() - t0:.1f} s")
        server = Server(root)
        try:
            times = list_latency(server)
            lags = _lag(server, root / "src", store)
            complete, tail_s, size = _many(server, root / "src", store)
        finally:
            server.stop()
    p50, p99 = statistics.median(times), times[int(len(times) * 0.99) - 1]
    lag50, lag99 = statistics.median(lags), lags[min(len(lags) - 1, int(len(lags) * 0.99))]
    note(
        f"list: p50 {ms(p50)} p99 {ms(p99)}; ws lag over {len(lags)} records: p50 {ms(lag50)} p99 {ms(lag99)}; "
        f"{complete}/{CLIENTS} clients complete ({size} bytes each), last end {ms(max(tail_s, 0))} after the run's"
    )
    return [
        Row(
            f"GET runs (first page of 50) with {RUNS:,} runs, 100 requests",
            f"p50 {ms(p50)}, p99 {ms(p99)}",
            f"≤ {ms(LIST_GOAL_S)}",
            p99 <= LIST_GOAL_S,
        ),
        Row(
            "websocket lag log() → client (runs/{id}/stream)",
            f"p50 {ms(lag50)}, p99 {ms(lag99)} ({len(lags)} values)",
            f"p50 ≤ {ms(LAG_GOAL_S)}",
            lag50 <= LAG_GOAL_S,
        ),
        Row(
            f"{CLIENTS} websocket clients on one run (20,000 lines)",
            f"{complete}/{CLIENTS} got all {size:,} bytes; last finished {ms(max(tail_s, 0))} after the run ended",
            "all complete",
            complete == CLIENTS,
        ),
    ]


if __name__ == "__main__":
    print_rows(run())
