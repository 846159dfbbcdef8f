"""What made a run fail, in words and as data: signals, tracebacks, the root cause."""

from __future__ import annotations

import signal
from typing import Any

from jupyter_mltrain.engine.store import RootCause


def signal_description(sig: int) -> str:
    """``SIGKILL (9)`` style name of a signal number."""
    try:
        return f"{signal.Signals(sig).name} ({sig})"
    except ValueError:
        return f"signal {sig}"


def extract_traceback(stderr_tail: str) -> str | None:
    """The last Python traceback in a stderr tail, if any."""
    idx = stderr_tail.rfind("Traceback (most recent call last):")
    return stderr_tail[idx:].strip() if idx >= 0 else None


def rank_failure(rank: int, role: str, host: str, status: dict[str, Any], stderr_tail: bytes) -> RootCause:
    """The root cause when ``rank`` exited with ``status`` (its exit code or signal, and the time)."""
    tail = stderr_tail.decode("utf-8", "replace")
    if status.get("signal") is not None:
        how = f"was killed by {signal_description(status['signal'])}"
    elif status.get("code") is None:
        how = "ended without reporting an exit status"
    else:
        how = f"exited with code {status['code']}"
    return RootCause(
        message=f"rank {rank} ({role}) on {host} {how}",
        rank=rank,
        host=host,
        exit_code=status.get("code"),
        signal=status.get("signal"),
        time=status["time"],
        traceback=extract_traceback(tail),
        stderr_tail="\n".join(tail.splitlines()[-40:]),
    )
