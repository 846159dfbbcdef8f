"""What made a run fail, in words and as data: signals, tracebacks, the root cause."""

from __future__ import annotations

import re
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


def exception_line(traceback: str | None) -> str | None:
    """``ValueError: bad shape``: the exception a traceback ends with (its first unindented line after the frames)."""
    if not traceback:
        return None
    for line in traceback.splitlines()[1:]:
        if line.strip() and not line.startswith((" ", "\t")):
            return line.strip()[:500]
    return None


# Framework errors that mean the run's flags and the program disagree, and the flag that fixes each.
FLAG_HINTS = (
    (
        "does not match the world size",
        "Lightning's devices x num_nodes must equal the run's processes: pass --np N (with --nodes) so that "
        "N x nodes = devices x num_nodes, or run one process (--np 1, mode none) and let Lightning start its own",
    ),
    (
        "MASTER_ADDR",
        "the program initialises torch.distributed: run it with --mode torch (or --np 2 or more)",
    ),
)


def flag_hint(error: str | None) -> str | None:
    """Which flag fixes a known framework error, or None."""
    for pattern, hint in FLAG_HINTS:
        if error and pattern in error:
            return hint
    return None


_FRAME = re.compile(r'^(  File "(?P<file>[^"]+)", line (?P<line>\d+))(?P<rest>.*)$')


def in_cell_terms(traceback: str | None, entry: str, origin: dict[str, Any]) -> str | None:
    """``traceback`` with each frame in the cell's part of the generated ``entry`` pointing at the notebook cell.

    ``File ".../snapshot/main.py", line 57, in <module>`` gets ``(cell [12], line 3)``: origin's
    ``script_line`` is where the cell starts in the script, ``cell_line`` its first line's number in the cell.
    A frame in a definition carried from an earlier cell points at that cell, through origin's ``line_map``.
    """
    start, first = origin.get("script_line"), origin.get("cell_line", 1)
    if not traceback or origin.get("kind") != "cell" or not isinstance(start, int):
        return traceback
    label = f"cell [{origin.get('execution_count')}]" if origin.get("execution_count") else "the cell"
    spans = [m for m in origin.get("line_map") or [] if isinstance(m, dict) and m.get("execution_count") is not None]
    out = []
    for text in traceback.splitlines():
        frame = _FRAME.match(text)
        if frame and frame["file"].endswith("/" + entry):
            line = int(frame["line"])
            if line >= start:
                text = f"{frame.group(1)} ({label}, line {line - start + int(first)}){frame['rest']}"
            else:
                span = next((m for m in spans if m.get("start", 0) <= line <= m.get("end", -1)), None)
                if span is not None:
                    where = f"{span.get('cell')}, line {line - int(span['start']) + int(span.get('cell_line', 1))}"
                    text = f"{frame.group(1)} ({where}){frame['rest']}"
        out.append(text)
    return "\n".join(out)


def rank_failure(
    rank: int,
    role: str,
    host: str,
    status: dict[str, Any],
    stderr_tail: bytes,
    *,
    entry: str = "",
    origin: dict[str, Any] | None = None,
) -> RootCause:
    """The root cause when ``rank`` exited with ``status`` (its exit code or signal, and the time)."""
    tail = stderr_tail.decode("utf-8", "replace")
    if status.get("signal") is not None:
        how = f"was killed by {signal_description(status['signal'])}"
    elif status.get("code") is None:
        how = "ended without reporting an exit status"
    else:
        how = f"exited with code {status['code']}"
    traceback = in_cell_terms(extract_traceback(tail), entry, origin or {})
    error = exception_line(traceback)
    hint = flag_hint(error)
    return RootCause(
        message=f"rank {rank} ({role}) on {host} {how}"
        + (f": {error}" if error else "")
        + (f" ({hint})" if hint else ""),
        error=error,
        hint=hint,
        rank=rank,
        host=host,
        exit_code=status.get("code"),
        signal=status.get("signal"),
        time=status["time"],
        traceback=traceback,
        stderr_tail="\n".join(tail.split("\n")[-40:]),  # a \r redraw stays in its line: readers collapse it
    )


# A rank aborted (SIGABRT) is most often gloo or NCCL giving up on a collective because a peer is gone: the
# other ranks get this long to end by themselves before they are stopped, so that the peer that failed first,
# whose interpreter may take longer to end, is named the root cause.
ABORT_GRACE_S = 2.0


def failed_first(
    cause: RootCause | None,
    exits: dict[int, dict[str, Any]],
    rank: int,
    status: dict[str, Any],
    stop_began: float | None,
) -> bool:
    """Whether ``rank``'s failure (``status``), reported after ``cause``'s, is the real first one.

    Either its program ended first (its agent was slower to say so), as torchrun orders failures by their
    time; or the cause's rank was aborted (SIGABRT) and, in the ABORT_GRACE_S before the others are
    stopped, this rank exited by itself with an error: the abort is this peer's doing. Never over a hang,
    and never a rank that ended after the stop began (``stop_began``, wall time): that end was ours.
    """
    if cause is None or cause.hang or cause.rank is None or cause.rank == rank or cause.rank not in exits:
        return False
    first, mine = exits[cause.rank].get("ended"), status.get("ended")
    if not isinstance(first, (int, float)) or not isinstance(mine, (int, float)):
        return False
    if stop_began is not None and mine >= stop_began:
        return False
    by_itself = status.get("signal") is None and status.get("code") not in (0, None)
    return mine < first or (cause.signal == signal.SIGABRT and by_itself and stop_began is None)
