"""Finding the processes of a run: every process we start carries ``MLTRAIN_RUN_ID`` in its environment."""

from __future__ import annotations

import os
import signal


def _read_proc(pid: int, name: str) -> bytes | None:
    try:
        with open(f"/proc/{pid}/{name}", "rb") as fh:
            return fh.read()
    except OSError:
        return None


def is_zombie_or_gone(pid: int) -> bool:
    """Whether ``pid`` no longer runs (absent, or a zombie waiting to be reaped)."""
    stat = _read_proc(pid, "stat")
    return stat is None or stat.rsplit(b")", 1)[1].split()[0] == b"Z"


def process_alive(pid: int | None, marker: str, starting: bool = False) -> bool:
    """Whether ``pid`` runs on this host with ``marker`` on its command line, or as the name of its working
    folder (a supervisor forked by a warm server has the server's command line, in the run's folder).

    With ``starting``, a live process without the marker also counts: it may not have
    reached ``exec`` yet.
    """
    if not pid:
        return False
    cmdline = _read_proc(pid, "cmdline")
    if cmdline is None or is_zombie_or_gone(pid):
        return False
    if starting or marker.encode() in cmdline:
        return True
    try:
        return os.path.basename(os.readlink(f"/proc/{pid}/cwd")) == marker
    except OSError:
        return False


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
        environ = _read_proc(pid, "environ")
        if environ is None or marker not in environ.split(b"\0"):
            continue
        if not is_zombie_or_gone(pid):
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
