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


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class JupyterServer:
    """A real Jupyter server (``python -m jupyter_server``, or ``jupyterlab``/``notebook``) in its own process,
    with a token, on one port that stays the same across ``stop()`` and ``start()``."""

    def __init__(self, root, workdir, app_args=("-m", "jupyter_server")) -> None:
        import secrets
        from pathlib import Path

        self.root, self.workdir = Path(root), Path(workdir)
        self.app_args = list(app_args)
        self.port, self.token = free_port(), secrets.token_hex(16)
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = self.workdir / "server.log"
        self.proc = None

    def start(self, timeout: float = 90.0) -> JupyterServer:
        """Start it and wait until it answers."""
        import os
        import subprocess
        import sys
        import urllib.request

        env = dict(
            os.environ,
            JUPYTER_RUNTIME_DIR=str(self.workdir / "runtime"),
            JUPYTERLAB_SETTINGS_DIR=str(self.workdir / "settings"),
            JUPYTERLAB_WORKSPACES_DIR=str(self.workdir / "workspaces"),
        )
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    *self.app_args,
                    "--no-browser",
                    "--ServerApp.ip=127.0.0.1",
                    f"--ServerApp.port={self.port}",
                    "--ServerApp.port_retries=0",
                    f"--IdentityProvider.token={self.token}",
                    f"--ServerApp.root_dir={self.root}",
                    "--allow-root",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=self.root,
            )
        deadline = time.monotonic() + timeout
        while True:
            try:
                urllib.request.urlopen(f"{self.url}/api/status?token={self.token}", timeout=2).read()
                return self
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(
                        "the Jupyter server did not start:\n" + self.log_path.read_text()[-3000:]
                    ) from None
                time.sleep(0.3)

    def stop(self) -> None:
        """Stop it as Ctrl-C would (SIGTERM), killing it if it lingers."""
        import subprocess

        if self.proc is None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc = None


def execute(kc, code: str, timeout: float = 120) -> str:
    """Run ``code`` in the kernel; return its stdout; fail on an error."""
    out: list[str] = []
    errors: list[str] = []

    def hook(msg) -> None:
        kind = msg["msg_type"]
        if kind == "stream" and msg["content"]["name"] == "stdout":
            out.append(msg["content"]["text"])
        elif kind == "error":
            errors.append("\n".join(msg["content"]["traceback"]))

    reply = kc.execute_interactive(code, output_hook=hook, timeout=timeout)
    assert reply["content"]["status"] == "ok" and not errors, errors or reply["content"]
    return "".join(out)
