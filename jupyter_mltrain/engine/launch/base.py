"""The contract every launcher keeps.

A launcher starts the rank agents of one plan and gives the supervisor the channels their
frames arrive on. It never reads the frames itself: the supervisor does, for every backend.
Stopping is in two steps, as with torchrun and ipyparallel: ``terminate()`` (SIGTERM, which
the agents forward to the user's program), then after the grace period ``kill()`` (SIGKILL
to whole process groups). On a hang, ``dump_stacks()`` asks every rank's host for its stacks.
"""

from __future__ import annotations

import abc
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, ClassVar

from jupyter_mltrain.engine.plan import LaunchPlan
from jupyter_mltrain.hostside.collector import Source

PY_SPY_TIMEOUT_S = 10.0
# What a stack dump may take beyond py-spy's own limit: starting Python, and an ssh connection.
DUMP_MARGIN_S = 10.0


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

    def requeued(self) -> str | None:
        """Why the job's ranks are being stopped to run again later (a scheduler's requeue), if they are."""
        return None

    def launcher_log(self, max_bytes: int = 64 * 1024) -> str:
        """The end of what the launcher and the programs it ran printed (the run's ``supervisor.log``)."""
        path = Path(self.plan.workdir).parent / "supervisor.log"
        try:
            with open(path, "rb") as fh:
                fh.seek(max(0, path.stat().st_size - max_bytes))
                return fh.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def collect_outputs(self, dest: Path) -> None:  # noqa: B027  (optional hook)
        """Bring the ranks' outputs into ``dest`` (Finalizing); nothing to do where they are written locally."""

    def cleanup(self, completed: bool) -> None:  # noqa: B027  (optional hook)
        """Remove what the run left on other machines, as configured."""

    def rank_started(self, rank: int, info: dict[str, Any]) -> None:
        """Note a rank's user program (its pid leads its own process group)."""
        pid = info.get("pid")
        if isinstance(pid, int) and on_this_host(info):
            self.user_pgids[rank] = pid

    def dump_stacks(self, ranks: dict[int, dict[str, Any]]) -> StackDumps:
        """Ask the programs of ``ranks`` (their START info: pid, host) for their stacks, without waiting.

        Each gets SIGQUIT (under ``jupyter_mltrain.hostside.watch`` faulthandler prints every thread's stack
        to stderr, so into the rank's log) and a py-spy dump. This launcher reaches the ranks on
        this host only; launchers whose ranks run elsewhere override it.
        """
        dumps = StackDumps()
        here = {r: info for r, info in ranks.items() if on_this_host(info)}
        for rank in ranks.keys() - here.keys():
            dumps.note(
                [rank],
                f"(not reached: {ranks[rank].get('host')} is not this host, and the {self.name} "
                "launcher has no way there)",
            )
        if here:
            dumps.start(
                [sys.executable, "-m", "jupyter_mltrain.hostside.remote", *dump_request(self.plan.run_id, here)],
                list(here),
                "this host",
            )
        return dumps

    def kill_user_groups(self) -> None:
        """SIGKILL the process groups of the users' programs on this host."""
        for pgid in self.user_pgids.values():
            killpg(pgid, signal.SIGKILL)


def on_this_host(info: dict[str, Any]) -> bool:
    """Whether a rank's START info names this host."""
    return info.get("host") == os.uname().nodename


def dump_request(run_id: str, ranks: dict[int, dict[str, Any]]) -> list[str]:
    """The arguments of ``jupyter_mltrain.hostside.remote`` that dump the stacks of ``ranks`` on their hosts."""
    pids = {str(rank): [int(info["pid"]), info.get("host")] for rank, info in ranks.items()}
    return ["--dump-stacks", json.dumps({"run_id": run_id, "ranks": pids, "timeout": PY_SPY_TIMEOUT_S})]


class StackDumps:
    """The stack dumps of one hang: a helper process per host, each waited for in a thread, within a limit."""

    def __init__(self) -> None:
        self.answers: dict[int, dict[str, Any]] = {}
        self.threads: list[threading.Thread] = []
        self.lock = threading.Lock()
        self.finished_at = 0.0  # time.monotonic() when the last helper answered or was given up on

    def start(
        self,
        argv: list[str],
        ranks: list[int],
        where: str,
        stdin: bytes = b"",
        env: dict[str, str] | None = None,
        limit_s: float = PY_SPY_TIMEOUT_S + DUMP_MARGIN_S,
    ) -> None:
        """Run ``argv``, which prints ``remote.dump_stacks``'s JSON for ``ranks`` (a line per host), for ``limit_s``."""
        try:
            proc = subprocess.Popen(
                argv,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=env,
                start_new_session=True,
            )
        except OSError as exc:
            self.note(ranks, f"(cannot start the stack dump on {where}: {exc.strerror or exc})")
            return
        thread = threading.Thread(target=self._wait, args=(proc, ranks, where, stdin, limit_s), daemon=True)
        thread.start()
        self.threads.append(thread)

    def _wait(self, proc: subprocess.Popen[bytes], ranks: list[int], where: str, stdin: bytes, limit_s: float) -> None:
        try:
            self._answer(proc, ranks, where, stdin, limit_s)
        finally:
            self.finished_at = time.monotonic()

    def _answer(
        self,
        proc: subprocess.Popen[bytes],
        ranks: list[int],
        where: str,
        stdin: bytes,
        limit_s: float,
    ) -> None:
        try:
            out, err = proc.communicate(stdin, timeout=limit_s)
        except subprocess.TimeoutExpired:
            killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            self.note(ranks, f"(the stack dump on {where} did not answer within {limit_s:g} s)")
            return
        answers: dict[str, Any] = {}
        for line in out.decode("utf-8", "replace").splitlines():
            if line.startswith("{"):
                try:
                    answers.update(json.loads(line))
                except ValueError:
                    pass
        with self.lock:
            self.answers.update({int(rank): {**answer, "where": where} for rank, answer in answers.items()})
        if not answers:
            tail = err.decode("utf-8", "replace").strip().splitlines()[-1:] or [f"exit code {proc.returncode}"]
            self.note(ranks, f"(the stack dump on {where} failed: {tail[0][:300]})")
        else:
            self.note(ranks, f"(not found by the stack dump on {where})")

    def note(self, ranks: list[int], text: str) -> None:
        """Answer for ``ranks`` that could not be asked."""
        with self.lock:
            for rank in ranks:
                self.answers.setdefault(rank, {"state": None, "py_spy": text + "\n"})

    def done(self) -> bool:
        """Whether every helper has answered or was given up on."""
        return not any(t.is_alive() for t in self.threads)

    def collect(self) -> dict[int, dict[str, Any]]:
        """Each rank's ``{"state", "py_spy"}``, once every helper has answered or was given up on."""
        for thread in self.threads:
            thread.join()
        return self.answers


def killpg(pgid: int, sig: int) -> None:
    """Signal a process group, ignoring one that is already gone."""
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass
