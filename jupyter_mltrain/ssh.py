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
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import Any

from jupyter_mltrain.config import Target
from jupyter_mltrain.errors import TargetError

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


@dataclass(frozen=True)
class SSHHost:
    """One host of the target and how many ranks it takes."""

    address: str
    slots: int


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


def _parse_host(target: str, item: Any) -> SSHHost:
    text = str(item)
    address, sep, slots = text.rpartition(":") if ":" in text else (text, "", "1")
    if not sep:
        address, slots = text, "1"
    if not address or any(c.isspace() for c in address) or address.startswith("-"):
        raise TargetError(f"target {target!r}: bad host {text!r} in hosts; expected 'host' or 'host:slots'")
    try:
        count = int(slots)
    except ValueError:
        raise TargetError(f"target {target!r}: bad slot count in {text!r}; expected 'host:slots'") from None
    if count < 1:
        raise TargetError(f"target {target!r}: host {text!r} needs at least 1 slot")
    return SSHHost(address, count)


def _check_user(target: str, user: Any) -> str | None:
    if user is None:
        return None
    text = str(user)
    if not text or text.startswith("-") or any(c.isspace() or not c.isprintable() for c in text):
        raise TargetError(f"target {target!r}: bad user {text!r}; a user name cannot be empty, start with '-' "
                          "or contain spaces or control characters")
    return text


def ssh_option_value(value: str) -> str:
    """``value`` as ssh's ``-o KEY=VALUE`` parser reads it back unchanged: quoted, ``%`` doubled."""
    escaped = value.replace("%", "%%").replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def _connection(target: Target) -> dict[str, Any]:
    """The ssh settings every kind of remote target shares."""
    return {
        "user": _check_user(target.name, target.get("user")),
        "port": target.get("port"),
        "identity": target.get("identity"),
        "known_hosts": target.get("known_hosts"),
        "options": tuple(str(o) for o in target.get("ssh_options", [])),
        "accept_new_host_keys": bool(target.get("accept_new_host_keys", False)),
        "python": target.get("python", "python3"),
    }


@dataclass(frozen=True)
class SSHTarget:
    """The connection settings of a ``kind = "ssh"`` target."""

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
    def from_target(cls, target: Target) -> SSHTarget:
        """Read and check a target's settings; errors name the target and the field."""
        if target.kind != "ssh":
            raise TargetError(f"target {target.name!r} is of kind {target.kind!r}, not 'ssh'")
        raw_hosts = target.get("hosts") or []
        if not raw_hosts:
            raise TargetError(f"target {target.name!r}: 'hosts' is empty; list at least one 'host:slots'")
        hosts = tuple(_parse_host(target.name, h) for h in raw_hosts)
        if len({h.address for h in hosts}) != len(hosts):
            raise TargetError(f"target {target.name!r}: a host is listed twice in 'hosts'")
        return cls(name=target.name, hosts=hosts, mpirun=target.get("mpirun", "mpirun"), **_connection(target))

    @classmethod
    def login_node(cls, target: Target) -> SSHTarget:
        """The ssh settings of a Slurm target's ``login_host`` (one host, the head)."""
        host = target.get("login_host")
        if not host:
            raise TargetError(f"target {target.name!r} has no login_host")
        return cls(name=target.name, hosts=(_parse_host(target.name, host),), **_connection(target))

    @property
    def head(self) -> SSHHost:
        """The first host: it runs mpirun."""
        return self.hosts[0]

    def ssh_args(self) -> list[str]:
        """ssh and its options, without the destination."""
        args = ["ssh", "-o", "BatchMode=yes", "-o", f"ConnectTimeout={CONNECT_TIMEOUT_S}",
                "-o", f"StrictHostKeyChecking={'accept-new' if self.accept_new_host_keys else 'yes'}",
                "-o", "ServerAliveInterval=5", "-o", "ServerAliveCountMax=3"]
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


def check_settings(target: Target) -> None:
    """Raise ``TargetError`` naming the field if an ssh target's (or a Slurm login node's) settings are unusable."""
    if target.kind == "ssh":
        SSHTarget.from_target(target)
    elif target.get("login_host"):
        SSHTarget.login_node(target)


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


def check_host(target: SSHTarget, host: SSHHost, timeout: float = CHECK_TIMEOUT_S) -> HostHealth:
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


def check_target(target: SSHTarget, timeout: float = CHECK_TIMEOUT_S) -> list[HostHealth]:
    """``check_host`` on every host at once (so the whole check takes about as long as the slowest host)."""
    with ThreadPoolExecutor(max_workers=min(16, len(target.hosts))) as pool:
        return list(pool.map(lambda h: check_host(target, h, timeout), target.hosts))
