"""Hang detection: a rank that stopped beating or fell silent, and every rank's stack saved."""

from __future__ import annotations

import os
import re
import socket
import sys
import time
from pathlib import Path
from typing import Any

from jupyter_mltrain.engine.launch import Launcher
from jupyter_mltrain.engine.plan import LaunchPlan
from jupyter_mltrain.engine.spec import RunSpec
from jupyter_mltrain.engine.store import RootCause
from jupyter_mltrain.engine.supervisor.failures import exception_line, extract_traceback

STACK_DUMP_WAIT_S = 2.0
# Heartbeats come every second (hostside.watch): this long without one, a rank's interpreter has stopped.
BEATS_MISSED_S = 2.5
# After the last host answered a stack dump: time for the faulthandler output its SIGQUIT caused to arrive.
STACK_FRAMES_S = 0.5
_STACK_LINE = re.compile(
    rb"^(Current thread 0x|Thread 0x|  File \"|  <no Python frame>|Stack \(most recent call first\):)"
)


class HangWatch:
    """Hang detection for the supervisor: which rank hung, and every live rank's stack, saved.

    A mixin of ``Supervisor``: these are the supervisor's attributes it reads and sets.
    """

    spec: RunSpec
    run_dir: Path
    plan: LaunchPlan | None
    launcher: Launcher | None
    started: dict[int, dict[str, Any]]
    exits: dict[int, dict[str, Any]]
    last_seen: dict[int, float]
    last_output: dict[int, float]
    log_files: dict[int, int]
    stderr_tail: dict[int, bytes]
    root_cause: RootCause | None
    hang: dict[str, Any] | None

    def _check_hang(self, now: float) -> None:
        """With a hang timeout: a rank whose interpreter stopped beating, or, when no rank has
        printed or logged anything for that long, the first rank to fall silent, is hung."""
        limit = float(self.spec.hang_timeout_s or 0)
        live = [r for r in self.started if r not in self.exits]
        if not live:
            return
        silent = [r for r in live if now - self.last_seen.get(r, now) > limit]
        if silent:
            rank = max(silent, key=lambda r: now - self.last_seen[r])
            why = f"its interpreter sent no heartbeat for {now - self.last_seen[rank]:.0f} s"
        elif all(now - self.last_output.get(r, now) > limit for r in live):
            # A rank whose heartbeats have stopped too (beats come every second) is the one that hung, even
            # before its beats are `limit` old: the others are waiting for it.
            stopped = [r for r in live if now - self.last_seen.get(r, now) > BEATS_MISSED_S]
            if stopped:
                rank = max(stopped, key=lambda r: now - self.last_seen[r])
                why = (
                    f"no rank printed or logged anything for {limit:g} s, and its interpreter sent no heartbeat "
                    f"for {now - self.last_seen[rank]:.0f} s"
                )
            else:
                rank = min(live, key=lambda r: self.last_output[r])
                why = (
                    f"no rank printed or logged anything for {limit:g} s; it fell silent first, "
                    f"{now - self.last_output[rank]:.0f} s ago"
                )
        else:
            return
        host = self.started.get(rank, {}).get("host", socket.gethostname())
        role = self.plan.roles[rank] if self.plan and rank < len(self.plan.roles) else "worker"
        message = f"rank {rank} ({role}) on {host} hung: {why}"
        print(f"mltrain: {message}; saving every rank's stack", file=sys.stderr, flush=True)
        # A traceback some rank already printed (a rank that raised while its peers wait) is the likely cause:
        # it is kept whatever the stack dumps find.
        tracebacks = {
            r: extract_traceback(self.stderr_tail.get(r, b"").decode("utf-8", "replace")) for r in self.started
        }
        raised = sorted(r for r, tb in tracebacks.items() if tb)
        if raised:
            message += f"; rank {raised[0]} raised {exception_line(tracebacks[raised[0]]) or 'an exception'} before"
        self.root_cause = RootCause(
            message=message,
            traceback=tracebacks[raised[0]] if raised else None,
            error=exception_line(tracebacks[raised[0]]) if raised else None,
            rank=rank,
            host=host,
            hang=True,
            time=time.time(),
            hang_timeout_s=limit,
            stacks="stacks/",
        )
        self.hang = {"at": now, "offsets": {r: self._log_size(r) for r in live}, "live": live}
        (self.run_dir / "stacks").mkdir(exist_ok=True)
        assert self.launcher is not None
        # The launcher knows where each rank runs: SIGQUIT and py-spy there, on this host or over ssh.
        self.hang["dumps"] = self.launcher.dump_stacks({r: self.started[r] for r in live})

    def _stacks_due(self, now: float) -> bool:
        """Whether every host answered the stack dump, or was given up on, and the ranks' output had time to arrive."""
        assert self.hang is not None
        dumps = self.hang["dumps"]
        return bool(
            now - self.hang["at"] >= STACK_DUMP_WAIT_S and dumps.done() and now - dumps.finished_at >= STACK_FRAMES_S
        )

    def _log_size(self, rank: int) -> int:
        fd = self.log_files.get(rank)
        return os.fstat(fd).st_size if fd is not None else 0

    def _save_stacks(self) -> None:
        """Write ``stacks/rank-N.txt``: py-spy's dump where it ran, and what faulthandler printed."""
        assert self.hang is not None and self.root_cause is not None
        self.hang["saved"] = True
        answers = self.hang["dumps"].collect()
        state = answers.get(self.root_cause.rank, {}).get("state")
        if state and self.root_cause.hang:
            self.root_cause.process_state = state
            self.root_cause.message += f" (process state: {state})"
        for r in self.hang["live"]:
            info = self.started.get(r, {})
            answer = answers.get(r, {})
            header = (
                f"# rank {r}, pid {info.get('pid')} on {info.get('host')}, "
                f"state {answer.get('state') or 'unknown'}"
                + (f", asked on {answer['where']}" if answer.get("where") else "")
                + "\n"
            )
            parts = [header.encode()]
            if answer.get("py_spy") is not None:
                parts.append(b"\n## py-spy dump\n" + answer["py_spy"].encode())
            printed = b""
            try:
                with open(self.run_dir / "logs" / f"rank-{r}.log", "rb") as fh:
                    fh.seek(self.hang["offsets"][r])
                    printed = fh.read(4 * 1024 * 1024)
            except OSError:
                pass
            stack = b"\n".join(line for line in printed.splitlines() if _STACK_LINE.match(line))
            silent = b"(no answer: the process is stopped or frozen, or its host was not reached)\n"
            parts.append(b"\n## faulthandler (SIGQUIT)\n" + (stack + b"\n" if stack else silent))
            try:
                (self.run_dir / "stacks" / f"rank-{r}.txt").write_bytes(b"".join(parts))
            except OSError as exc:
                print(f"mltrain: cannot save rank {r}'s stack: {exc}", file=sys.stderr, flush=True)
