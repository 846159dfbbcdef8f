"""Slurm launcher: the run as one batch job, ranks started by ``srun`` as rank agents.

The supervisor (on the login node, where Jupyter runs) opens a collector socket and submits a
generated script with ``sbatch``; every task runs a rank agent that connects back with the run's
token, so logs and metrics stream while the job runs, exactly as with mpirun. Job state comes
from ``squeue`` and ``scontrol`` (no accounting database needed). Cancel is ``scancel``; a job
Slurm ends itself (time limit, node failure, preemption) fails the run with Slurm's reason.
"""

from __future__ import annotations

import secrets
import shlex
import subprocess
import time
from pathlib import Path
from typing import Any

from jupyter_mltrain.collector import Collector, Source
from jupyter_mltrain.errors import LaunchError
from jupyter_mltrain.launch.base import Launcher

LIVE_STATES = {"PENDING", "CONFIGURING", "RUNNING", "COMPLETING", "SUSPENDED", "REQUEUED", "RESIZING", "SIGNALING",
               "STAGE_OUT"}
SLURM_ENDED = {"TIMEOUT": "the job reached its time limit", "NODE_FAIL": "a node of the job failed",
               "PREEMPTED": "the job was preempted", "OUT_OF_MEMORY": "the job ran out of memory",
               "BOOT_FAIL": "a node failed to boot", "DEADLINE": "the job reached its deadline"}


def batch_script(plan_options: dict[str, Any], job_name: str, output: str, workdir: str, program: list[str],
                 master_from_nodelist: bool) -> str:
    """The sbatch script: resources as #SBATCH lines, then one rank agent per task under srun."""
    opts = plan_options
    lines = ["#!/bin/bash", f"#SBATCH --job-name={job_name}", f"#SBATCH --nodes={opts['nodes']}",
             f"#SBATCH --ntasks={opts['world_size']}", f"#SBATCH --output={output}", f"#SBATCH --chdir={workdir}"]
    if opts["world_size"] == opts["nodes"] * opts["ntasks_per_node"]:
        lines.append(f"#SBATCH --ntasks-per-node={opts['ntasks_per_node']}")
    for key in ("partition", "account", "time"):
        if opts.get(key):
            lines.append(f"#SBATCH --{key}={opts[key]}")
    if opts.get("gpus_per_node"):
        lines.append(f"#SBATCH --gres=gpu:{int(opts['gpus_per_node'])}")
    lines += [f"#SBATCH {option}" for option in opts.get("sbatch_options", [])]
    if master_from_nodelist:
        lines.append('export MASTER_ADDR="$(scontrol show hostnames "$SLURM_JOB_NODELIST" | head -n 1)"')
    agent = [program[0], "-m", "jupyter_mltrain.rank", "--", *program]
    lines.append("exec srun --kill-on-bad-exit=0 " + shlex.join(agent))
    return "\n".join(lines) + "\n"


class SlurmLauncher(Launcher):
    """Submits the run as a batch job; frames come back over the collector socket."""

    name = "slurm"
    queues = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.options = self.plan.launcher_options["slurm"]
        self.collector: Collector | None = None
        self.job_id: str | None = None
        self._state: tuple[float, str, str] = (0.0, "", "")
        self.script_path = Path(self.plan.workdir).parent / "job.sbatch"

    def _env(self) -> dict[str, str]:
        return {**self.base_env, **self.plan.env}

    def start(self) -> list[Source]:
        """Open the collector and submit the job."""
        token = secrets.token_hex(16)
        self.collector = Collector(token, host=self.options["collector_host"])
        env = self._env()
        env["MLTRAIN_CHANNEL"] = f"tcp:{self.options['collector_host']}:{self.collector.port}"
        env["MLTRAIN_TOKEN"] = token
        run_dir = Path(self.plan.workdir).parent
        script = batch_script(self.options, f"mltrain-{self.plan.run_id}", str(run_dir / "slurm-%j.out"),
                              self.plan.workdir, self.plan.program, self.plan.mode in ("torch", "mpi", "horovod"))
        self.script_path.write_text(script)
        out = subprocess.run(["sbatch", "--parsable", "--export=ALL", str(self.script_path)], env=env,
                             capture_output=True, text=True, timeout=60)
        if out.returncode != 0:
            raise LaunchError(f"sbatch refused the job: {out.stderr.strip()[-500:]}")
        self.job_id = out.stdout.strip().split(";")[0]
        return [self.collector]

    def _query(self) -> tuple[str, str]:
        """(state, reason) of the job, cached for a second (squeue, else scontrol)."""
        now = time.monotonic()
        if now - self._state[0] < 1.0 or self.job_id is None:
            return self._state[1], self._state[2]
        state, reason = self._state[1] or "PENDING", self._state[2]  # a failed query changes nothing
        out = subprocess.run(["scontrol", "show", "job", "-o", self.job_id], env=self._env(), capture_output=True,
                             text=True, timeout=30)
        if out.returncode == 0:
            fields = dict(item.split("=", 1) for item in out.stdout.split() if "=" in item)
            state, reason = fields.get("JobState", state), fields.get("Reason", "")
        self._state = (now, state, reason)
        return state, reason

    def running(self) -> bool:
        """Whether the job is pending or running."""
        state, _ = self._query()
        return state in LIVE_STATES

    def pending(self) -> bool:
        """Whether Slurm has not started the job yet."""
        state, _ = self._query()
        return state in ("PENDING", "CONFIGURING", "REQUEUED", "")

    def terminate(self) -> None:
        """scancel: Slurm sends SIGTERM to every task, then SIGKILL after its KillWait."""
        if self.job_id:
            subprocess.run(["scancel", self.job_id], env=self._env(), capture_output=True, timeout=30)

    def kill(self) -> None:
        """scancel --signal=KILL: every task now."""
        self.kill_user_groups()
        if self.job_id:
            subprocess.run(["scancel", "--full", "--signal=KILL", self.job_id], env=self._env(), capture_output=True,
                           timeout=30)

    def external_cause(self) -> str | None:
        """Slurm's reason when Slurm itself ended the job (time limit, node failure …)."""
        self._state = (0.0, *self._state[1:])  # read it fresh
        state, reason = self._query()
        for name, what in SLURM_ENDED.items():
            if state.startswith(name):
                return f"slurm job {self.job_id} ended {state}: {what}" + (f" ({reason})" if reason and reason != "None" else "")
        return None

    def lost_reason(self) -> str | None:
        """Why ranks never reported: usually Slurm's own reason."""
        return self.external_cause()

    def describe(self) -> dict[str, Any]:
        """The job id and the script."""
        return {"launcher": self.name, "job_id": self.job_id, "script": str(self.script_path),
                "collector": f"{self.options['collector_host']}:{self.collector.port if self.collector else None}"}
