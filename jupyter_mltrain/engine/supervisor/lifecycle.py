"""The supervisor's lifecycle: prepare, launch, route frames, stop, finalize (see the package docstring)."""

from __future__ import annotations

import dataclasses
import errno
import json
import os
import selectors
import signal
import socket
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import Any

from jupyter_mltrain.engine.launch import Launcher, get_launcher
from jupyter_mltrain.engine.plan import LaunchPlan, make_plan
from jupyter_mltrain.engine.spec import RunSpec
from jupyter_mltrain.engine.store import (
    HEARTBEAT_S,
    RootCause,
    Status,
    Store,
    parse_metric_lines,
    write_json_atomic,
)
from jupyter_mltrain.engine.supervisor.attempts import Restarts
from jupyter_mltrain.engine.supervisor.failures import ABORT_GRACE_S, failed_first, rank_failure
from jupyter_mltrain.engine.supervisor.stragglers import StragglerTracker, straggler_seconds
from jupyter_mltrain.engine.supervisor.summary import MetricSummary
from jupyter_mltrain.engine.targets import resolve_target
from jupyter_mltrain.hostside.collector import Collector, Source
from jupyter_mltrain.hostside.errors import MLTrainError
from jupyter_mltrain.hostside.procs import kill_run_processes
from jupyter_mltrain.hostside.protocol import Frame, Kind
from jupyter_mltrain.hostside.telemetry import is_telemetry
from jupyter_mltrain.hostside.venv import ensure_env

STDERR_TAIL_BYTES = 64 * 1024
SUMMARY_INTERVAL_S = 1.0
LATE_FRAMES_S = 2.0
AFTER_KILL_S = 5.0
# Disk space set aside at the start and given back when the disk fills, so that the final
# status can still be written to the folder and the index.
RESERVE_BYTES = 512 * 1024


class Supervisor(Restarts):
    """Runs one run from Preparing to its final status."""

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = run_dir.resolve()
        self.run_id = self.run_dir.name
        self.store = Store(self.run_dir.parent.parent, busy_timeout_s=2.0)  # a locked index must not stall the ranks
        self.spec = self._load_spec()
        self.world = self.spec.world_size
        self.log_files: dict[int, int] = {}
        self.metric_files: dict[int, int] = {}
        self.stderr_tail: dict[int, bytes] = {}
        self.exits: dict[int, dict[str, Any]] = {}
        self.started: dict[int, dict[str, Any]] = {}
        self.all_started = threading.Event()  # every rank has said where it runs (or the run is ending)
        self.summary = MetricSummary()
        self.stragglers = StragglerTracker(seconds=straggler_seconds())
        self.root_cause: RootCause | None = None
        self.cancel_requested = False
        self.stopping_since: float | None = None
        self.stop_due: float | None = None  # stop the ranks then (a grace after a SIGABRT; see ABORT_GRACE_S)
        self.stop_began: float | None = None  # wall time, to compare with when the ranks' programs ended
        self.killed_at: float | None = None
        self.plan: LaunchPlan | None = None
        self.launcher: Launcher | None = None
        self.chief_done = False
        self.env_thread: threading.Thread | None = None
        self.last_seen: dict[int, float] = {}
        self.last_output: dict[int, float] = {}
        self.hang: dict[str, Any] | None = None
        self.reserve = self.run_dir / ".reserve"
        self.disk_full = False
        self.dropped_bytes = 0

    def _load_spec(self) -> RunSpec:
        data = json.loads((self.run_dir / "spec.json").read_text())
        secrets = {k[len("MLTRAIN_SECRET_") :]: v for k, v in os.environ.items() if k.startswith("MLTRAIN_SECRET_")}
        variables = dict(data["environment"]["variables"])
        variables.update(secrets)
        data["environment"]["variables"] = variables
        return RunSpec.from_dict(data)

    # -- lifecycle -------------------------------------------------------------------------

    def run(self) -> int:
        """Supervise the run to its end; return 0 if it Completed."""
        os.umask(0o077)
        wake_r, wake_w = socket.socketpair()
        wake_w.setblocking(False)
        signal.set_wakeup_fd(wake_w.fileno(), warn_on_full_buffer=False)
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, self._on_cancel_signal)
        self._set_aside_reserve()
        self.store.update(
            self.run_id, supervisor_pid=os.getpid(), supervisor_host=socket.gethostname(), heartbeat=time.time()
        )
        try:
            sources = self._prepare_and_start()
        except MLTrainError as exc:
            return self._finish(Status.FAILED, RootCause(message=str(exc), time=time.time()))
        except Exception as exc:  # a bug of ours: say so, do not leave the run hanging
            return self._finish(
                Status.FAILED,
                RootCause(
                    message=f"internal error while launching: {exc!r}",
                    traceback=traceback.format_exc(),
                    time=time.time(),
                ),
            )
        self.store.set_status(self.run_id, Status.RUNNING)
        self.attempt_started = time.time()
        self.env_thread = threading.Thread(target=self._write_env, daemon=True)
        self.env_thread.start()
        try:
            while True:
                self._loop(sources, wake_r)
                if not self._may_restart():
                    break
                try:
                    sources = self._restart()
                except MLTrainError as exc:  # the next attempt cannot start: that ends the run
                    self.root_cause = RootCause(
                        message=f"attempt {self.attempt} could not start: {exc}", time=time.time()
                    )
                    break
        except Exception as exc:
            self.root_cause = self.root_cause or RootCause(
                message=f"internal error in the supervisor: {exc!r}", traceback=traceback.format_exc(), time=time.time()
            )
            self._stop_everything()
        return self._finalize()

    def _on_cancel_signal(self, signum: int, _frame: object) -> None:
        self.cancel_requested = True

    def _prepare_and_start(self) -> list[Source]:
        target = resolve_target(self.spec.target, cwd=self.spec.config_folders())
        self.plan = make_plan(self.spec, target, self.run_id, self.run_dir)
        launcher_cls = get_launcher(self.plan.launcher)
        if not launcher_cls.queues:
            self.store.set_status(self.run_id, Status.PREPARING)
        write_json_atomic(self.run_dir / "plan.json", self.plan.public())
        (self.run_dir / "logs").mkdir(exist_ok=True)
        (self.run_dir / "metrics").mkdir(exist_ok=True)
        (self.run_dir / "outputs").mkdir(exist_ok=True)
        wanted = self.plan.launcher_options.get("requirements")
        if wanted and "ssh" not in self.plan.launcher_options:  # an ssh launcher builds it on its hosts
            ensure_env(
                self.store.home,
                wanted["base_python"],
                wanted["text"],
                Path(self.plan.workdir),
                self.run_dir / "environment.log",
            )
        outputs_link = Path(self.plan.workdir) / "outputs"
        if not outputs_link.exists() and not outputs_link.is_symlink():
            outputs_link.symlink_to(self.run_dir / "outputs")
        self._link_inputs()
        for warning in self.plan.warnings:
            print(f"mltrain: warning: {warning}", file=sys.stderr, flush=True)
        base_env = {k: v for k, v in os.environ.items() if not k.startswith("MLTRAIN_SECRET_")}
        self.launcher = launcher_cls(self.plan, base_env)
        sources = self.launcher.start()
        print(f"mltrain: launched {json.dumps(self.launcher.describe())}", file=sys.stderr, flush=True)
        if launcher_cls.queues:  # the run stays Queued while the scheduler holds the job
            while self.launcher.pending() and not self.cancel_requested:
                self.store.update(self.run_id, heartbeat=time.time())
                time.sleep(0.5)
            self.store.set_status(self.run_id, Status.PREPARING)
        return sources

    def _link_inputs(self) -> None:
        if not self.spec.inputs:
            return
        inputs_dir = self.run_dir / "inputs"
        inputs_dir.mkdir(exist_ok=True)
        for name, path in self.spec.inputs.items():
            src = Path(path).expanduser().resolve()
            if not src.exists():
                raise MLTrainError(f"input {name!r}: {str(src)!r} does not exist")
            (inputs_dir / name).symlink_to(src)

    def _write_env(self) -> None:
        assert self.plan is not None
        from jupyter_mltrain.engine import envinfo

        try:
            self.all_started.wait(timeout=10)
            hosts = [str(i.get("host")) for i in self.started.values()] or [socket.gethostname()]
            remote = self.launcher.environment() if self.launcher is not None else None
            if remote is not None:  # the ranks' interpreter lives on other hosts: ask there
                record = {**remote, "hosts": sorted(set(hosts)), "submit_host": socket.gethostname()}
            else:
                record = envinfo.collect(self.plan.program[0], hosts)
            write_json_atomic(self.run_dir / "env.json", record)
        except Exception as exc:
            print(f"mltrain: could not record env.json: {exc!r}", file=sys.stderr, flush=True)

    # -- the loop --------------------------------------------------------------------------

    def _loop(self, sources: list[Source], wake: socket.socket) -> None:
        assert self.launcher is not None
        sel = selectors.DefaultSelector()
        sel.register(wake, selectors.EVENT_READ, None)
        open_channels = 0
        for src in sources:
            sel.register(src, selectors.EVENT_READ, src)
            open_channels += not isinstance(src, Collector)
        next_beat = 0.0
        next_summary = 0.0
        launcher_gone_at: float | None = None
        while True:
            # once every rank has exited and said so, only the launcher's own exit is awaited: look often
            for key, _ in sel.select(timeout=0.2 if open_channels or len(self.exits) < self.world else 0.01):
                src = key.data
                if src is None:
                    try:
                        wake.recv(4096)
                    except OSError:
                        pass
                    continue
                frames, new, closed = src.on_readable()
                for frame in frames:
                    self._handle(frame)
                for n in new:
                    sel.register(n, selectors.EVENT_READ, n)
                    open_channels += 1
                if closed:
                    sel.unregister(src)
                    open_channels -= 1
            now = time.monotonic()
            if self.cancel_requested and self.stopping_since is None:
                self._begin_stop()
            if self.stop_due is not None and now >= self.stop_due and self.stopping_since is None:
                self._begin_stop()
            if self.stopping_since is not None and self.killed_at is None:
                if now - self.stopping_since >= self.spec.grace_period_s:
                    self.launcher.kill()
                    self.killed_at = now
            if self.spec.hang_timeout_s and self.hang is None and self.stopping_since is None:
                self._check_hang(now)
            if self.hang is not None and "saved" not in self.hang and self._stacks_due(now):
                self._save_stacks()
                self._begin_stop()
            if now >= next_beat:
                self.store.update(self.run_id, heartbeat=time.time())
                next_beat = now + HEARTBEAT_S
            if now >= next_summary:
                self._write_summary()
                next_summary = now + SUMMARY_INTERVAL_S
            running = self.launcher.running()
            if not running and launcher_gone_at is None:
                launcher_gone_at = now
            if not running and open_channels == 0:
                break
            if launcher_gone_at is not None and now - launcher_gone_at > LATE_FRAMES_S + (
                0 if len(self.exits) < self.world else 30
            ):
                break
            if self.killed_at is not None and now - self.killed_at > AFTER_KILL_S:
                break
        sel.close()

    def _handle(self, frame: Frame) -> None:
        kind, rank, payload = frame
        if kind == Kind.METRICS and is_telemetry(payload):  # the rank agent's, not the program's: no sign of life
            self._append(self.metric_files, rank, "metrics", f"rank-{rank}.jsonl", payload)
            return
        if self.spec.hang_timeout_s:  # only runs watched for hangs pay for the clock on every frame
            now = self.last_seen[rank] = time.monotonic()
            if kind != Kind.HEARTBEAT and kind != Kind.EXIT:
                self.last_output[rank] = now
        if kind == Kind.STDOUT or kind == Kind.STDERR:
            self._append(self.log_files, rank, "logs", f"rank-{rank}.log", payload)
            if kind == Kind.STDERR:
                self.stderr_tail[rank] = (self.stderr_tail.get(rank, b"") + payload)[-STDERR_TAIL_BYTES:]
        elif kind == Kind.METRICS:
            self._append(self.metric_files, rank, "metrics", f"rank-{rank}.jsonl", payload)
            records = parse_metric_lines(payload)
            self.summary.add(rank, records)
            self.stragglers.observe(rank, records)
        elif kind == Kind.START:
            if self.requeue is not None:
                self._requeued_job_started()
            self._append(self.log_files, rank, "logs", f"rank-{rank}.log", b"")  # a silent rank's log: empty, there
            info = json.loads(payload)
            self.started[rank] = info
            if len(self.started) >= self.world:
                self.all_started.set()
            assert self.launcher is not None
            self.launcher.rank_started(rank, info)
        elif kind == Kind.EXIT:
            self._rank_exited(rank, json.loads(payload))

    def _append(self, files: dict[int, int], rank: int, folder: str, name: str, payload: bytes) -> None:
        if self.disk_full:
            self.dropped_bytes += len(payload)
            return
        fd = files.get(rank)
        view = memoryview(payload)
        try:
            if fd is None:
                fd = files[rank] = os.open(self.run_dir / folder / name, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            while view:
                view = view[os.write(fd, view) :]
        except OSError as exc:
            if exc.errno == errno.ENOSPC:
                self.disk_full = True
                self.dropped_bytes += len(view)
                self._give_back_reserve()
            if self.root_cause is None:
                self.root_cause = RootCause(
                    message=f"cannot write {folder}/{name}: {exc.strerror or exc}"
                    + (
                        " (no space left on device); what was written before is kept"
                        if exc.errno == errno.ENOSPC
                        else ""
                    ),
                    time=time.time(),
                    disk_full=exc.errno == errno.ENOSPC,
                )
                self._begin_stop()

    def _set_aside_reserve(self) -> None:
        try:
            fd = os.open(self.reserve, os.O_WRONLY | os.O_CREAT, 0o600)
            try:
                os.posix_fallocate(fd, 0, RESERVE_BYTES)
            finally:
                os.close(fd)
        except OSError:
            self.reserve.unlink(missing_ok=True)

    def _give_back_reserve(self) -> None:
        try:
            self.reserve.unlink(missing_ok=True)
        except OSError:
            pass

    def _rank_exited(self, rank: int, status: dict[str, Any]) -> None:
        status = {**status, "time": time.time()}
        self.exits[rank] = status
        failed = status.get("code") not in (0, None) or status.get("signal") is not None
        assert self.plan is not None
        if not failed and self.plan.mode == "tf-ps" and rank == 0:
            # ParameterServerStrategy: the chief's success ends the job; servers never exit by themselves.
            self.chief_done = True
            if self.stopping_since is None:
                self._begin_stop()
            return
        if failed and self.stopping_since is None and self.root_cause is None:
            if self._requeued(rank, status):
                return  # the scheduler runs the job again: its ranks come back as the next attempt
            self.root_cause = self._cause_for(rank, status)
            if status.get("signal") == signal.SIGABRT and len(self.exits) < self.world:
                self.stop_due = time.monotonic() + ABORT_GRACE_S
            else:
                self._begin_stop()
        elif failed and failed_first(self.root_cause, self.exits, rank, status, self.stop_began):
            self.root_cause = self._cause_for(rank, status)
            self._begin_stop()

    def _cause_for(self, rank: int, status: dict[str, Any]) -> RootCause:
        role = self.plan.roles[rank] if self.plan and rank < len(self.plan.roles) else "worker"
        host = self.started.get(rank, {}).get("host", socket.gethostname())
        return rank_failure(
            rank,
            role,
            host,
            status,
            self.stderr_tail.get(rank, b""),
            entry=self.spec.entry,
            origin=dict(self.spec.origin),
        )

    def _begin_stop(self) -> None:
        if self.stopping_since is None and self.launcher is not None:
            self.stopping_since = time.monotonic()
            self.stop_began = time.time()
            self.all_started.set()
            self.launcher.terminate()

    def _stop_everything(self) -> None:
        if self.launcher is not None:
            self.launcher.terminate()
            time.sleep(min(self.spec.grace_period_s, 2.0))
            self.launcher.kill()

    def _write_summary(self) -> None:
        """The metric summary when it changed, and the stragglers when they did."""
        hosts = {r: str(i.get("host")) for r, i in self.started.items()}
        fields: dict[str, Any] = {}
        if self.stragglers.check(time.time(), hosts, {r for r in self.started if r not in self.exits}):
            fields["stragglers"] = self.stragglers.entries
        if self.summary.dirty:
            self.summary.dirty = False
            fields["metrics"] = self.summary.data
        if fields:
            self.store.update(self.run_id, **fields)

    # -- the end ---------------------------------------------------------------------------

    def _finalize(self) -> int:
        self._give_back_reserve()
        if self.hang is not None and "saved" not in self.hang:  # the ranks ended before the dumps answered
            self._save_stacks()
        if self.dropped_bytes and self.root_cause is not None:
            self.root_cause.dropped_bytes = self.dropped_bytes
        leftovers = kill_run_processes(self.run_id, exclude=frozenset({os.getpid()}))
        if leftovers:
            print(f"mltrain: killed {len(leftovers)} leftover process(es): {leftovers}", file=sys.stderr, flush=True)
        for fd in [*self.log_files.values(), *self.metric_files.values()]:
            os.close(fd)
        self.store.set_status(self.run_id, Status.FINALIZING)
        self.all_started.set()  # the ranks that have not said where they run never will
        if self.env_thread is not None:
            self.env_thread.join(timeout=60)  # env.json is there when the run ends (short runs outpace it)
        if self.launcher is not None:
            try:
                self.launcher.collect_outputs(self.run_dir / "outputs")
            except Exception as exc:  # the ranks' outputs stay where they are; say so
                print(f"mltrain: could not copy the outputs back: {exc}", file=sys.stderr, flush=True)
        exit_codes = [self._exit_code(rank) for rank in range(self.world)]
        if self.cancel_requested and self.root_cause is None:
            cause: RootCause | None = self._cancel_reason()
            final = Status.PRUNED if self._cancel_request().get("status") == Status.PRUNED else Status.CANCELED
        elif self.root_cause is not None:
            final, cause = Status.FAILED, self.root_cause
        elif self.plan is not None and self.plan.mode == "tf-ps" and self.chief_done:
            final, cause = Status.COMPLETED, None
        elif len(self.exits) < self.world:
            missing = [r for r in range(self.world) if r not in self.exits]
            final = Status.FAILED
            lost = self.launcher.lost_reason() if self.launcher is not None else None
            cause = RootCause(
                message=lost or f"rank(s) {missing} never reported an exit status; the launcher ended first",
                time=time.time(),
                launcher_log=self._launcher_log_tail(),
            )
        else:
            final, cause = Status.COMPLETED, None
        external = self.launcher.external_cause() if self.launcher is not None and final == Status.FAILED else None
        if external:  # the scheduler ended the job: that is the cause, whatever the ranks said on the way out
            said = cause.message if cause is not None else None
            cause = dataclasses.replace(
                cause or RootCause(message="", time=time.time()), message=external, ranks_said=said
            )
        if self.launcher is not None:
            try:
                self.launcher.cleanup(final == Status.COMPLETED)
            except Exception as exc:
                print(f"mltrain: cleanup failed: {exc}", file=sys.stderr, flush=True)
        return self._finish(final, cause, exit_codes)

    def _cancel_request(self) -> dict[str, Any]:
        try:
            return dict(json.loads((self.run_dir / "cancel.json").read_text()))
        except (OSError, ValueError, TypeError):
            return {}

    def _cancel_reason(self) -> RootCause:
        request = self._cancel_request()
        return RootCause(
            message=f"canceled by {request.get('by', 'request')}", time=float(request.get("time", time.time()))
        )

    def _launcher_log_tail(self) -> str:
        try:
            return "\n".join((self.run_dir / "supervisor.log").read_text(errors="replace").splitlines()[-30:])
        except OSError:
            return ""

    def _finish(self, status: Status, cause: RootCause | None, exit_codes: list[int | None] | None = None) -> int:
        if self.launcher is None:
            self.store.set_status(self.run_id, Status.FINALIZING)
        fields: dict[str, Any] = {"root_cause": cause, "metrics": self.summary.data}
        hosts = {r: str(i.get("host")) for r, i in self.started.items()}
        self.stragglers.check(time.time(), hosts, live=set())  # the run has ended: so has every straggling
        if self.stragglers.entries:
            fields["stragglers"] = self.stragglers.entries
        if exit_codes is not None:
            fields["exit_codes"] = exit_codes
        self.store.set_status(self.run_id, status, **fields)
        if cause:
            print(f"mltrain: run {status.value}: {cause.message}", file=sys.stderr, flush=True)
        return 0 if status == Status.COMPLETED else 1
