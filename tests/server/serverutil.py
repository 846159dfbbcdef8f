"""Helpers for the server tests."""

from __future__ import annotations

import asyncio
import time


async def wait_final(api, run_id: str, timeout: float = 120.0) -> dict:
    """Poll GET runs/{id} until the run has ended; return its record."""
    deadline = time.monotonic() + timeout
    while True:
        code, body = await api("GET", "runs", run_id)
        assert code == 200, body
        if body["run"]["status"] in ("Completed", "Failed", "Canceled", "Lost"):
            return body["run"]
        assert time.monotonic() < deadline, f"run {run_id} still {body['run']['status']}"
        await asyncio.sleep(0.1)


async def first_log_line(api, run_id: str, timeout: float = 60.0) -> str:
    """Wait for rank 0's first line; return it."""
    deadline = time.monotonic() + timeout
    while True:
        code, body = await api("GET", "runs", run_id, "logs")
        if body.get("data"):
            return body["data"].splitlines()[0]
        assert time.monotonic() < deadline, f"run {run_id} printed nothing"
        await asyncio.sleep(0.05)
