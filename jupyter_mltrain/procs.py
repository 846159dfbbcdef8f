"""Finding the processes of a run: every process we start carries ``MLTRAIN_RUN_ID`` in its environment."""

from __future__ import annotations

import os
import signal


def run_processes(run_id: str, exclude: frozenset[int] = frozenset()) -> list[int]:
    """PIDs on this host whose environment marks them as part of run ``run_id`` (zombies excluded)."""
    marker = f"MLTRAIN_RUN_ID={run_id}".encode()
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        pid = int(name)
        if pid in exclude:
            continue
        try:
            with open(f"/proc/{pid}/environ", "rb") as fh:
                environ = fh.read()
            with open(f"/proc/{pid}/stat", "rb") as fh:
                state = fh.read().rsplit(b")", 1)[1].split()[0]
        except OSError:
            continue
        if state != b"Z" and marker in environ.split(b"\0"):
            found.append(pid)
    return found


def kill_run_processes(run_id: str, exclude: frozenset[int] = frozenset()) -> list[int]:
    """SIGKILL every remaining process of run ``run_id``; return their PIDs."""
    pids = run_processes(run_id, exclude)
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    return pids
