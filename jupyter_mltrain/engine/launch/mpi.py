"""MPI launcher: ``mpirun`` starts the rank agents (modes mpi and horovod) on this machine.

OpenMPI (Debian's 4.1) or MPICH's ``mpiexec`` (Hydra) are both accepted. Ranks never use
mpirun's merged stdout for frames: it is not line-safe under load. Each agent connects to
the supervisor's collector socket instead (one connection per rank), sending the run's
token first. The agent fills ``RANK``/``LOCAL_RANK``/``WORLD_SIZE`` from ``OMPI_COMM_WORLD_*``
or ``PMI_*``.
"""

from __future__ import annotations

import functools
import os
import secrets
import shutil
import signal
import subprocess
import sys
from typing import Any

from jupyter_mltrain.engine.launch.base import Launcher, killpg
from jupyter_mltrain.engine.mpirun_failures import mpirun_failure
from jupyter_mltrain.hostside.collector import Collector, Source
from jupyter_mltrain.hostside.errors import LaunchError


@functools.lru_cache(maxsize=8)
def mpi_flavor(mpirun: str) -> str:
    """``openmpi`` or ``mpich``, from ``mpirun --version``."""
    try:
        out = subprocess.run([mpirun, "--version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError) as exc:
        raise LaunchError(f"cannot run {mpirun!r}: {exc}") from None
    text = out.stdout + out.stderr
    if "Open MPI" in text or "OpenRTE" in text:
        return "openmpi"
    if "HYDRA" in text or "MPICH" in text:
        return "mpich"
    return "openmpi"


def mpirun_command(mpirun: str, np: int, env_names: list[str], extra: list[str], program: list[str]) -> list[str]:
    """The mpirun command line that starts ``np`` rank agents for ``program``."""
    flavor = mpi_flavor(mpirun)
    cmd = [mpirun]
    if flavor == "openmpi":
        if os.geteuid() == 0:
            cmd.append("--allow-run-as-root")
        cmd += ["--oversubscribe", "--bind-to", "none", "-np", str(np)]
        for name in env_names:
            cmd += ["-x", name]
    else:
        cmd += ["-np", str(np)]
        if env_names:
            cmd += ["-envlist", ",".join(env_names)]
    cmd += extra
    cmd += [sys.executable, "-m", "jupyter_mltrain.hostside.rank", "--", *program]
    return cmd


class MPIRankLauncher(Launcher):
    """Starts the ranks with mpirun; frames come back over the collector socket."""

    name = "mpi"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.proc: subprocess.Popen[bytes] | None = None
        self.collector: Collector | None = None
        self.command: list[str] = []

    def start(self) -> list[Source]:
        """Open the collector, then start mpirun."""
        mpirun_opt = str(self.plan.launcher_options.get("mpirun") or "mpirun")
        mpirun = shutil.which(mpirun_opt)
        if mpirun is None:
            raise LaunchError(
                f"mode {self.plan.mode!r} needs {mpirun_opt!r} and it is not on PATH; "
                "install OpenMPI (apt-get install openmpi-bin libopenmpi-dev) or MPICH"
            )
        token = secrets.token_hex(16)
        self.collector = Collector(token)
        env = {**self.base_env, **self.plan.env}
        env["MLTRAIN_CHANNEL"] = f"tcp:127.0.0.1:{self.collector.port}"
        env["MLTRAIN_TOKEN"] = token
        if os.geteuid() == 0:
            env.setdefault("OMPI_ALLOW_RUN_AS_ROOT", "1")
            env.setdefault("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
        names = sorted(set(self.plan.env) | {"MLTRAIN_CHANNEL", "MLTRAIN_TOKEN"})
        extra = list(self.plan.launcher_options.get("mpirun_args") or [])
        self.command = mpirun_command(mpirun, self.plan.world_size, names, extra, self.plan.program)
        self.proc = subprocess.Popen(
            self.command, stdin=subprocess.DEVNULL, env=env, cwd=self.plan.workdir, start_new_session=True
        )
        return [self.collector]

    def terminate(self) -> None:
        """SIGTERM mpirun, which forwards it to every rank."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        """SIGKILL mpirun's process group and every program's."""
        self.kill_user_groups()
        if self.proc is not None:
            killpg(self.proc.pid, signal.SIGKILL)

    def running(self) -> bool:
        """Whether mpirun is still running."""
        return self.proc is not None and self.proc.poll() is None

    def lost_reason(self) -> str | None:
        """mpirun's own launch failure (a host it could not reach, no orted there…), named with the host."""
        if self.proc is None or self.proc.poll() in (None, 0):
            return None
        return mpirun_failure(self.launcher_log())

    def describe(self) -> dict[str, Any]:
        """The launch configuration, mpirun's command line included."""
        return {"launcher": self.name, "command": self.command, "pid": self.proc.pid if self.proc else None}
