"""Local launcher: N rank agents as child processes of the supervisor (modes none, torch, tf, tf-ps).

Each agent runs in its own session; its stdout is a pipe carrying its frames and its stdin a
pipe the supervisor holds open, so an agent whose supervisor dies sees EOF, stops its
program and exits. Ranks get ``RANK``/``LOCAL_RANK`` and the rest of the plan's environment
exactly as torchrun would set them.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from typing import Any

from jupyter_mltrain.engine.launch.base import Launcher, killpg
from jupyter_mltrain.hostside.collector import Source, StreamSource


class LocalRankLauncher(Launcher):
    """Starts one rank agent per rank on this machine."""

    name = "local"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self) -> list[Source]:
        """Start every agent."""
        sources: list[Source] = []
        cmd = [sys.executable, "-m", "jupyter_mltrain.hostside.rank", "--", *self.plan.program]
        for rank in range(self.plan.world_size):
            env = {**self.base_env, **self.plan.env_for_rank(rank), "MLTRAIN_CHANNEL": "fd"}
            proc = subprocess.Popen(
                cmd,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                env=env,
                cwd=self.plan.workdir,
                start_new_session=True,
            )
            self.procs.append(proc)
            assert proc.stdout is not None
            sources.append(StreamSource(proc.stdout.fileno(), f"rank {rank}"))
        return sources

    def terminate(self) -> None:
        """SIGTERM each agent; it forwards the signal to its program's process group."""
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        """SIGKILL every agent's and every program's process group."""
        self.kill_user_groups()
        for proc in self.procs:
            killpg(proc.pid, signal.SIGKILL)

    def running(self) -> bool:
        """Whether an agent is still running."""
        return any(p.poll() is None for p in self.procs)

    def exit_codes(self) -> list[int | None]:
        """The agents' exit codes (None while running)."""
        return [p.poll() for p in self.procs]

    def describe(self) -> dict[str, Any]:
        """The launch configuration."""
        return {"launcher": self.name, "agents": self.plan.world_size, "pids": [p.pid for p in self.procs]}
