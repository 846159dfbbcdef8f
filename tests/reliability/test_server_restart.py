"""The Jupyter server stops and starts mid-run: the run goes on, and the panel's websocket resumes from its offsets."""

from __future__ import annotations

import asyncio
import json
import textwrap
import time
from pathlib import Path

import pytest
from conftest import assert_no_process_left
from helpers import JupyterServer
from tornado.httpclient import AsyncHTTPClient, HTTPRequest
from tornado.websocket import websocket_connect

from jupyter_mltrain.engine.store import Store

SCRIPT = """
    import time, jupyter_mltrain as mt
    for i in range(400):
        print(f"line {i:04d} " + "y" * (i % 40), flush=True)
        mt.log("i", i, step=i)
        time.sleep(0.02)
"""


class Follower:
    """What a panel keeps of one run's stream: text and metric records per rank, and their byte offsets."""

    def __init__(self) -> None:
        self.logs: dict[int, str] = {}
        self.metrics: dict[int, list[dict]] = {}
        self.metric_offsets: dict[int, int] = {}
        self.ended = False

    def query(self) -> str:
        logs = ",".join(f"{r}:{len(t.encode())}" for r, t in self.logs.items())
        metrics = ",".join(f"{r}:{o}" for r, o in self.metric_offsets.items())
        return f"logs={logs}&metrics={metrics}"

    async def follow(self, server: JupyterServer, run_id: str, until_lines: int | None = None) -> None:
        url = f"ws://127.0.0.1:{server.port}/mltrain/api/runs/{run_id}/stream?token={server.token}&{self.query()}"
        ws = await websocket_connect(url)
        try:
            while True:
                raw = await asyncio.wait_for(ws.read_message(), timeout=60)
                if raw is None:
                    return  # the server went away
                msg = json.loads(raw)
                if msg["type"] == "end":
                    self.ended = True
                    return
                if msg["type"] == "logs":
                    assert msg["offset"] == len(self.logs.get(msg["rank"], "").encode()), "a gap or an overlap"
                    self.logs[msg["rank"]] = self.logs.get(msg["rank"], "") + msg["data"]
                elif msg["type"] == "metrics":
                    self.metrics.setdefault(msg["rank"], []).extend(msg["records"])
                    self.metric_offsets[msg["rank"]] = msg["next"]
                if until_lines is not None and sum(t.count("\n") for t in self.logs.values()) >= until_lines:
                    return
        finally:
            ws.close()


async def _submit(server: JupyterServer) -> str:
    body = json.dumps({"kind": "script", "path": "train.py", "np": 2})
    request = HTTPRequest(
        f"{server.url}/mltrain/api/runs", method="POST", body=body, headers={"Authorization": f"token {server.token}"}
    )
    response = await AsyncHTTPClient().fetch(request)
    return json.loads(response.body)["run"]["id"]


@pytest.mark.timeout(240)
def test_server_restart_mid_run_loses_and_repeats_nothing(home: Path, tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    (root / "train.py").write_text(textwrap.dedent(SCRIPT))
    server = JupyterServer(root, tmp_path).start()
    follower = Follower()
    try:
        run_id = asyncio.run(_submit(server))
        asyncio.run(follower.follow(server, run_id, until_lines=40))
        server.stop()
        store = Store(home)
        assert store.get(run_id).status == "Running", "the run must outlive the server"
        time.sleep(1.0)  # the run goes on while no server is there
        server.start()
        asyncio.run(follower.follow(server, run_id))
    finally:
        server.stop()
    assert follower.ended
    record = store.get(run_id)
    assert record.status == "Completed"
    for rank in (0, 1):
        on_disk = (home / "runs" / run_id / "logs" / f"rank-{rank}.log").read_text()
        assert follower.logs[rank] == on_disk and len(on_disk.splitlines()) == 400
        assert [m["value"] for m in follower.metrics[rank] if not m.get("name", "").startswith("system/")] == list(
            range(400)
        )
    assert_no_process_left(run_id)
