"""The websockets: a run's stream resumes from offsets without loss or duplication; many clients; the run list."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from serverutil import first_log_line, wait_final

SCRIPT = (
    "import time, jupyter_mltrain as mt\nfor i in range(300):\n    print(f'line {i:04d} ' + 'x' * (i % 50), flush=True)\n"
    "    mt.log('i', i, step=i)\n    if i % 30 == 0:\n        time.sleep(0.1)\n"
)


async def submit(api, root: Path, script: str = SCRIPT, np: int = 2) -> str:
    (root / "s.py").write_text(script)
    code, body = await api("POST", "runs", body={"kind": "script", "path": "s.py", "np": np})
    assert code == 201, body
    return body["run"]["id"]


async def read_stream(
    ws,
    stop_after_logs: int | None = None,
    logs: dict[int, str] | None = None,
) -> tuple[dict[int, str], dict[int, list], list[dict], bool]:
    """Collect messages onto ``logs``: text per rank, metric records per rank, status records; True if 'end' came."""
    logs = dict(logs or {})
    metrics: dict[int, list] = {}
    statuses: list[dict] = []
    seen_logs = 0
    while True:
        raw = await asyncio.wait_for(ws.read_message(), timeout=60)
        assert raw is not None, "the server closed the stream early"
        msg = json.loads(raw)
        if msg["type"] == "end":
            return logs, metrics, statuses, True
        if msg["type"] == "status":
            statuses.append(msg["run"])
        elif msg["type"] == "logs":
            assert msg["offset"] == len(logs.get(msg["rank"], "").encode()), "a gap or an overlap in the log"
            logs[msg["rank"]] = logs.get(msg["rank"], "") + msg["data"]
            seen_logs += 1
            if stop_after_logs is not None and seen_logs >= stop_after_logs:
                return logs, metrics, statuses, False
        elif msg["type"] == "metrics":
            metrics.setdefault(msg["rank"], []).extend(msg["records"])


async def test_stream_resumes_from_offsets_without_loss_or_duplication(
    api, jp_ws_fetch, jp_root_dir: Path, home: Path
) -> None:
    run_id = await submit(api, jp_root_dir)
    await first_log_line(api, run_id)
    ws = await jp_ws_fetch("mltrain", "api", "runs", run_id, "stream")
    logs, metrics, statuses, ended = await read_stream(ws, stop_after_logs=1)
    ws.close()
    assert not ended and statuses and statuses[0]["id"] == run_id
    log_offsets = ",".join(f"{r}:{len(t.encode())}" for r, t in logs.items())
    metric_offsets = ",".join(f"{r}:0" for r in range(2))
    ws = await jp_ws_fetch(
        "mltrain", "api", "runs", run_id, "stream", params={"logs": log_offsets, "metrics": metric_offsets}
    )
    whole_logs, metrics, statuses, ended = await read_stream(ws, logs=logs)
    ws.close()
    assert ended and statuses[-1]["status"] == "Completed"
    for rank in (0, 1):
        whole = whole_logs[rank]
        on_disk = (home / "runs" / run_id / "logs" / f"rank-{rank}.log").read_text()
        assert whole == on_disk and len(whole.splitlines()) == 300
        assert [m["value"] for m in metrics[rank] if not m.get("name", "").startswith("system/")] == list(range(300))


async def test_twenty_clients_stream_one_run(api, jp_ws_fetch, jp_root_dir: Path, home: Path) -> None:
    run_id = await submit(api, jp_root_dir)
    sockets = await asyncio.gather(*(jp_ws_fetch("mltrain", "api", "runs", run_id, "stream") for _ in range(20)))
    results = await asyncio.gather(*(read_stream(ws) for ws in sockets))
    for ws in sockets:
        ws.close()
    on_disk = (home / "runs" / run_id / "logs" / "rank-1.log").read_text()
    assert all(
        ended
        and logs[1] == on_disk
        and len([m for m in metrics[1] if not m.get("name", "").startswith("system/")]) == 300
        for logs, metrics, _, ended in results
    )


async def test_run_list_stream_announces_new_runs_and_status_changes(api, jp_ws_fetch, jp_root_dir: Path) -> None:
    ws = await jp_ws_fetch("mltrain", "api", "runs", "stream")
    first = json.loads(await asyncio.wait_for(ws.read_message(), timeout=30))
    assert first == {"type": "runs", "runs": []}
    run_id = await submit(api, jp_root_dir, "print('hi')\n", np=1)
    await wait_final(api, run_id)
    statuses = []
    while "Completed" not in statuses:
        msg = json.loads(await asyncio.wait_for(ws.read_message(), timeout=30))
        assert msg["type"] == "run" and msg["run"]["id"] == run_id
        statuses.append(msg["run"]["status"])
    ws.close()


FLOOD = (
    "import jupyter_mltrain as mt\nfor i in range(30000):\n    mt.log('fast', i, step=i)\n"
    "    if i % 1000 == 0:\n        mt.log('slow', i, step=i)\n        mt.progress(i, 30000)\n"
)


async def test_a_metric_flood_reaches_the_stream_as_a_sample_with_every_rare_value(
    api, jp_ws_fetch, jp_root_dir: Path, home: Path
) -> None:
    from jupyter_mltrain.server.streams import METRIC_POINTS

    run_id = await submit(api, jp_root_dir, script=FLOOD, np=1)
    await wait_final(api, run_id)  # the whole flood waits on disk: the stream reads it as a backlog
    ws = await jp_ws_fetch("mltrain", "api", "runs", run_id, "stream")
    records: list[dict] = []
    thinned = 0
    while True:
        msg = json.loads(await asyncio.wait_for(ws.read_message(), timeout=60))
        if msg["type"] == "end":
            break
        if msg["type"] == "metrics":
            fast = [r for r in msg["records"] if r.get("name") == "fast"]
            assert len(fast) <= METRIC_POINTS + 1
            records.extend(msg["records"])
            thinned += msg.get("thinned", 0)
    ws.close()
    data = (home / "runs" / run_id / "metrics" / "rank-0.jsonl").read_bytes()
    lines = data.count(b"\n")
    telemetry = sum(1 for line in data.splitlines() if line.startswith(b'{"name": "system/'))  # the rank agent's
    named = [r for r in records if "name" in r]
    assert lines - telemetry == 30000 + 30 + 30 and len(records) + thinned == lines
    assert thinned > 0 and len([r for r in named if r["name"] == "fast"]) < 30000 // 4
    assert [r["value"] for r in named if r["name"] == "slow"] == list(range(0, 30000, 1000))
    assert [r["step"] for r in records if r.get("event") == "progress"] == list(range(0, 30000, 1000))
    fast_steps = [r["step"] for r in named if r["name"] == "fast"]
    assert fast_steps == sorted(fast_steps) and fast_steps[0] == 0 and fast_steps[-1] == 29999
