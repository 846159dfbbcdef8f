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
import os
import secrets
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from _common import Row, finish, ms, note, print_rows, scratch

from jupyter_mltrain.api import Run, submit
from jupyter_mltrain.spec import RunSpec
from jupyter_mltrain.store import RunRecord, Status, Store, write_json_atomic

RUNS = 10_000
LIST_GOAL_S, LAG_GOAL_S = 0.300, 0.250
CLIENTS = 50


def _fill(store: Store, count: int) -> None:
    now = time.time() - count
    for i in range(count):
        run_id = f"20260101-000000-{i:06x}"
        record = RunRecord(id=run_id, experiment=f"exp-{i % 20}", name=f"bench-{i}", status=Status.COMPLETED.value,
                           created=now + i, ended=now + i + 1, stages={"Queued": now + i, "Completed": now + i + 1},
                           metrics={"loss": {"last": 1.0 / (i + 1), "min": 0.0, "max": 1.0, "count": 10}})
        store.create(record, lambda folder: write_json_atomic(folder / "spec.json", {}))


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A jupyter server with the extension, serving MLTRAIN_HOME."""

    def __init__(self, root: Path) -> None:
        self.port, self.token = _port(), secrets.token_hex(16)
        (root / "srv").mkdir(exist_ok=True)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "jupyter_server", "--no-browser", f"--ServerApp.port={self.port}",
             "--ServerApp.ip=127.0.0.1", f"--IdentityProvider.token={self.token}", f"--ServerApp.root_dir={root / 'srv'}",
             "--allow-root"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=dict(os.environ, JUPYTER_RUNTIME_DIR=str(root / "rt")))
        deadline = time.monotonic() + 60
        while True:
            try:
                self.get("runs?limit=1")
                return
            except OSError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise RuntimeError("jupyter server did not start") from None
                time.sleep(0.2)

    def url(self, path: str, scheme: str = "http") -> str:
        sep = "&" if "?" in path else "?"
        return f"{scheme}://127.0.0.1:{self.port}/mltrain/api/{path}{sep}token={self.token}"

    def get(self, path: str) -> dict:
        with urllib.request.urlopen(self.url(path), timeout=30) as response:
            return json.loads(response.read())

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)


def _list_latency(server: Server) -> list[float]:
    times = []
    for i in range(100):
        t0 = time.perf_counter()
        page = server.get("runs?limit=50" + ("&experiment=exp-3" if i % 4 == 3 else ""))
        times.append(time.perf_counter() - t0)
        assert len(page["runs"]) == 50
    return sorted(times)


async def _stream(server: Server, run_id: str, on_message) -> None:
    from tornado.websocket import websocket_connect

    ws = await websocket_connect(server.url(f"runs/{run_id}/stream", "ws"))
    while True:
        raw = await ws.read_message()
        if raw is None:
            raise RuntimeError("stream closed before its end")
        msg = json.loads(raw)
        if msg["type"] == "end":
            ws.close()
            return
        on_message(time.time(), msg)


def _lag(server: Server, src: Path, store: Store) -> list[float]:
    (src / "lag.py").write_text("import time, jupyter_mltrain as mt\nend = time.time() + 6\n"
                                "while time.time() < end:\n    mt.log('t', time.time())\n    time.sleep(0.02)\n")
    run = submit(RunSpec(entry="lag.py", source=str(src)), store)
    lags: list[float] = []

    def on_message(now: float, msg: dict) -> None:
        if msg["type"] == "metrics":
            lags.extend(now - r["value"] for r in msg["records"] if r.get("name") == "t")

    asyncio.run(_stream(server, run.id, on_message))
    finish(run)
    return sorted(lags)


def _many(server: Server, src: Path, store: Store) -> tuple[int, float, int]:
    (src / "many.py").write_text("import time\nfor i in range(20000):\n    print('line', i, 'x' * (i % 80))\n"
                                 "    if i % 2000 == 0:\n        time.sleep(0.2)\n")
    run = submit(RunSpec(entry="many.py", source=str(src)), store)
    received = [0] * CLIENTS

    async def all_clients() -> None:
        async def one(i: int) -> None:
            def on_message(_now: float, msg: dict) -> None:
                if msg["type"] == "logs":
                    received[i] += len(msg["data"].encode())

            await _stream(server, run.id, on_message)

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
        _fill(store, RUNS)
        note(f"store filled with {RUNS} runs in {time.perf_counter() - t0:.1f} s")
        server = Server(root)
        try:
            times = _list_latency(server)
            lags = _lag(server, root / "src", store)
            complete, tail_s, size = _many(server, root / "src", store)
        finally:
            server.stop()
    p50, p99 = statistics.median(times), times[int(len(times) * 0.99) - 1]
    lag50, lag99 = statistics.median(lags), lags[min(len(lags) - 1, int(len(lags) * 0.99))]
    note(f"list: p50 {ms(p50)} p99 {ms(p99)}; ws lag over {len(lags)} records: p50 {ms(lag50)} p99 {ms(lag99)}; "
         f"{complete}/{CLIENTS} clients complete ({size} bytes each), last end {ms(max(tail_s, 0))} after the run's")
    return [
        Row(f"GET runs (first page of 50) with {RUNS:,} runs, 100 requests", f"p50 {ms(p50)}, p99 {ms(p99)}",
            f"≤ {ms(LIST_GOAL_S)}", p99 <= LIST_GOAL_S),
        Row("websocket lag log() → client (runs/{id}/stream)", f"p50 {ms(lag50)}, p99 {ms(lag99)} ({len(lags)} values)",
            f"p50 ≤ {ms(LAG_GOAL_S)}", lag50 <= LAG_GOAL_S),
        Row(f"{CLIENTS} websocket clients on one run (20,000 lines)",
            f"{complete}/{CLIENTS} got all {size:,} bytes; last finished {ms(max(tail_s, 0))} after the run ended",
            "all complete", complete == CLIENTS),
    ]


if __name__ == "__main__":
    print_rows(run())
