"""The contract every launcher keeps.

A launcher starts the rank agents of one plan and gives the supervisor the channels their
frames arrive on. It never reads the frames itself: the supervisor does, for every backend.
Stopping is in two steps, as with torchrun and ipyparallel: ``terminate()`` (SIGTERM, which
the agents forward to the user's program), then after the grace period ``kill()`` (SIGKILL
to whole process groups).
"""

from __future__ import annotations

import abc
import os
import signal
from pathlib import Path
from typing import Any, ClassVar

from jupyter_mltrain.collector import Source
from jupyter_mltrain.plan import LaunchPlan


class Launcher(abc.ABC):
    """Starts and stops the ranks of one run."""

    name: ClassVar[str]
    queues: ClassVar[bool] = False  # a scheduler may hold the job: the run stays Queued while pending()

    def __init__(self, plan: LaunchPlan, base_env: dict[str, str]) -> None:
        self.plan = plan
        self.base_env = base_env
        self.user_pgids: dict[int, int] = {}

    @abc.abstractmethod
    def start(self) -> list[Source]:
        """Start every rank; return the sources their frames will arrive on."""

    @abc.abstractmethod
    def terminate(self) -> None:
        """Ask every rank to stop (SIGTERM)."""

    @abc.abstractmethod
    def kill(self) -> None:
        """Stop everything now (SIGKILL to whole process groups)."""

    @abc.abstractmethod
    def running(self) -> bool:
        """Whether any process the launcher started is still running."""

    def describe(self) -> dict[str, Any]:
        """The resolved launch configuration, for the run's log."""
        return {"launcher": self.name}

    def pending(self) -> bool:
        """Whether a scheduler still holds the job (only for launchers that queue)."""
        return False

    def environment(self) -> dict[str, Any] | None:
        """The ranks' interpreter and packages when they run elsewhere (None: this machine's, as usual)."""
        return None

    def external_cause(self) -> str | None:
        """Why the ranks were ended from outside (a scheduler's time limit, a node failure), if they were."""
        return None

    def lost_reason(self) -> str | None:
        """Why ranks could not report their end, when the launcher knows (e.g. a cut connection)."""
        return None

    def collect_outputs(self, dest: Path) -> None:
        """Bring the ranks' outputs into ``dest`` (Finalizing); nothing to do where they are written locally."""

    def cleanup(self, completed: bool) -> None:
        """Remove what the run left on other machines, as configured."""

    def rank_started(self, rank: int, info: dict[str, Any]) -> None:
        """Note a rank's user program (its pid leads its own process group)."""
        pid = info.get("pid")
        if isinstance(pid, int) and info.get("host") == os.uname().nodename:
            self.user_pgids[rank] = pid

    def kill_user_groups(self) -> None:
        """SIGKILL the process groups of the users' programs on this host."""
        for pgid in self.user_pgids.values():
            killpg(pgid, signal.SIGKILL)


def killpg(pgid: int, sig: int) -> None:
    """Signal a process group, ignoring one that is already gone."""
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass
