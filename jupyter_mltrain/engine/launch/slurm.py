"""Slurm launcher: the run as one batch job, ranks started by ``srun`` as rank agents.

The supervisor (on the login node, where Jupyter runs) opens a collector socket and submits a
generated script with ``sbatch``; every task runs a rank agent that connects back with the run's
token, so logs and metrics stream while the job runs, exactly as with mpirun. Job state comes
from ``squeue`` and ``scontrol`` (no accounting database needed). Cancel is ``scancel``; a job
Slurm ends itself (time limit, node failure, preemption) fails the run with Slurm's reason.
"""

from __future__ import annotations

import json
import os
import secrets
import shlex
import subprocess
import time
from pathlib import Path
from typing import Any

from jupyter_mltrain.engine.launch.base import Launcher, StackDumps, dump_request
from jupyter_mltrain.engine.ssh import SSHConnection
from jupyter_mltrain.engine.staging import fetch_outputs, stage, stage_rank_side
from jupyter_mltrain.engine.targets import SlurmTarget, resolve_target
from jupyter_mltrain.hostside.collector import Collector, Source, StreamSource
from jupyter_mltrain.hostside.errors import LaunchError

LIVE_STATES = {
    "PENDING",
    "CONFIGURING",
    "RUNNING",
    "COMPLETING",
    "SUSPENDED",
    "REQUEUED",
    "RESIZING",
    "SIGNALING",
    "STAGE_OUT",
}
SLURM_ENDED = {
    "TIMEOUT": "the job reached its time limit",
    "NODE_FAIL": "a node of the job failed",
    "PREEMPTED": "the job was preempted",
    "OUT_OF_MEMORY": "the job ran out of memory",
    "BOOT_FAIL": "a node failed to boot",
    "DEADLINE": "the job reached its deadline",
}


def sbatch_options(plan_options: dict[str, Any], job_name: str, output: str, workdir: str) -> list[str]:
    """The job's resources as sbatch arguments, one value per argument (never parsed by a shell)."""
    opts = plan_options
    args = [
        f"--job-name={job_name}",
        f"--nodes={opts['nodes']}",
        f"--ntasks={opts['world_size']}",
        f"--output={output}",
        f"--chdir={workdir}",
    ]
    if opts["world_size"] == opts["nodes"] * opts["ntasks_per_node"]:
        args.append(f"--ntasks-per-node={opts['ntasks_per_node']}")
    for key in ("partition", "account", "time"):
        if opts.get(key):
            args.append(f"--{key}={opts[key]}")
    if opts.get("gpus_per_node"):
        args.append(f"--gres=gpu:{int(opts['gpus_per_node'])}")
    return args + [str(option) for option in opts.get("sbatch_options", [])]


def output_pattern(folder: str) -> str:
    """sbatch's ``--output`` for ``slurm-<job id>.out`` in ``folder``; a ``%`` of the folder stays a ``%``."""
    return folder.replace("%", "%%") + "/slurm-%j.out"


def batch_script(program: list[str], master_from_nodelist: bool) -> str:
    """The sbatch script: one rank agent per task under srun.

    The resources are sbatch arguments (``sbatch_options``), not ``#SBATCH`` lines: a setting
    that holds a newline can then never become a line of the script.
    """
    lines = ["#!/bin/bash"]
    if master_from_nodelist:
        lines.append('export MASTER_ADDR="$(scontrol show hostnames "$SLURM_JOB_NODELIST" | head -n 1)"')
    agent = [program[0], "-m", "jupyter_mltrain.hostside.rank", "--", *program]
    # A requeued job runs this script again: its attempt is the submitted one plus Slurm's restart count.
    lines.append("export MLTRAIN_ATTEMPT=$(( ${MLTRAIN_ATTEMPT:-1} + ${SLURM_RESTART_COUNT:-0} ))")
    lines.append("exec srun --kill-on-bad-exit=0 " + shlex.join(agent))
    return "\n".join(lines) + "\n"


# Runs a Slurm command on the login host with extra environment variables read from stdin, so that
# they (secrets among them) never show on a command line there. stdin: JSON {"env", "input"}.
_WITH_ENV = """
import json, os, subprocess, sys
os.umask(0o077)  # sbatch passes it on: what the job writes is private, as on the submitting machine
request = json.loads(sys.stdin.buffer.read())
env = dict(os.environ)
env.update(request["env"])
out = subprocess.run(sys.argv[1:], input=request["input"].encode(), env=env, capture_output=True)
sys.stdout.buffer.write(out.stdout)
sys.stderr.buffer.write(out.stderr)
sys.exit(out.returncode)
"""


class SlurmLauncher(Launcher):
    """Submits the run as a batch job; frames come back over the collector socket."""

    name = "slurm"
    queues = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.options = self.plan.launcher_options["slurm"]
        self.collector: Collector | None = None
        self.relay: subprocess.Popen[bytes] | None = None
        self.job_id: str | None = None
        self._state: tuple[float, str, str] = (0.0, "", "")
        self.restarts_seen = 0  # the job's Restarts count when we last looked
        self.script_path = Path(self.plan.workdir).parent / "job.sbatch"
        self.login: SSHConnection | None = None
        self.sbatch: list[str] = []
        if self.options.get("login_host"):
            target = resolve_target(self.options["target"], cwd=self.options.get("cwd"))
            if not isinstance(target, SlurmTarget):
                raise LaunchError(f"target {target.name!r} is no longer a Slurm target in the configuration")
            self.login = SSHConnection.login_node(target)
            self.remote_run = f"{self.options['workdir']}/{self.plan.run_id}"
            self.target_env = dict(target.env)

    def _env(self) -> dict[str, str]:
        return {**self.base_env, **self.plan.env}

    def _slurm(
        self,
        argv: list[str],
        env: dict[str, str] | None = None,
        stdin: bytes | None = None,
    ) -> subprocess.CompletedProcess[bytes]:
        """Run a Slurm command here, or on the login host over ssh (with ``env`` added to its environment)."""
        command, command_env, command_input = self._slurm_command(argv, env, stdin)
        return subprocess.run(command, env=command_env, input=command_input, capture_output=True, timeout=60)

    def _slurm_command(
        self,
        argv: list[str],
        env: dict[str, str] | None = None,
        stdin: bytes | None = None,
    ) -> tuple[list[str], dict[str, str] | None, bytes]:
        """The local command, environment and input that run a Slurm command here or on the login host.

        Over ssh the variables travel on the connection's input, not on the remote command line.
        """
        if self.login is None:
            return argv, env or self._env(), stdin or b""
        extra = env if env is not None else self.target_env
        request = json.dumps({"env": extra, "input": (stdin or b"").decode()}).encode()
        return self.login.command(self.login.head, [self.login.python, "-c", _WITH_ENV, *argv]), None, request

    def start(self) -> list[Source]:
        """Open the collector (here, or a relay on the login host) and submit the job."""
        token = secrets.token_hex(16)
        if self.login is None:
            self.collector = Collector(token, host=self.options["collector_host"])
            source: Source = self.collector
            port = self.collector.port
            workdir, output = self.plan.workdir, output_pattern(str(Path(self.plan.workdir).parent))
        else:
            source, port = self._start_relay(token)
            workdir, output = self.remote_run, output_pattern(self.remote_run)
        env = {"MLTRAIN_CHANNEL": f"tcp:{self.options['collector_host']}:{port}", "MLTRAIN_TOKEN": token}
        script = batch_script(self.plan.program, self.plan.mode in ("torch", "mpi", "horovod"))
        self.script_path.write_text(script)
        self.sbatch = [
            "sbatch",
            "--parsable",
            "--export=ALL",
            *sbatch_options(self.options, f"mltrain-{self.plan.run_id}", output, workdir),
        ]
        if self.login is None:
            out = self._slurm([*self.sbatch, str(self.script_path)], {**self._env(), **env})
        else:  # the script travels on stdin; the job's environment is the plan's
            job_env = {**self.target_env, **self.plan.env, **env, "PYTHONPATH": self.pkg_path}
            out = self._slurm(self.sbatch, job_env, script.encode())
        if out.returncode != 0:
            raise LaunchError(f"sbatch refused the job: {out.stderr.decode(errors='replace').strip()[-500:]}")
        self.job_id = out.stdout.decode().strip().split(";")[0]
        return [source]

    def _start_relay(self, token: str) -> tuple[Source, int]:
        """Stage the snapshot and the rank-side package to the login host; start a frame relay there."""
        assert self.login is not None

        home = subprocess.run(
            self.login.command(
                self.login.head,
                [
                    self.login.python,
                    "-c",
                    "import os, sys; print(os.path.expanduser(sys.argv[1]))",
                    self.options["workdir"],
                ],
            ),
            capture_output=True,
            timeout=60,
        )
        if home.returncode != 0:
            raise LaunchError(
                f"cannot reach the login host {self.login.head.address}: "
                f"{home.stderr.decode(errors='replace').strip()[-300:]}"
            )
        self.options["workdir"] = home.stdout.decode().strip()  # absolute: it goes into paths and variables
        self.remote_run = f"{self.options['workdir']}/{self.plan.run_id}"
        stage(self.login, Path(self.plan.workdir), self.options["workdir"], self.plan.run_id)
        self.pkg_path, _ = stage_rank_side(self.login, self.options["workdir"])
        boot = (
            "import os, runpy, sys; sys.path.insert(0, os.path.expanduser(sys.argv[1])); del sys.argv[1]; "
            "runpy.run_module('jupyter_mltrain.hostside.collector', run_name='__main__')"
        )
        argv = [self.login.python, "-c", boot, self.pkg_path, "-", self.options["collector_host"]]
        self.relay = subprocess.Popen(
            self.login.command(self.login.head, argv),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            start_new_session=True,
        )
        assert self.relay.stdout is not None and self.relay.stdin is not None
        try:  # the token is the relay's first line of input, not an argument `ps` would show
            self.relay.stdin.write(token.encode() + b"\n")
            self.relay.stdin.flush()
        except OSError:
            pass
        fd = self.relay.stdout.fileno()
        line = b""
        while not line.endswith(b"\n"):  # byte by byte: what follows the port line are frames
            byte = os.read(fd, 1)
            if not byte:
                raise LaunchError(f"the frame relay on {self.login.head.address} did not start")
            line += byte
        return StreamSource(fd, f"relay {self.login.head.address}"), int(line)

    def _query(self) -> tuple[str, str]:
        """(state, reason) of the job, cached for a second (squeue, else scontrol)."""
        now = time.monotonic()
        if now - self._state[0] < 1.0 or self.job_id is None:
            return self._state[1], self._state[2]
        state, reason = self._state[1] or "PENDING", self._state[2]  # a failed query changes nothing
        out = self._slurm(["scontrol", "show", "job", "-o", self.job_id])
        if out.returncode == 0:
            fields = dict(item.split("=", 1) for item in out.stdout.decode(errors="replace").split() if "=" in item)
            state, reason = fields.get("JobState", state), fields.get("Reason", "")
        self._state = (now, state, reason)
        return state, reason

    def running(self) -> bool:
        """Whether the job is pending or running. Once it has ended, the relay is told to finish."""
        state, _ = self._query()
        if state not in LIVE_STATES:
            self._end_relay()
        return state in LIVE_STATES

    def _end_relay(self) -> None:
        """Close the relay's input: it relays what it still holds, then ends, closing its channel."""
        if self.relay is not None and self.relay.stdin is not None and not self.relay.stdin.closed:
            try:
                self.relay.stdin.close()
            except OSError:
                pass

    def requeued(self) -> str | None:
        """Whether Slurm requeued the job (``scontrol requeue``, preemption with ``--requeue``): its tasks are
        stopped now and the same job runs again later, as the run's next attempt (its ``Restarts`` grew)."""
        if not self.job_id:
            return None
        out = self._slurm(["scontrol", "show", "job", "-o", self.job_id])
        if out.returncode != 0:
            return None
        fields = dict(item.split("=", 1) for item in out.stdout.decode(errors="replace").split() if "=" in item)
        restarts = int(fields["Restarts"]) if fields.get("Restarts", "").isdigit() else 0
        if restarts <= self.restarts_seen:
            return None
        self.restarts_seen = restarts
        self._state = (0.0, *self._state[1:])
        state = fields.get("JobState", "?").lower()
        return f"slurm job {self.job_id} was requeued (restart {restarts}, {state})"

    def pending(self) -> bool:
        """Whether Slurm has not started the job yet."""
        state, _ = self._query()
        return state in ("PENDING", "CONFIGURING", "REQUEUED", "")

    def terminate(self) -> None:
        """scancel: Slurm sends SIGTERM to every task, then SIGKILL after its KillWait."""
        if self.job_id:
            self._slurm(["scancel", self.job_id])

    def kill(self) -> None:
        """scancel --signal=KILL: every task now."""
        self.kill_user_groups()
        if self.job_id:
            self._slurm(["scancel", "--full", "--signal=KILL", self.job_id])
        self._end_relay()

    def dump_stacks(self, ranks: dict[int, dict[str, Any]]) -> StackDumps:
        """Slurm reaches the job's nodes: one more step (a task per node, sharing the CPUs) dumps each node's ranks."""
        if self.job_id is None:
            return super().dump_stacks(ranks)
        dumps = StackDumps()
        nodes = int(self.options["nodes"])
        step = [
            "srun",
            f"--jobid={self.job_id}",
            "--overlap",
            f"--nodes={nodes}",
            f"--ntasks={nodes}",
            "--ntasks-per-node=1",
            "--kill-on-bad-exit=0",
            self.plan.program[0],
            "-m",
            "jupyter_mltrain.hostside.remote",
            *dump_request(self.plan.run_id, ranks),
        ]
        env = {**self.target_env, "PYTHONPATH": self.pkg_path} if self.login is not None else None
        argv, local_env, request = self._slurm_command(step, env)
        dumps.start(argv, list(ranks), f"job {self.job_id}'s nodes (srun)", stdin=request, env=local_env)
        return dumps

    def external_cause(self) -> str | None:
        """Slurm's reason when Slurm itself ended the job (time limit, node failure …)."""
        self._state = (0.0, *self._state[1:])  # read it fresh
        state, reason = self._query()
        for name, what in SLURM_ENDED.items():
            if state.startswith(name):
                return f"slurm job {self.job_id} ended {state}: {what}" + (
                    f" ({reason})" if reason and reason != "None" else ""
                )
        return None

    def lost_reason(self) -> str | None:
        """Why ranks never reported: usually Slurm's own reason."""
        return self.external_cause()

    def collect_outputs(self, dest: Path) -> None:
        """Over ssh: copy the run's ``outputs/`` back from the login host's shared filesystem."""
        if self.login is not None:
            fetch_outputs(self.login, self.login.head, self.remote_run, dest)
            fetch_outputs(self.login, self.login.head, self.remote_run, dest.parent / "checkpoints", "checkpoints")

    def describe(self) -> dict[str, Any]:
        """The job id and the script."""
        return {
            "launcher": self.name,
            "job_id": self.job_id,
            "script": str(self.script_path),
            "sbatch": self.sbatch,
            "login_host": self.options.get("login_host"),
            "relay_pid": self.relay.pid if self.relay else None,
            "collector": f"{self.options['collector_host']}:{self.collector.port if self.collector else None}",
        }
