"""ssh targets: the hosts of a ``kind = "ssh"`` target, the exact ssh command for each, and host checks.

Every remote command is built as an argument list and quoted once with ``shlex.join`` for the
remote shell; nothing goes through a local shell. The destination follows ``--``, so no setting
(a user, a host) can be read by ssh as an option; paths given to ssh options are quoted for
ssh's own option parser (which splits on spaces and expands ``%`` tokens). Host keys are always verified
(``StrictHostKeyChecking=yes``, or ``accept-new`` only when the target says
``accept_new_host_keys = true``); ssh never prompts (``BatchMode=yes``) and gives up on a host
that does not answer within ``CONNECT_TIMEOUT_S``.
"""

from __future__ import annotations

import json
import shlex
import subprocess
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import Any

from jupyter_mltrain.engine.mpirun_failures import mpirun_failure
from jupyter_mltrain.engine.targets import SlurmTarget, SSHClusterTarget, SSHHost, Target, parse_host
from jupyter_mltrain.hostside.errors import TargetError

CONNECT_TIMEOUT_S = 5
CHECK_TIMEOUT_S = 10

# Runs on the remote host with its own Python: standard library only, one JSON line out.
_PROBE = """
import json, os, platform, shutil, subprocess, sys
mpirun = sys.argv[1]
gpus = []
if shutil.which("nvidia-smi"):
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=index,name,memory.total", "--format=csv,noheader,nounits"],
                             capture_output=True, text=True, timeout=5).stdout
        gpus = [dict(zip(("index", "name", "memory_mib"), (p.strip() for p in line.split(","))))
                for line in out.splitlines() if line.strip()]
    except Exception:
        pass
print(json.dumps({"python": platform.python_version(), "executable": sys.executable,
                  "mpirun": shutil.which(mpirun), "cpus": os.cpu_count(), "gpus": gpus,
                  "hostname": platform.node()}))
"""


@dataclass
class HostHealth:
    """What ``mltrain targets check`` finds on one host."""

    host: str
    reachable: bool
    slots: int
    python: str | None = None
    mpirun: str | None = None
    cpus: int | None = None
    gpus: list[dict[str, Any]] | None = None
    hostname: str | None = None  # as the host names itself (what its ranks report)
    message: str = ""
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)


def ssh_option_value(value: str) -> str:
    """``value`` as ssh's ``-o KEY=VALUE`` parser reads it back unchanged: quoted, ``%`` doubled."""
    escaped = value.replace("%", "%%").replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def _connection(target: SSHClusterTarget | SlurmTarget) -> dict[str, Any]:
    """The ssh settings every kind of remote target shares."""
    return {
        "user": target.user,
        "port": target.port,
        "identity": target.identity,
        "known_hosts": target.known_hosts,
        "options": target.ssh_options,
        "accept_new_host_keys": target.accept_new_host_keys,
        "python": target.python or "python3",
    }


@dataclass(frozen=True)
class SSHConnection:
    """How to run commands on the hosts of a remote target: user, port, keys, interpreter, hosts."""

    name: str
    hosts: tuple[SSHHost, ...]
    user: str | None = None
    port: int | None = None
    identity: str | None = None
    known_hosts: str | None = None
    options: tuple[str, ...] = ()
    accept_new_host_keys: bool = False
    python: str = "python3"
    mpirun: str = "mpirun"

    @classmethod
    def from_target(cls, target: Target) -> SSHConnection:
        """The connection settings of an ssh target (checked when its TOML table was read)."""
        if not isinstance(target, SSHClusterTarget):
            raise TargetError(f"target {target.name!r} is of kind {target.kind!r}, not 'ssh'")
        return cls(name=target.name, hosts=target.host_slots, mpirun=target.mpirun, **_connection(target))

    @classmethod
    def login_node(cls, target: SlurmTarget) -> SSHConnection:
        """The ssh settings of a Slurm target's ``login_host`` (one host, the head)."""
        if not target.login_host:
            raise TargetError(f"target {target.name!r} has no login_host")
        return cls(name=target.name, hosts=(parse_host(target.name, target.login_host),), **_connection(target))

    @property
    def head(self) -> SSHHost:
        """The first host: it runs mpirun."""
        return self.hosts[0]

    def ssh_args(self) -> list[str]:
        """ssh and its options, without the destination."""
        args = [
            "ssh",
            "-o",
            "BatchMode=yes",
            "-o",
            f"ConnectTimeout={CONNECT_TIMEOUT_S}",
            "-o",
            f"StrictHostKeyChecking={'accept-new' if self.accept_new_host_keys else 'yes'}",
            "-o",
            "ServerAliveInterval=5",
            "-o",
            "ServerAliveCountMax=3",
        ]
        if self.known_hosts:
            args += ["-o", f"UserKnownHostsFile={ssh_option_value(self.known_hosts)}"]
        if self.port:
            args += ["-p", str(self.port)]
        if self.identity:
            args += ["-o", f"IdentityFile={ssh_option_value(self.identity)}", "-o", "IdentitiesOnly=yes"]
        return args + list(self.options)

    def destination(self, host: SSHHost | str) -> str:
        """``user@host`` or ``host``."""
        address = host.address if isinstance(host, SSHHost) else host
        return f"{self.user}@{address}" if self.user else address

    def command(self, host: SSHHost | str, argv: list[str]) -> list[str]:
        """The local argv that runs ``argv`` on ``host``, quoted once for the remote shell.

        ``--`` ends ssh's options before the destination: nothing after it is read as an option.
        """
        return [*self.ssh_args(), "--", self.destination(host), shlex.join(argv)]


def ssh_failure_message(stderr: str, code: int) -> str:
    """What ssh's own failure (exit 255) means, in a few words, from its stderr."""
    text = stderr.strip().splitlines()
    known = (
        ("Host key verification failed", "host key verification failed (the host's key is not the one in known_hosts)"),
        ("REMOTE HOST IDENTIFICATION HAS CHANGED", "host key verification failed (the host's key changed)"),
        ("Connection refused", "connection refused"),
        ("Connection timed out", f"no answer within {CONNECT_TIMEOUT_S} s"),
        ("Permission denied", "permission denied (check user and identity)"),
        ("Could not resolve hostname", "unknown host name"),
        ("No route to host", "no route to host"),
    )
    for needle, message in known:
        if any(needle in line for line in text):
            return message
    return (text[-1] if text else f"ssh exited with code {code}")[:300]


def check_host(target: SSHConnection, host: SSHHost, timeout: float = CHECK_TIMEOUT_S) -> HostHealth:
    """Reach ``host`` over ssh and report its Python, mpirun, CPUs and GPUs."""
    start = time.monotonic()
    health = HostHealth(host=host.address, reachable=False, slots=host.slots)
    argv = target.command(host, [target.python, "-c", _PROBE, target.mpirun])
    try:
        out = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        health.message = f"no answer within {timeout:g} s"
    except OSError as exc:
        health.message = f"cannot run ssh: {exc.strerror or exc}"
    else:
        if out.returncode == 255:
            health.message = ssh_failure_message(out.stderr, out.returncode)
        elif out.returncode == 127:
            health.reachable = True
            health.message = (
                f"the interpreter {target.python} does not exist on the host: set `python` in the target to "
                "the path of an interpreter there"
            )
        elif out.returncode != 0:
            health.reachable = True
            tail = out.stderr.strip().splitlines()[-1:] or [f"exit code {out.returncode}"]
            health.message = f"{target.python} failed on the host: {tail[0][:200]}"
        else:
            health.reachable = True
            try:
                facts = json.loads(out.stdout.strip().splitlines()[-1])
            except (ValueError, IndexError):
                health.message = "the host's probe printed no report"
            else:
                health.python, health.mpirun = facts.get("python"), facts.get("mpirun")
                health.cpus, health.gpus = facts.get("cpus"), facts.get("gpus") or []
                health.hostname = facts.get("hostname")
                problems = [f"{target.mpirun} not found" if not health.mpirun else ""]
                if health.cpus is not None and host.slots > health.cpus:
                    problems.append(f"{host.slots} slots but {health.cpus} CPUs")
                health.message = "; ".join(p for p in problems if p) or "ok"
    health.seconds = round(time.monotonic() - start, 3)
    return health


# Runs on the head host: mpirun (argv as JSON) with a time limit; one JSON line out.
_MPI_PROBE = """
import json, os, subprocess, sys
argv, env = json.loads(sys.argv[1]), dict(os.environ)
if os.geteuid() == 0:
    argv.insert(1, "--allow-run-as-root")
try:
    out = subprocess.run(argv, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                         timeout=float(sys.argv[2]))
    print(json.dumps({"code": out.returncode, "output": (out.stdout + out.stderr)[-20000:]}))
except subprocess.TimeoutExpired:
    print(json.dumps({"code": None, "output": "no answer within " + sys.argv[2] + " s"}))
except OSError as exc:
    print(json.dumps({"code": None, "output": str(exc)}))
"""
MPI_CHECK_TIMEOUT_S = 60


def check_mpi_launch(
    target: SSHConnection, mpirun_args: Sequence[str] = (), timeout: float = MPI_CHECK_TIMEOUT_S
) -> str:
    """Start one process per host with mpirun from the head, as a run does; ``ok`` or what to fix.

    This checks what the notebook's host cannot see: the head reaching every host by ssh without a
    password (with the target's ``mpirun_args``), OpenMPI's daemon on every host, and the same Python there.
    """
    hosts = [h.address for h in target.hosts]
    report = "import platform, sys; print('mltrain-host', platform.node(), sys.version.split()[0], flush=True)"
    argv = [target.mpirun, "--oversubscribe", "--host", ",".join(f"{h}:1" for h in hosts), "-np", str(len(hosts))]
    argv += [*mpirun_args, target.python, "-c", report]
    command = target.command(target.head, [target.python, "-c", _MPI_PROBE, json.dumps(argv), str(timeout)])
    try:
        out = subprocess.run(command, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout + 15)
    except subprocess.TimeoutExpired:
        return f"mpirun on {target.head.address} gave no answer within {timeout:g} s"
    if out.returncode != 0:
        return f"cannot run mpirun on {target.head.address}: {ssh_failure_message(out.stderr, out.returncode)}"
    try:
        result = json.loads(out.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return f"mpirun on {target.head.address} printed no report"
    output = str(result.get("output") or "")
    if result.get("code") != 0:
        return mpirun_failure(output, target.head.address) or (
            f"mpirun on {target.head.address} failed: " + " | ".join(output.strip().splitlines()[-3:])[:400]
        )
    versions = sorted({line.split()[2] for line in output.splitlines() if line.startswith("mltrain-host ")})
    if len(versions) > 1:
        return f"the hosts run different Pythons ({', '.join(versions)}): ranks need the same version everywhere"
    return "ok"


def check_target(target: SSHConnection, timeout: float = CHECK_TIMEOUT_S) -> list[HostHealth]:
    """``check_host`` on every host at once (so the whole check takes about as long as the slowest host)."""
    with ThreadPoolExecutor(max_workers=min(16, len(target.hosts))) as pool:
        return list(pool.map(lambda h: check_host(target, h, timeout), target.hosts))
