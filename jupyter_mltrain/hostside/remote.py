"""The head-node side of an ssh run (standard library only; it travels with the rank agents).

    python -m jupyter_mltrain.hostside.remote [CONFIG_JSON]
    python -m jupyter_mltrain.hostside.remote --dump-stacks REQUEST_JSON

The first runs on the target's first host, started by the supervisor over the ssh connection it holds.
Without an argument the configuration is the first line of stdin, so that the ranks'
environment (secrets included) and the run's token never show on a command line.
It opens a collector on the head's address, starts ``mpirun`` over all the target's hosts with
one rank agent per rank (each connects back to the collector with the run's token), and relays
every rank's frames to its stdout, i.e. back through ssh: no connection to the notebook's
machine is ever opened from the cluster. Its stdin is the lifeline: a ``term`` line sends
SIGTERM to the ranks (mpirun forwards it); end of input — the supervisor closed it, or the
ssh connection was cut — kills mpirun and every rank, as Horovod's safe_shell_exec middleman
does. It exits with mpirun's exit code.

The second runs on any host of a run, this one included, when the supervisor finds a hang:
it sends SIGQUIT to the given ranks' programs there (``jupyter_mltrain.hostside.watch`` has
faulthandler print every thread's stack to stderr, which reaches the rank's log the usual
way) and runs ``py-spy dump`` on each where py-spy is installed (on PATH or next to this
interpreter), then prints one JSON line: each rank's process state and py-spy's output.
"""

from __future__ import annotations

import json
import os
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import time
from typing import Any

from jupyter_mltrain.hostside.collector import Collector
from jupyter_mltrain.hostside.protocol import encode


def mpirun_argv(config: dict[str, Any], env_names: list[str]) -> list[str]:
    """The OpenMPI command line starting one agent per rank over the hosts."""
    argv = [config["mpirun"]]
    if os.geteuid() == 0:
        argv.append("--allow-run-as-root")
    argv += [
        "--oversubscribe",
        "--bind-to",
        "none",
        "--host",
        config["hosts"],
        "-np",
        str(config["np"]),
        "-wdir",
        config["workdir"],
    ]
    for name in env_names:
        argv += ["-x", name]
    argv += list(config.get("mpirun_args") or [])
    argv += [config["python"], "-m", "jupyter_mltrain.hostside.rank", "--", *config["program"]]
    return argv


def _kill_group(proc: subprocess.Popen[bytes], sig: int) -> None:
    try:
        os.killpg(proc.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def process_state(pid: int) -> str | None:
    """``T (stopped)`` style state of a process on this host, from ``/proc``."""
    try:
        with open(f"/proc/{int(pid)}/stat", "rb") as fh:
            code = fh.read().rsplit(b")", 1)[1].split()[0].decode()
    except (OSError, IndexError, ValueError):
        return None
    names = {
        "R": "running",
        "S": "sleeping",
        "D": "disk sleep",
        "T": "stopped",
        "t": "stopped by a tracer",
        "Z": "zombie",
    }
    return f"{code} ({names.get(code, 'other')})"


def _of_run(pid: int, run_id: str) -> bool:
    try:
        with open(f"/proc/{int(pid)}/environ", "rb") as fh:
            return f"MLTRAIN_RUN_ID={run_id}".encode() in fh.read().split(b"\0")
    except OSError:
        return False


def dump_stacks(request: dict[str, Any]) -> dict[str, dict[str, str | None]]:
    """Each rank's process state and py-spy dump, its program sent SIGQUIT first.

    ``request``: ``{"run_id", "ranks": {rank: [pid, host]}, "timeout"}``. Ranks of other hosts are
    left out of the answer; a pid that is not a process of the run here is left alone.
    """
    py_spy = shutil.which("py-spy") or shutil.which("py-spy", path=os.path.dirname(sys.executable))
    answers: dict[str, dict[str, str | None]] = {}
    dumps: dict[str, subprocess.Popen[bytes]] = {}
    for rank, (pid, host) in request["ranks"].items():
        if host != socket.gethostname():
            continue
        state = process_state(pid)
        if state is None or not _of_run(pid, request["run_id"]):
            answers[rank] = {"state": state, "py_spy": f"(pid {pid} is not a process of this run on this host)\n"}
            continue
        answers[rank] = {"state": state, "py_spy": None}
        try:
            os.kill(pid, signal.SIGQUIT)
        except (ProcessLookupError, PermissionError):
            pass
        if py_spy:
            dumps[rank] = subprocess.Popen(
                [py_spy, "dump", "--nonblocking", "--pid", str(pid)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
            )
        else:
            answers[rank]["py_spy"] = f"(py-spy is neither on PATH nor next to {sys.executable})\n"
    deadline = time.monotonic() + float(request["timeout"])
    for rank, proc in dumps.items():
        try:
            out, _ = proc.communicate(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            out = b"(py-spy did not answer)\n"
        answers[rank]["py_spy"] = out.decode("utf-8", "replace")
    return answers


def main(argv: list[str] | None = None) -> int:
    """Run the head side of one ssh run (or, with ``--dump-stacks``, a stack dump on this host)."""
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["--dump-stacks"]:
        print(json.dumps(dump_stacks(json.loads(args[1]))), flush=True)
        return 0
    os.umask(0o077)  # as on the submitting machine: what the ranks write is private
    stdin_buf = b""
    if args:
        config = json.loads(args[0])
    else:
        while b"\n" not in stdin_buf:
            data = os.read(0, 1 << 16)
            if not data:  # the controller went away before sending the configuration
                return 137
            stdin_buf += data
        line, stdin_buf = stdin_buf.split(b"\n", 1)
        config = json.loads(line)
    config["workdir"] = os.path.expanduser(config["workdir"])
    config["python"] = os.path.expanduser(config["python"])
    config["program"] = [os.path.expanduser(config["program"][0]), *config["program"][1:]]
    collector = Collector(config["token"], host=config["bind"])
    env = dict(os.environ)
    env.update(config.get("env") or {})
    if config.get("pythonpath"):  # the staged rank-side package, for every rank on every host
        env["PYTHONPATH"] = os.path.expanduser(config["pythonpath"])
    env["MLTRAIN_CHANNEL"] = f"tcp:{config['bind']}:{collector.port}"
    env["MLTRAIN_TOKEN"] = config["token"]
    if os.geteuid() == 0:
        env.setdefault("OMPI_ALLOW_RUN_AS_ROOT", "1")
        env.setdefault("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
    names = sorted(set(config.get("env") or {}) | {"MLTRAIN_CHANNEL", "MLTRAIN_TOKEN", "PYTHONPATH"})
    command = mpirun_argv(config, names)
    print("mltrain remote: " + json.dumps(command), file=sys.stderr, flush=True)
    proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, env=env, cwd=config["workdir"], start_new_session=True)
    out = sys.stdout.buffer
    sel = selectors.DefaultSelector()
    sel.register(collector, selectors.EVENT_READ)
    sel.register(0, selectors.EVENT_READ)
    open_conns = 0
    if b"term\n" in stdin_buf:
        stdin_buf = b""
        _kill_group(proc, signal.SIGTERM)
    while True:
        if proc.poll() is not None and open_conns == 0:
            # mpirun ended and every agent's connection closed: everything was relayed
            return proc.returncode if proc.returncode >= 0 else 128 - proc.returncode
        for key, _ in sel.select(timeout=0.2):
            if key.fileobj == 0:
                data = os.read(0, 4096)
                if not data:  # the controller is gone: nothing may outlive it
                    _kill_group(proc, signal.SIGKILL)
                    proc.wait()
                    return 137
                stdin_buf += data
                if b"term\n" in stdin_buf:
                    stdin_buf = b""
                    _kill_group(proc, signal.SIGTERM)
                continue
            src = key.fileobj
            frames, new, closed = src.on_readable()  # type: ignore[union-attr]
            for frame in frames:
                out.write(encode(*frame))
            if frames:
                out.flush()
            for conn in new:
                sel.register(conn, selectors.EVENT_READ)
                open_conns += 1
            if closed and src is not collector:
                sel.unregister(src)
                open_conns -= 1
        if proc.poll() is not None and open_conns > 0:
            time.sleep(0.01)


if __name__ == "__main__":
    sys.exit(main())
