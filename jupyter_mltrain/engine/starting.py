"""How a run's supervisor process starts: a fresh interpreter, or forked by a warm server.

A new supervisor normally costs an interpreter start and the engine's imports (0.1–0.2 s of CPU and of
latency): ``start_in_new_interpreter``, what ``submit()`` does by default. A sweep starts many short runs from
one long-lived driver, so the driver keeps a ``ForkServer`` (``engine/supervisor/forkserver.py``, imported once)
and passes its ``start_supervisor`` to ``submit()``. A forked supervisor has the server's command line; it is
known as its run's by its working folder (see ``hostside.procs.process_alive``).
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

SERVER_MODULE = "jupyter_mltrain.engine.supervisor.forkserver"


class Lines:
    """Whole lines from a file descriptor, read without a buffer that ``select`` cannot see."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.buffer = b""
        self.closed = False

    def ready(self, timeout: float) -> bool:
        """Whether a whole line (or the end) can be had within ``timeout`` s."""
        if b"\n" in self.buffer or self.closed:
            return True
        while select.select([self.fd], [], [], timeout)[0]:
            chunk = os.read(self.fd, 1 << 16)
            if not chunk:
                self.closed = True
                return True
            self.buffer += chunk
            if b"\n" in self.buffer:
                return True
            timeout = 0
        return False

    def next(self, timeout: float | None = None) -> str | None:
        """The next line (without its newline); None at the end, or when none came within ``timeout`` s."""
        while not self.ready(3600.0 if timeout is None else timeout):
            if timeout is not None:
                return None
        if b"\n" not in self.buffer:
            return None  # closed
        line, self.buffer = self.buffer.split(b"\n", 1)
        return line.decode()


def start_in_new_interpreter(run_dir: Path, env: Mapping[str, str]) -> int:
    """Start ``python -m jupyter_mltrain.engine.supervisor RUN_DIR`` detached (``submit()``'s default); its pid."""
    with open(os.open(run_dir / "supervisor.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600), "ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "jupyter_mltrain.engine.supervisor", str(run_dir)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=dict(env),
            cwd=run_dir,
            start_new_session=True,
        )
    return proc.pid


class ForkServer:
    """The client side: start the server, ask it for supervisors, learn when they end.

    ``start_supervisor`` has the signature ``submit()``'s ``starter`` needs. Not thread-safe: one owner.
    """

    def __init__(self, cwd: str | None = None) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", SERVER_MODULE],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            cwd=cwd,
            text=True,
            start_new_session=True,
        )
        assert self.proc.stdout is not None
        self.lines = Lines(self.proc.stdout.fileno())
        self.exited: dict[int, int] = {}  # pid -> exit code, for supervisors that ended
        self._lock = threading.Lock()

    def _handle(self, line: str) -> dict[str, Any] | None:
        message = json.loads(line)
        if "exited" in message:
            self.exited[int(message["exited"])] = int(message["code"])
            return None
        return dict(message)

    def start_supervisor(self, run_dir: Path, env: Mapping[str, str]) -> int:
        """Fork a supervisor for ``run_dir`` with ``env``; its pid. OSError if the server cannot."""
        assert self.proc.stdin is not None
        with self._lock:
            try:
                self.proc.stdin.write(json.dumps({"run_dir": str(run_dir), "env": dict(env)}) + "\n")
                self.proc.stdin.flush()
                while True:
                    line = self.lines.next(timeout=30.0)
                    if line is None:
                        raise OSError("the supervisor fork server has ended or does not answer")
                    reply = self._handle(line)
                    if reply is not None:
                        break
            except (BrokenPipeError, ValueError) as exc:
                raise OSError(f"the supervisor fork server has ended: {exc}") from None
        if "pid" not in reply:
            raise OSError(str(reply.get("error", reply)))
        return int(reply["pid"])

    def wait(self, timeout: float) -> dict[int, int]:
        """Wait up to ``timeout`` s for supervisors to end; return (and forget) those that have: pid -> code."""
        with self._lock:
            wait_s = 0.0 if self.exited else timeout
            while not self.lines.closed and self.lines.ready(wait_s):
                line = self.lines.next(0)
                if line is None:
                    break
                self._handle(line)
                wait_s = 0.0
            ended, self.exited = self.exited, {}
        return ended

    def close(self) -> None:
        """End the server (its supervisors go on)."""
        if self.proc.stdin is not None:
            try:
                self.proc.stdin.close()
            except OSError:
                pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
