"""Shared pieces of the benchmarks: a throw-away MLTRAIN_HOME, table rows, waiting for runs.

Benchmarks are scripts that print numbers; they are never collected as tests.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jupyter_mltrain.api import Run
from jupyter_mltrain.engine.store import (
    RunRecord,
    Status,
    Store,
    write_json_atomic,
)
from jupyter_mltrain.hostside.procs import process_alive

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"


@dataclass
class Row:
    """One line of the results table."""

    benchmark: str
    result: str
    target: str
    ok: bool | None  # None: no target to meet


def note(message: str) -> None:
    """A progress or detail line, on stderr so the table on stdout stays clean."""
    print(f"  {message}", file=sys.stderr, flush=True)


def ms(seconds: float) -> str:
    """Seconds as a short millisecond string."""
    return f"{seconds * 1000:.0f} ms"


def median(values: list[float]) -> float:
    """The median of ``values``."""
    return statistics.median(values)


def percentile(values: list[float], q: float) -> float:
    """The ``q`` quantile (0..1) of ``values``, nearest rank; ``nan`` for none."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


@contextlib.contextmanager
def scratch(prefix: str) -> Iterator[tuple[Path, Store]]:
    """A temporary folder holding ``src/`` and a fresh ``home/`` (MLTRAIN_HOME); removed at the end."""
    root = Path(tempfile.mkdtemp(prefix=f"mltrain-bench-{prefix}-"))
    (root / "src").mkdir()
    old_home = os.environ.get("MLTRAIN_HOME")
    os.environ["MLTRAIN_HOME"] = str(root / "home")
    store = Store(root / "home")
    try:
        yield root, store
    finally:
        store.close()
        if old_home is None:
            os.environ.pop("MLTRAIN_HOME", None)
        else:
            os.environ["MLTRAIN_HOME"] = old_home
        shutil.rmtree(root, ignore_errors=True)


def wait_for_line(path: Path, timeout: float = 60.0, poll_s: float = 0.002) -> float:
    """Poll ``path`` until it holds a whole line; return ``time.perf_counter()`` at that moment."""
    deadline = time.perf_counter() + timeout
    while True:
        try:
            if os.stat(path).st_size > 0:
                with open(path, "rb") as fh:
                    if b"\n" in fh.read(65536):
                        return time.perf_counter()
        except FileNotFoundError:
            pass
        now = time.perf_counter()
        if now > deadline:
            raise TimeoutError(f"no line in {path} after {timeout:.0f} s")
        time.sleep(poll_s)


def finish(run: Run, timeout: float = 120.0) -> str:
    """Wait until the run has ended and its supervisor has exited; return the final status.

    The supervisor process, not the first final status read, decides: a run can read as
    ``Lost`` for a moment right after ``submit()`` while its supervisor is still starting.
    If the run overstays ``timeout`` it is canceled, and killed if it ignores that.
    """
    deadline = time.monotonic() + timeout
    try:
        run.wait(raise_on_error=False, timeout=timeout, poll_s=0.02)
    except TimeoutError:
        pass
    pid = run.record.supervisor_pid
    while process_alive(pid, run.id) and time.monotonic() < deadline:
        time.sleep(0.02)
    if process_alive(pid, run.id):
        note(f"run {run.id} still running after {timeout:.0f} s: canceling it")
        run.cancel(by="bench")
        stop = time.monotonic() + 20
        while process_alive(pid, run.id) and time.monotonic() < stop:
            time.sleep(0.1)
        if process_alive(pid, run.id) and pid:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)  # the supervisor leads its own session
    return run.record.status


def fill_store(store: Store, count: int) -> None:
    """Add ``count`` completed runs (index rows and folders with an empty spec) to ``store``."""
    now = time.time() - count
    for i in range(count):
        run_id = f"20260101-000000-{i:06x}"
        record = RunRecord(
            id=run_id,
            experiment=f"exp-{i % 20}",
            name=f"bench-{i}",
            status=Status.COMPLETED.value,
            created=now + i,
            ended=now + i + 1,
            stages={"Queued": now + i, "Completed": now + i + 1},
            metrics={"loss": {"last": 1.0 / (i + 1), "min": 0.0, "max": 1.0, "count": 10}},
        )
        store.create(record, lambda folder: write_json_atomic(folder / "spec.json", {}))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A real ``jupyter server`` process with the extension, serving MLTRAIN_HOME."""

    def __init__(self, root: Path) -> None:
        self.port, self.token = _free_port(), secrets.token_hex(16)
        (root / "srv").mkdir(exist_ok=True)
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "jupyter_server",
                "--no-browser",
                f"--ServerApp.port={self.port}",
                "--ServerApp.ip=127.0.0.1",
                f"--IdentityProvider.token={self.token}",
                f"--ServerApp.root_dir={root / 'srv'}",
                "--allow-root",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=dict(os.environ, JUPYTER_RUNTIME_DIR=str(root / "rt")),
        )
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
        """The URL of ``/mltrain/api/<path>``, with the token."""
        sep = "&" if "?" in path else "?"
        return f"{scheme}://127.0.0.1:{self.port}/mltrain/api/{path}{sep}token={self.token}"

    def get(self, path: str) -> dict[str, Any]:
        """GET ``/mltrain/api/<path>`` as JSON."""
        with urllib.request.urlopen(self.url(path), timeout=30) as response:
            return json.loads(response.read())

    def stop(self) -> None:
        """Stop the server process."""
        self.proc.terminate()
        self.proc.wait(timeout=30)


_MESSAGE_TYPE = re.compile(r'\{\s*"type"\s*:\s*"(\w+)"')


async def follow_stream(server: Server, run_id: str, on_message: Callable[[float, str, str], None]) -> None:
    """Read ``runs/{id}/stream`` up to its ``end`` message, calling ``on_message(time.time(), type, raw JSON)``
    for every other message (parsing is left to the caller: a flood of metrics costs the client little)."""
    from tornado.websocket import websocket_connect

    ws = await websocket_connect(server.url(f"runs/{run_id}/stream", "ws"), max_message_size=256 << 20)
    while True:
        raw = await ws.read_message()
        if raw is None:
            raise RuntimeError("stream closed before its end")
        text = raw if isinstance(raw, str) else raw.decode()
        match = _MESSAGE_TYPE.match(text)
        kind = match.group(1) if match else str(json.loads(text).get("type"))
        if kind == "end":
            ws.close()
            return
        on_message(time.time(), kind, text)


def ipython_shell(cwd: Path) -> Any:
    """IPython's InteractiveShell in ``cwd`` with ``%load_ext jupyter_mltrain`` done and display output dropped."""
    from IPython.core.interactiveshell import InteractiveShell

    os.chdir(cwd)
    shell = InteractiveShell.instance()
    shell.reset(new_session=False)
    shell.run_line_magic("load_ext", "jupyter_mltrain")
    shell.display_pub.publish = lambda *args, **kwargs: None  # no frontend: keep the table on stdout clean
    return shell


def write_source(folder: Path, files: dict[str, str]) -> None:
    """Write small text files into a source folder."""
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def print_rows(rows: list[Row]) -> None:
    """Print rows as a Markdown table (for running one benchmark alone)."""
    print(render_table(rows))


def render_table(rows: list[Row]) -> str:
    """The rows as a Markdown table: benchmark | result | target | ok?"""

    def ok_text(ok: bool | None) -> str:
        return "—" if ok is None else ("yes" if ok else "**NO**")

    lines = ["| benchmark | result | target | ok? |", "|---|---|---|---|"]
    for r in rows:
        cells = [r.benchmark, r.result, r.target, ok_text(r.ok)]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines)
