"""Helpers shared by the tests (a plain module, so that test folders with their own conftest can import it)."""

from __future__ import annotations

import time

import psutil


def processes_of_run(run_id: str) -> list[psutil.Process]:
    """Live processes whose environment marks them as part of ``run_id`` (checked with psutil)."""
    found = []
    for proc in psutil.process_iter(["pid"]):
        try:
            if proc.status() == psutil.STATUS_ZOMBIE:
                continue
            if proc.environ().get("MLTRAIN_RUN_ID") == run_id:
                found.append(proc)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return found


def assert_no_process_left(run_id: str, within: float = 10.0) -> None:
    """Fail unless every process of ``run_id`` is gone within ``within`` seconds."""
    deadline = time.monotonic() + within
    while True:
        left = processes_of_run(run_id)
        if not left:
            return
        if time.monotonic() > deadline:
            desc = [(p.pid, " ".join(p.cmdline())[:120]) for p in left]
            raise AssertionError(f"processes of run {run_id} still alive: {desc}")
        time.sleep(0.1)


def wait_for(predicate, timeout: float = 30.0, interval: float = 0.05, what: str = "condition"):
    """Poll ``predicate`` until it returns something truthy; return that."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)
