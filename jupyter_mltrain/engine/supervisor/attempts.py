"""Restarts (``--max-restarts N``): a failed job is torn down and started again as the same run.

Each attempt runs the same snapshot with ``MLTRAIN_ATTEMPT`` one higher (``TORCHELASTIC_RESTART_COUNT``
in torch mode) and finds ``checkpoint_dir()`` as the last attempt left it. The attempt's root cause is
kept in the record (``attempts``); the run fails only when the attempts are spent, with the last cause.
Canceling, a full disk or a launch that cannot start are not retried: a restart would meet them again.
"""

from __future__ import annotations

import os
import socket
import sys
import time
from pathlib import Path
from typing import Any

from jupyter_mltrain.engine.launch import Launcher, get_launcher
from jupyter_mltrain.engine.plan import LaunchPlan, make_plan
from jupyter_mltrain.engine.spec import RunSpec
from jupyter_mltrain.engine.store import RootCause, Status, Store, write_json_atomic
from jupyter_mltrain.engine.supervisor.hangs import HangWatch
from jupyter_mltrain.engine.targets import resolve_target
from jupyter_mltrain.hostside.collector import Source
from jupyter_mltrain.hostside.procs import kill_run_processes


class Restarts(HangWatch):
    """Starting a failed job again, for the supervisor (a mixin: these are the supervisor's attributes)."""

    run_id: str
    run_dir: Path
    spec: RunSpec
    store: Store
    plan: LaunchPlan | None
    launcher: Launcher | None
    root_cause: RootCause | None
    cancel_requested: bool
    disk_full: bool
    hang: dict[str, Any] | None
    exits: dict[int, dict[str, Any]]
    started: dict[int, dict[str, Any]]
    stderr_tail: dict[int, bytes]
    last_seen: dict[int, float]
    last_output: dict[int, float]
    log_files: dict[int, int]
    stopping_since: float | None
    stop_due: float | None
    stop_began: float | None
    killed_at: float | None
    chief_done: bool
    attempt: int = 1
    attempt_started: float = 0.0
    requeue: RootCause | None = None  # set while a scheduler holds a requeued job of ours

    def _append(self, files: dict[int, int], rank: int, folder: str, name: str, payload: bytes) -> None:
        raise NotImplementedError  # the supervisor's own (it writes the run's files)

    def _may_restart(self) -> bool:
        """Whether the attempt that just ended failed in a way another attempt may not, with attempts left."""
        cause = self.root_cause
        if cause is None or self.cancel_requested or self.disk_full or self.attempt > self.spec.max_restarts:
            return False
        return cause.rank is not None or cause.hang  # a rank failed or hung (not our own or a launch error)

    def _restart(self) -> list[Source]:
        """Tear the failed attempt down to its last process, then start the next; return its sources."""
        assert self.root_cause is not None and self.launcher is not None
        if self.hang is not None and "saved" not in self.hang:
            self._save_stacks()
        self.launcher.kill()
        leftovers = kill_run_processes(self.run_id, exclude=frozenset({os.getpid()}))
        failed = self.root_cause
        note = f"attempt {self.attempt + 1} of {self.spec.max_restarts + 1} (attempt {self.attempt}: {failed.message})"
        print(f"mltrain: restarting: {note}; killed {len(leftovers)} leftover process(es)", file=sys.stderr, flush=True)
        self._next_attempt(failed, time.time(), note)
        self.root_cause = None
        self.hang = None
        self.stopping_since = self.killed_at = self.stop_due = self.stop_began = None
        self.chief_done = False
        target = resolve_target(self.spec.target, cwd=self.spec.config_folders())
        self.plan = make_plan(self.spec, target, self.run_id, self.run_dir, attempt=self.attempt)  # fresh ports
        write_json_atomic(self.run_dir / "plan.json", self.plan.public())
        base_env = {k: v for k, v in os.environ.items() if not k.startswith("MLTRAIN_SECRET_")}
        self.launcher = get_launcher(self.plan.launcher)(self.plan, base_env)
        sources = self.launcher.start()
        print(f"mltrain: attempt {self.attempt} launched on {socket.gethostname()}", file=sys.stderr, flush=True)
        return sources

    def _requeued(self, rank: int, status: dict[str, Any]) -> bool:
        """Whether ``rank`` ended because the scheduler requeued the job (then it is no failure)."""
        if self.launcher is None:
            return False
        if self.requeue is None:
            why = self.launcher.requeued()
            if why is None:
                return False
            self.requeue = RootCause(message=why, time=time.time(), rank=rank)
            self.store.set_status(
                self.run_id, Status.QUEUED, stage=f"{Status.QUEUED.value} (attempt {self.attempt + 1})"
            )
            print(f"mltrain: {why}: the run continues as attempt {self.attempt + 1}", file=sys.stderr, flush=True)
        return True

    def _requeued_job_started(self) -> None:
        """The requeued job's first rank is back: close the attempt it ended and count the next."""
        assert self.requeue is not None
        requeue, self.requeue = self.requeue, None
        self._next_attempt(requeue, requeue.time, f"attempt {self.attempt + 1} ({requeue.message})")

    def _next_attempt(self, cause: RootCause, ended: float, note: str) -> None:
        """Close the attempt that ``cause`` ended (kept in the record), count the next, mark it in every log."""
        previous = {
            "attempt": self.attempt,
            "started": self.attempt_started,
            "ended": ended,
            "root_cause": cause.to_dict(),
            "exit_codes": [self._exit_code(r) for r in range(self.spec.world_size)],
        }
        done = [*self.store.get(self.run_id).attempts, previous]
        self.attempt += 1
        self.attempt_started = time.time()
        for table in (self.exits, self.started, self.stderr_tail, self.last_seen, self.last_output):
            table.clear()
        for rank in range(self.spec.world_size):  # each log says where one attempt ends and the next begins
            self._append(self.log_files, rank, "logs", f"rank-{rank}.log", f"\n---- mltrain: {note} ----\n".encode())
        self.store.update(self.run_id, attempt=self.attempt, attempts=done, heartbeat=time.time())
        self.store.set_status(self.run_id, Status.RUNNING, stage=f"{Status.RUNNING.value} (attempt {self.attempt})")

    def _exit_code(self, rank: int) -> int | None:
        status = self.exits.get(rank)
        if status is None:
            return None
        return -int(status["signal"]) if status.get("signal") is not None else status.get("code")
