"""Turns a RunSpec and its target into the exact processes to start: a LaunchPlan.

The supervisor launches a plan; ``--dry-run`` prints one. Environment each rank gets:

- every mode: ``RANK``, ``LOCAL_RANK``, ``WORLD_SIZE``, ``LOCAL_WORLD_SIZE``, ``MLTRAIN_RUN_ID``,
  ``MLTRAIN_OUTPUTS_DIR``, ``MLTRAIN_INPUT_<NAME>`` per input, ``PYTHONUNBUFFERED=1``, and the
  spec's variables;
- ``torch`` (and ``mpi``/``horovod``, for torch.distributed over MPI): ``MASTER_ADDR``,
  ``MASTER_PORT`` (a free port) and the rest of what torchrun sets;
- ``tf``: ``TF_CONFIG`` with one worker per rank; ``tf-ps``: rank 0 is the chief, then the
  workers, then the parameter servers; ``TF_USE_LEGACY_KERAS=1`` when tf-keras is installed;
- with GPUs: ``CUDA_VISIBLE_DEVICES`` per rank (policy ``per-rank``) or all of them (``all``).

Under mpirun the rank variables come from MPI and the agent fills them in (see ``rank``).
"""

from __future__ import annotations

import importlib.util
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jupyter_mltrain.engine.gpus import detect_gpus
from jupyter_mltrain.engine.spec import RunSpec
from jupyter_mltrain.engine.targets import SlurmTarget, SSHClusterTarget, Target
from jupyter_mltrain.hostside.errors import LaunchError, SpecError
from jupyter_mltrain.hostside.venv import env_key, env_python

MPI_MODES = ("mpi", "horovod")


@dataclass
class LaunchPlan:
    """What to start, rank by rank, for one run."""

    run_id: str
    launcher: str
    mode: str
    world_size: int
    workdir: str
    program: list[str]
    env: dict[str, str]
    rank_env: list[dict[str, str]]
    roles: list[str]
    gpus: list[int] = field(default_factory=list)
    grace_period_s: float = 10.0
    secret_names: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    launcher_options: dict[str, Any] = field(default_factory=dict)

    def env_for_rank(self, rank: int) -> dict[str, str]:
        """The variables rank ``rank`` gets on top of the supervisor's environment."""
        return {**self.env, **self.rank_env[rank]}

    def public(self) -> dict[str, Any]:
        """The plan with secret values hidden (for spec folders, logs and dry runs)."""

        def hide(env: dict[str, str]) -> dict[str, str]:
            return {k: ("<secret>" if k in self.secret_names else v) for k, v in env.items()}

        return {
            "run_id": self.run_id,
            "launcher": self.launcher,
            "mode": self.mode,
            "world_size": self.world_size,
            "workdir": self.workdir,
            "program": self.program,
            "roles": self.roles,
            "gpus": self.gpus,
            "env": hide(self.env),
            "rank_env": [hide(e) for e in self.rank_env],
            "warnings": self.warnings,
            "launcher_options": self.launcher_options,
        }


PORT_CLAIM_S = 600.0


def free_ports(count: int, host: str = "127.0.0.1", claims: Path | None = None) -> list[int]:
    """``count`` distinct TCP ports free right now on ``host``.

    With ``claims`` (a folder shared by every run of one store), each port is also claimed
    there for ``PORT_CLAIM_S``, so runs planned at the same moment, whose ranks have not bound
    their ports yet, never get the same one.
    """
    socks: list[socket.socket] = []
    ports: list[int] = []
    if claims is not None:
        claims.mkdir(mode=0o700, exist_ok=True)
    try:
        while len(ports) < count:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind((host, 0))
            socks.append(s)  # held until we are done, so the kernel does not offer it again
            port = s.getsockname()[1]
            if claims is None or _claim(claims / str(port)):
                ports.append(port)
        return ports
    finally:
        for s in socks:
            s.close()


def _claim(path: Path) -> bool:
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        return True
    except FileExistsError:
        try:
            if time.time() - path.stat().st_mtime < PORT_CLAIM_S:
                return False
            os.utime(path)  # an old claim: ours now
            return True
        except OSError:
            return False


def is_current_interpreter(python: str) -> bool:
    """Whether ``python`` is this process's interpreter (a venv's symlink to the same binary is not)."""
    return os.path.abspath(shutil.which(python) or python) == os.path.abspath(sys.executable)


def has_module(python: str, module: str) -> bool:
    """Whether ``module`` is importable by interpreter ``python`` (without importing it)."""
    if is_current_interpreter(python):
        return importlib.util.find_spec(module) is not None
    code = f"import importlib.util,sys; sys.exit(importlib.util.find_spec({module!r}) is None)"
    try:
        return subprocess.run([python, "-c", code], capture_output=True, timeout=60).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


def launcher_name(target: Target, mode: str) -> str:
    """Which launcher runs ``mode`` on ``target``."""
    if target.kind == "local":
        return "mpi" if mode in MPI_MODES else "local"
    return target.kind


def launcher_installed(name: str) -> bool:
    """Whether a launcher called ``name`` exists (built in, or an entry point), without importing it."""
    if name in ("local", "mpi", "ssh", "slurm"):
        return True
    from importlib.metadata import entry_points

    return any(ep.name == name for ep in entry_points(group="jupyter_mltrain.launchers"))


def tf_config(cluster: dict[str, list[str]], task_type: str, index: int) -> str:
    """One TF_CONFIG value."""
    return json.dumps({"cluster": cluster, "task": {"type": task_type, "index": index}})


def param_args(spec: RunSpec) -> list[str]:
    """``--K V`` for each ``--param`` of a script run, as HyperDrive passes them (a cell gets variables instead)."""
    if spec.origin.get("kind") in ("cell", "notebook"):
        return []
    out: list[str] = []
    for key, value in spec.params.items():
        out += [f"--{key}", value if isinstance(value, str) else json.dumps(value)]
    return out


def make_plan(
    spec: RunSpec, target: Target, run_id: str, run_dir: Path, *, check: bool = True, attempt: int = 1
) -> LaunchPlan:
    """The plan for attempt ``attempt`` of ``spec`` on ``target``; raises if it cannot run there."""
    dist = spec.distribution
    mode = dist.mode
    world = spec.world_size
    launcher = launcher_name(target, mode)
    remote = isinstance(target, SSHClusterTarget)
    via_login = isinstance(target, SlurmTarget) and target.login_host is not None
    claims = run_dir.parent.parent / "ports"  # the store's: runs planned at once never share a port
    python = spec.environment.python or target.python or ("python3" if remote or via_login else sys.executable)
    if check and not launcher_installed(launcher):
        raise LaunchError(
            f"target {target.name!r} ({target.kind}) needs the {launcher!r} launcher, which is not installed "
            f"(entry point group 'jupyter_mltrain.launchers'); nothing was launched"
            + (f". `mltrain targets check {target.name}` reaches its hosts." if target.kind == "ssh" else "")
        )
    warnings: list[str] = []
    env: dict[str, str] = {
        "MLTRAIN_RUN_ID": run_id,
        "MLTRAIN_OUTPUTS_DIR": str(run_dir / "outputs"),
        "MLTRAIN_GATHER": spec.gather_outputs,
        "PYTHONUNBUFFERED": "1",
        "WORLD_SIZE": str(world),
    }
    env.update(target.env)
    for name in spec.inputs:
        env["MLTRAIN_INPUT_" + name.upper().replace("-", "_")] = str(run_dir / "inputs" / name)
    user_env = dict(spec.environment.variables)

    if check and not (remote or via_login) and mode == "horovod" and not has_module(python, "horovod"):
        raise LaunchError(
            f"mode 'horovod' needs Horovod in {python}, and it is not installed there. "
            "Install it with `make horovod` (builds Horovod 0.28.1 for torch), or "
            "`HOROVOD_WITH_PYTORCH=1 pip install --no-build-isolation horovod`."
        )
    if check and not (remote or via_login) and mode == "mpi" and not has_module(python, "mpi4py"):
        warnings.append(f"mpi4py is not installed in {python}; `pip install mpi4py` to use MPI from Python")
    # The user's choice wins: an --env value, or (ranks on this machine inherit it) one exported where we run.
    keras_choice = user_env.get(
        "TF_USE_LEGACY_KERAS", None if remote or via_login else os.environ.get("TF_USE_LEGACY_KERAS")
    )
    if mode in ("tf", "tf-ps") and keras_choice is not None:
        env["TF_USE_LEGACY_KERAS"] = keras_choice  # shown in the plan and the dry run as the ranks get it
        if keras_choice.strip().lower() not in ("1", "true"):
            warnings.append(
                f"TF_USE_LEGACY_KERAS={keras_choice} (yours) is kept: tf.keras is Keras 3, whose model.fit fails under "
                "MultiWorkerMirroredStrategy (keras-team/keras#20585); unset it to let mltrain use tf-keras"
            )
    elif mode in ("tf", "tf-ps"):
        if remote:  # the hosts' Python cannot be probed from here: expect tf-keras there, as the README says
            env["TF_USE_LEGACY_KERAS"] = "1"
        elif has_module(python, "tf_keras"):
            env["TF_USE_LEGACY_KERAS"] = "1"
        else:
            warnings.append(
                "tf-keras is not installed: Keras 3's model.fit fails under MultiWorkerMirroredStrategy "
                "(keras-team/keras#20585). `pip install tf-keras` (mltrain then sets TF_USE_LEGACY_KERAS=1)."
            )

    gpus = _choose_gpus(spec, launcher)
    if gpus:
        env["MLTRAIN_GPUS"] = ",".join(map(str, gpus))
        env["MLTRAIN_GPU_POLICY"] = dist.gpu_policy

    local_world = world if launcher in ("local", "mpi") else dist.processes_per_node
    env["LOCAL_WORLD_SIZE"] = str(local_world)
    roles = ["worker"] * world
    rank_env: list[dict[str, str]] = [{} for _ in range(world)]
    master_addr = "127.0.0.1"
    ssh_options: dict[str, Any] = {}
    if isinstance(target, SSHClusterTarget):
        ssh_options = _ssh_layout(spec, target)
        master_addr = ssh_options["head"]
        if spec.inputs:
            raise SpecError("inputs", "--input is not supported on ssh targets yet: put the data on the hosts")
        # relative to each rank's working folder (the staged snapshot on its host); copied back in Finalizing
        env["MLTRAIN_OUTPUTS_DIR"] = "outputs"
        per_host = target.gpus_per_host if isinstance(target, SSHClusterTarget) else 0
        if per_host and not gpus:  # each agent takes its GPU(s) by local rank, as on this machine
            env["MLTRAIN_GPUS"] = ",".join(str(g) for g in range(per_host))
            env["MLTRAIN_GPU_POLICY"] = dist.gpu_policy
    # Mode none with several processes gets torchrun's variables too: a framework that reads them (Lightning,
    # accelerate) then finds its peers or refuses a mismatch at once; without MASTER_ADDR/PORT it would wait forever.
    torchrun_env = mode == "torch" or (mode == "none" and world > 1)
    if mode in ("mpi", "horovod") or torchrun_env:
        env["MASTER_ADDR"] = master_addr
        env["MASTER_PORT"] = str(free_ports(1, claims=claims)[0] if not remote else 20000 + secrets.randbelow(30000))
    if torchrun_env:
        env.update(
            {
                "GROUP_RANK": "0",
                "ROLE_NAME": "default",
                "ROLE_WORLD_SIZE": str(world),
                "GROUP_WORLD_SIZE": "1",
                "TORCHELASTIC_RUN_ID": run_id,
                "TORCHELASTIC_RESTART_COUNT": str(attempt - 1),
                "TORCHELASTIC_MAX_RESTARTS": str(spec.max_restarts),
            }
        )
        if not gpus and launcher in ("local", "mpi") and "ACCELERATE_USE_CPU" not in user_env:
            env["ACCELERATE_USE_CPU"] = "1"  # as `accelerate launch` on a host without GPUs: its ranks join on CPU
        if mode == "torch" and world > 1 and "OMP_NUM_THREADS" not in user_env:
            env["OMP_NUM_THREADS"] = "1"
    if mode in ("tf", "tf-ps"):
        if remote:  # mpirun fills each host's slots in order; the ports cannot be probed from here
            per_node = dist.processes_per_node
            ports = [20000 + p for p in secrets.SystemRandom().sample(range(30000), world)]
            addrs = [f"{ssh_options['nodes'][r // per_node]}:{ports[r]}" for r in range(world)]
        else:
            ports = free_ports(world, claims=claims)
            addrs = [f"{master_addr}:{p}" for p in ports]
        if mode == "tf":
            cluster = {"worker": addrs}
            tasks = [("worker", i) for i in range(world)]
        else:
            assert dist.workers is not None and dist.parameter_servers is not None
            w, p = dist.workers, dist.parameter_servers
            cluster = {"chief": addrs[:1], "worker": addrs[1 : 1 + w], "ps": addrs[1 + w :]}
            tasks = [("chief", 0)] + [("worker", i) for i in range(w)] + [("ps", i) for i in range(p)]
        for rank, (task_type, index) in enumerate(tasks):
            roles[rank] = task_type
            if launcher == "local":
                rank_env[rank]["TF_CONFIG"] = tf_config(cluster, task_type, index)
            else:
                env[f"MLTRAIN_TF_CONFIG_{rank}"] = tf_config(cluster, task_type, index)
    if launcher == "local":
        for rank in range(world):
            rank_env[rank].update({"RANK": str(rank), "LOCAL_RANK": str(rank)})
            if torchrun_env:
                rank_env[rank]["ROLE_RANK"] = str(rank)
            if gpus:
                if dist.gpu_policy == "per-rank":
                    rank_env[rank]["CUDA_VISIBLE_DEVICES"] = str(gpus[rank % len(gpus)])
                else:
                    rank_env[rank]["CUDA_VISIBLE_DEVICES"] = ",".join(map(str, gpus))
    env["MLTRAIN_ATTEMPT"] = str(attempt)  # 1, then 2… after --max-restarts restarts
    # a folder every attempt finds again (remote ranks: in the run folder on their host, copied back at the end)
    env["MLTRAIN_CHECKPOINT_DIR"] = "checkpoints" if remote or via_login else str(run_dir / "checkpoints")
    if spec.params:
        env["MLTRAIN_PARAMS"] = json.dumps(dict(spec.params), default=str)  # jupyter_mltrain.params()
    if mode in ("mpi", "horovod"):
        env["MLTRAIN_EXIT_ON_ERROR"] = "1"  # hostside.watch: an uncaught exception ends the rank, not MPI_Finalize
    if mode == "none" and world == 1:
        env["MLTRAIN_PLAIN"] = "1"  # the rank agent hides the rank variables: the program runs as `python script.py`
    env.update(user_env)
    if spec.hang_timeout_s:
        env["MLTRAIN_HEARTBEAT"] = "1"
    env["MLTRAIN_TELEMETRY_S"] = f"{spec.telemetry_interval_s:g}"  # hostside.telemetry: the ranks' system/* metrics
    options: dict[str, Any] = {
        "mpirun": target.mpirun,
        "mpirun_args": list(target.mpirun_args),
    }
    if remote:
        options["ssh"] = ssh_options
    if isinstance(target, SlurmTarget):
        if mode in ("tf", "tf-ps"):
            raise SpecError("distribution.mode", f"mode {mode!r} is not supported on Slurm targets yet")
        options["slurm"] = _slurm_layout(spec, target)
        if via_login:  # relative to each task's working folder, the staged snapshot; copied back in Finalizing
            env["MLTRAIN_OUTPUTS_DIR"] = "outputs"
            if spec.inputs:
                raise SpecError("inputs", "--input is not supported on Slurm targets reached over ssh yet")
    if spec.environment.requirements:
        # built in the Preparing stage (envs.ensure_env; on ssh targets on each host, under its workdir)
        text = spec.environment.requirements
        options["requirements"] = {"base_python": python, "text": text}
        if remote:
            key = env_key(python, text, resolve=False)
            options["requirements"]["key"] = key
            python = f"{ssh_options['workdir']}/envs/{key}/bin/python"
        else:
            python = str(env_python(run_dir.parent.parent, python, text))
    return LaunchPlan(
        run_id=run_id,
        launcher=launcher,
        mode=mode,
        world_size=world,
        workdir=str(run_dir / "snapshot"),
        program=[
            python,
            *(["-m", "jupyter_mltrain.hostside.watch"] if spec.hang_timeout_s or mode in ("mpi", "horovod") else []),
            spec.entry,
            *spec.args,
            *param_args(spec),
        ],
        env=env,
        rank_env=rank_env,
        roles=roles,
        gpus=gpus,
        grace_period_s=spec.grace_period_s,
        # the target's own variables too: a TOML `env = { HF_TOKEN = … }` is hidden like an --env one
        secret_names=sorted(k for k in env if spec.environment.is_secret(k)),
        warnings=warnings,
        launcher_options=options,
    )


def _ssh_layout(spec: RunSpec, target: SSHClusterTarget) -> dict[str, Any]:
    """Which hosts run how many ranks: the first ``nodes`` hosts, ``processes_per_node`` each."""
    from jupyter_mltrain.engine.ssh import SSHConnection

    ssh = SSHConnection.from_target(target)
    dist = spec.distribution
    if dist.nodes > len(ssh.hosts):
        raise SpecError(
            "distribution.nodes", f"{dist.nodes} nodes asked, target {target.name!r} has {len(ssh.hosts)} host(s)"
        )
    hosts = ssh.hosts[: dist.nodes]
    if dist.processes_per_node * len(hosts) < spec.world_size:
        raise SpecError(
            "distribution.processes_per_node",
            f"{spec.world_size} ranks do not fit in {len(hosts)} node(s) "
            f"x {dist.processes_per_node}; raise --np or --nodes",
        )
    full = [h.address for h in hosts if dist.processes_per_node > h.slots]
    if full:
        raise SpecError(
            "distribution.processes_per_node",
            f"{dist.processes_per_node} ranks per node but host(s) {', '.join(full)} have fewer slots",
        )
    return {
        "target": target.name,
        "cwd": spec.config_folders(),
        "head": hosts[0].address,
        "hosts": ",".join(f"{h.address}:{dist.processes_per_node}" for h in hosts),
        "workdir": target.workdir,
        "cleanup": target.cleanup,
        "shared_fs": target.shared_fs,
        "nodes": [h.address for h in hosts],
    }


def _slurm_layout(spec: RunSpec, target: SlurmTarget) -> dict[str, Any]:
    """What the batch job asks for, from the spec and the target (``--np`` = tasks per node)."""
    dist = spec.distribution
    nodes, per_node = dist.nodes, dist.processes_per_node
    return {
        "nodes": nodes,
        "ntasks_per_node": per_node,
        "partition": target.partition,
        "account": target.account,
        "time": target.time,
        "gpus_per_node": target.gpus_per_node,
        "sbatch_options": list(target.sbatch_options),
        "collector_host": target.collector_host or target.login_host or "127.0.0.1",
        "world_size": spec.world_size,
        "target": target.name,
        "cwd": spec.config_folders(),
        "login_host": target.login_host,
        "workdir": target.workdir,
    }


def _choose_gpus(spec: RunSpec, launcher: str) -> list[int]:
    if launcher not in ("local", "mpi"):
        return list(spec.distribution.gpus or [])
    dist = spec.distribution
    found = [g.index for g in detect_gpus()]
    if dist.gpus is not None:
        missing = [g for g in dist.gpus if g not in found]
        if missing:
            have = ", ".join(map(str, found)) or "none"
            raise SpecError("distribution.gpus", f"GPU(s) {missing} not found on this machine; GPUs here: {have}")
        chosen = list(dist.gpus)
    else:
        chosen = found
    if chosen and dist.gpu_policy == "per-rank" and spec.world_size > len(chosen) and not dist.allow_gpu_sharing:
        raise SpecError(
            "distribution.processes_per_node",
            f"{spec.world_size} ranks but only {len(chosen)} GPU(s) ({', '.join(map(str, chosen))}); "
            "use fewer ranks, --gpu-policy all, or --share-gpus to put several ranks on one GPU",
        )
    return chosen
