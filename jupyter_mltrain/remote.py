"""The head-node side of an ssh run (standard library only; it travels with the rank agents).

    python -m jupyter_mltrain.remote [CONFIG_JSON]

runs on the target's first host, started by the supervisor over the ssh connection it holds.
Without an argument the configuration is the first line of stdin, so that the ranks'
environment (secrets included) and the run's token never show on a command line.
It opens a collector on the head's address, starts ``mpirun`` over all the target's hosts with
one rank agent per rank (each connects back to the collector with the run's token), and relays
every rank's frames to its stdout, i.e. back through ssh: no connection to the notebook's
machine is ever opened from the cluster. Its stdin is the lifeline: a ``term`` line sends
SIGTERM to the ranks (mpirun forwards it); end of input — the supervisor closed it, or the
ssh connection was cut — kills mpirun and every rank, as Horovod's safe_shell_exec middleman
does. It exits with mpirun's exit code.
"""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import sys
import time
from typing import Any

from jupyter_mltrain.collector import Collector
from jupyter_mltrain.protocol import encode


def mpirun_argv(config: dict[str, Any], env_names: list[str]) -> list[str]:
    """The OpenMPI command line starting one agent per rank over the hosts."""
    argv = [config["mpirun"]]
    if os.geteuid() == 0:
        argv.append("--allow-run-as-root")
    argv += ["--oversubscribe", "--bind-to", "none", "--host", config["hosts"], "-np", str(config["np"]),
             "-wdir", config["workdir"]]
    for name in env_names:
        argv += ["-x", name]
    argv += list(config.get("mpirun_args") or [])
    argv += [config["python"], "-m", "jupyter_mltrain.rank", "--", *config["program"]]
    return argv


def _kill_group(proc: subprocess.Popen[bytes], sig: int) -> None:
    try:
        os.killpg(proc.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def main(argv: list[str] | None = None) -> int:
    """Run the head side of one ssh run."""
    args = sys.argv[1:] if argv is None else argv
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
