"""What training code imports: metrics, progress, rank information and the outputs folder.

``log()`` appends to an in-memory queue; a daemon thread writes the queue to the rank
agent every 100 ms and at exit, so a call costs about a microsecond and never waits on
I/O. Outside a run every call is a no-op that warns once.

Standard library only: this module travels to remote hosts with the rank side.
"""

from __future__ import annotations

import atexit
import collections
import json
import math
import os
import threading
import time
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any, cast

FLUSH_INTERVAL_S = 0.1
# A flush encodes and writes this many values at a time, so they reach disk as it goes.
FLUSH_CHUNK = 10_000
# log() waits for the writer when MAX_QUEUED values (about 150 MB) are queued, so a burst of up
# to that many is taken at full speed. Once the writer has been behind for QUEUE_S, the limit
# becomes what it writes in QUEUE_S (its pace, measured meanwhile; at least MIN_QUEUED): a
# program that keeps logging faster than its values can be written is slowed to the writer's
# pace, never grows without bound, and what it logs reaches readers within about a second.
MAX_QUEUED = 1_000_000
MIN_QUEUED = 50_000
QUEUE_S = 1.0
# A pipe write up to this size is atomic (POSIX PIPE_BUF): a forked child (a DataLoader worker)
# shares the pipe with its parent, so then each write carries whole lines only, up to this size.
ATOMIC_WRITE = 4096

_queue: collections.deque[tuple[Any, ...]] = collections.deque()
_append = _queue.append
_lock = threading.Lock()
# ready: this process has its pipe (log() then skips the getpid() system call; a fork clears it).
_state: dict[str, Any] = {"fd": None, "thread": None, "warned": False, "pid": None, "shared": False, "ready": False}
_wake = threading.Event()
_room = MAX_QUEUED  # values log() may queue before it waits; the writer sets it from its pace
_pace = [0.0, 0.0]  # the writer's values per second (smoothed), and since when it has been behind


def _metrics_fd() -> int | None:
    """The pipe to this rank's agent, opened lazily (and again after a fork)."""
    if _state["pid"] == os.getpid():
        return cast("int | None", _state["fd"])
    with _lock:
        if _state["pid"] != os.getpid():
            raw = os.environ.get("MLTRAIN_METRICS_FD")
            fd = int(raw) if raw and raw.isdigit() else None
            if fd is not None:
                try:
                    os.fstat(fd)
                except OSError:
                    fd = None
            _state["fd"] = fd
            _queue.clear()
            _state["pid"] = os.getpid()
            _state["ready"] = fd is not None
            if fd is not None:
                thread = threading.Thread(target=_flush_loop, name="mltrain-metrics", daemon=True)
                _state["thread"] = thread
                thread.start()
    return cast("int | None", _state["fd"])


def _warn_outside_run() -> None:
    if not _state["warned"]:
        _state["warned"] = True
        warnings.warn(
            "jupyter_mltrain: not running inside an mltrain run; log() calls are ignored",
            RuntimeWarning,
            stacklevel=3,
        )


def log(name: str, value: Any, step: int | None = None) -> None:
    """Record one value of metric ``name`` (at ``step``, if given) for this rank."""
    if not _state["ready"] and _metrics_fd() is None:
        _warn_outside_run()
        return
    _append((name, value, step, time.time()))
    if len(_queue) > _room:
        _wait_for_room()


def _wait_for_room() -> None:
    """Back-pressure: let the writer thread bring the queue down to half its limit."""
    _wake.set()
    thread = _state["thread"]
    while len(_queue) > _room // 2 and _state["fd"] is not None and thread is not None and thread.is_alive():
        time.sleep(0.001)


def _note_pace(values: int, seconds: float) -> None:
    """The writer, behind, wrote ``values`` in ``seconds``: past QUEUE_S of being behind, the queue
    may hold about QUEUE_S of that pace."""
    global _room
    now = time.monotonic()
    pace = values / max(seconds, 1e-6)
    if not _pace[1]:
        _pace[:] = [pace, now]
    _pace[0] = 0.7 * _pace[0] + 0.3 * pace
    if now - _pace[1] >= QUEUE_S:
        _room = int(min(MAX_QUEUED, max(MIN_QUEUED, _pace[0] * QUEUE_S)))


def _caught_up() -> None:
    global _room
    _room = MAX_QUEUED
    _pace[:] = [0.0, 0.0]


def log_many(values: Mapping[str, Any], step: int | None = None) -> None:
    """Record several metrics at once, all at the same step and time."""
    if not _state["ready"] and _metrics_fd() is None:
        _warn_outside_run()
        return
    now = time.time()
    for name, value in values.items():
        _append((name, value, step, now))
    if len(_queue) > _room:
        _wait_for_room()


def progress(step: int, total: int | None = None) -> None:
    """Report how far the run is (shown as a progress bar by the widget and panel)."""
    if not _state["ready"] and _metrics_fd() is None:
        _warn_outside_run()
        return
    _append((None, step, total, time.time()))


def _number(value: Any) -> Any:
    if type(value) is float:
        return value if math.isfinite(value) else str(value)
    if type(value) is int or type(value) is bool:
        return int(value)
    try:
        f = float(value)
    except (TypeError, ValueError):
        return str(value)
    return f if math.isfinite(f) else str(f)


_name_cache: dict[str, str] = {}


def attempt() -> int:
    """Which attempt of the run this is: 1, then 2… after a restart (``--max-restarts``)."""
    return _env_int("MLTRAIN_ATTEMPT", default=1)


# Records of a restarted run's later attempts carry their attempt (readers keep the last value of each step);
# the first attempt's do not: no attempt field means attempt 1.
_ATTEMPT_ENV = os.environ.get("MLTRAIN_ATTEMPT", "")
_ATTEMPT_FIELD = f',"attempt":{int(_ATTEMPT_ENV)}' if _ATTEMPT_ENV.isdigit() and int(_ATTEMPT_ENV) > 1 else ""


def _encode(item: tuple[Any, ...]) -> str:
    name, value, step, t = item
    if name is None:
        event = {"event": "progress", "step": value, "total": step, "time": t}
        return json.dumps({**event, "attempt": int(_ATTEMPT_ENV)} if _ATTEMPT_FIELD else event) + "\n"
    key = _name_cache.get(name)
    if key is None:
        key = _name_cache[name] = json.dumps(str(name))
    step_s = "null" if step is None else str(int(step))
    kind = type(value)
    if kind is float and math.isfinite(value):
        value_s = repr(value)
    elif kind is int:
        value_s = str(value)
    else:
        value_s = json.dumps(_number(value))
    return f'{{"name":{key},"value":{value_s},"step":{step_s},"time":{t:.6f}{_ATTEMPT_FIELD}}}\n'


def flush() -> None:
    """Write every queued value to the rank agent now."""
    fd = _state["fd"]
    if fd is None or _state["pid"] != os.getpid():
        return
    with _lock:
        popleft = _queue.popleft
        left = len(_queue)  # what was queued when the flush began; later values wait for the next
        if left < FLUSH_CHUNK and _pace[1]:
            _caught_up()
        while left > 0 and _state["fd"] is not None:
            n = min(left, FLUSH_CHUNK)
            left -= n
            began = time.monotonic()
            lines = [_encode(popleft()) for _ in range(n)]  # only a flush pops, under the lock
            chunks = _atomic_chunks(lines) if _state["shared"] else ["".join(lines)]
            try:
                for chunk in chunks:
                    view = memoryview(chunk.encode())
                    while view:
                        written = os.write(fd, view)
                        view = view[written:]
            except OSError:
                # The agent is gone; the run is being torn down.
                _state["fd"] = None
                _state["ready"] = False
            if n == FLUSH_CHUNK:  # a backlog: this chunk's time is the writer's pace
                _note_pace(n, time.monotonic() - began)


def _atomic_chunks(lines: list[str]) -> list[str]:
    """Whole lines grouped into pieces that each fit one atomic pipe write."""
    chunks: list[str] = []
    start, size = 0, 0
    for i, line in enumerate(lines):
        if size + len(line) > ATOMIC_WRITE and i > start:
            chunks.append("".join(lines[start:i]))
            start, size = i, 0
        size += len(line)
    chunks.append("".join(lines[start:]))
    return chunks


def _after_fork() -> None:
    _state["shared"] = True


def _after_fork_in_child() -> None:
    global _lock
    _state["shared"] = True
    _state["ready"] = False
    _lock = threading.Lock()  # the parent's writer may have held it at the fork: it never lets go here


os.register_at_fork(after_in_parent=_after_fork, after_in_child=_after_fork_in_child)


def _flush_loop() -> None:
    while True:
        _wake.wait(FLUSH_INTERVAL_S)
        _wake.clear()
        flush()
        if _state["fd"] is None:
            return


@atexit.register
def _flush_at_exit() -> None:
    flush()


def _env_int(*names: str, default: int) -> int:
    for name in names:
        raw = os.environ.get(name)
        if raw not in (None, ""):
            try:
                return int(raw)
            except ValueError:
                continue
    return default


def rank() -> int:
    """This process's global rank (0 outside a distributed run)."""
    return _env_int("RANK", "OMPI_COMM_WORLD_RANK", "PMI_RANK", "SLURM_PROCID", default=0)


def local_rank() -> int:
    """This process's rank on its host."""
    return _env_int("LOCAL_RANK", "OMPI_COMM_WORLD_LOCAL_RANK", "MPI_LOCALRANKID", "SLURM_LOCALID", default=0)


def world_size() -> int:
    """Number of processes in the run (1 outside a distributed run)."""
    return _env_int("WORLD_SIZE", "OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "SLURM_NTASKS", default=1)


def run_id() -> str | None:
    """The id of the run this process belongs to, or None outside a run."""
    return os.environ.get("MLTRAIN_RUN_ID")


def checkpoint_dir() -> Path:
    """A folder that every attempt of this run finds again, for checkpoints (created on first use).

    Save to it as training goes; after a restart (``--max-restarts``), resume from what is there.
    """
    path = Path(os.environ.get("MLTRAIN_CHECKPOINT_DIR", "checkpoints"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def latest_checkpoint(pattern: str = "*") -> Path | None:
    """The newest file or folder in ``checkpoint_dir()`` matching ``pattern`` (by modification time), or None."""
    found = [p for p in checkpoint_dir().glob(pattern) if not p.name.startswith(".")]
    return max(found, key=lambda p: (p.stat().st_mtime_ns, p.name)) if found else None


def params() -> dict[str, Any]:
    """The run's ``--param`` values by name, typed as given (``{"lr": 0.5}``); empty outside a run."""
    raw = os.environ.get("MLTRAIN_PARAMS")
    if not raw:
        return {}
    value = json.loads(raw)
    return dict(value) if isinstance(value, dict) else {}


def outputs_dir() -> Path:
    """The folder whose files are kept with the run (created on first use)."""
    path = Path(os.environ.get("MLTRAIN_OUTPUTS_DIR", "outputs"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def input_path(name: str) -> Path:
    """The local path of the run input called ``name`` (``--input name=path``)."""
    key = "MLTRAIN_INPUT_" + name.upper().replace("-", "_")
    if key not in os.environ:
        raise KeyError(f"no input named {name!r} in this run")
    return Path(os.environ[key])
