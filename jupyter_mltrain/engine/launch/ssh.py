"""ssh launcher: the run on the hosts of a ``kind = "ssh"`` target, everything back over one ssh connection.

1. Staging: the snapshot goes to ``<workdir>/<run-id>`` on every host used (only the head with
   ``shared_fs = true``), and the rank-side package (standard library only) to
   ``<workdir>/.mltrain-pkg-<hash>``; hosts keep what they already have (``staging``).
2. The supervisor opens one ssh connection to the head and runs ``jupyter_mltrain.hostside.remote``
   there, which starts mpirun over the hosts and relays every rank's frames on that
   connection's stdout; the supervisor reads them as from a local launcher.
3. ``terminate()`` writes ``term`` to the connection (SIGTERM to the ranks); ``kill()`` closes it,
   and the head side kills everything when its input ends — also when the connection is cut.
   On a hang, ``dump_stacks()`` opens one more ssh connection to each host holding ranks
   (found by the name the host gave the connection check, which is what its ranks report).
4. Finalizing copies the head's ``outputs/`` back; the remote run folders are removed per the
   target's ``cleanup`` (``on-success`` by default, ``always`` or ``never``).
"""

from __future__ import annotations

import json
import secrets
import signal
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from jupyter_mltrain.engine.launch.base import Launcher, StackDumps, dump_request, killpg
from jupyter_mltrain.engine.mpirun_failures import mpirun_failure
from jupyter_mltrain.engine.ssh import SSHConnection, check_target
from jupyter_mltrain.engine.staging import fetch_outputs, stage, stage_rank_side
from jupyter_mltrain.engine.targets import SSHHost, resolve_target
from jupyter_mltrain.hostside.collector import Source, StreamSource
from jupyter_mltrain.hostside.errors import LaunchError

# argv: package dir, workdir, base python, key, run dir; stdin: the requirements text
_BUILD_ENV = """
import os, sys
from pathlib import Path
sys.path.insert(0, os.path.expanduser(sys.argv[1]))
from jupyter_mltrain.hostside.venv import ensure_env
from jupyter_mltrain.hostside.errors import LaunchError
run = Path(os.path.expanduser(sys.argv[5]))
try:
    print(ensure_env(Path(os.path.expanduser(sys.argv[2])), sys.argv[3], sys.stdin.read(), run,
                     run / "environment.log", key=sys.argv[4]))
except LaunchError as exc:
    sys.exit(str(exc))
"""

# argv: the ranks' interpreter (may start with ~); prints its version and packages as JSON
_ENVIRONMENT = """
import json, os, subprocess, sys
python = os.path.expanduser(sys.argv[1])
code = ("import json, platform, sys\\nfrom importlib.metadata import distributions\\n"
        "print(json.dumps({'python': sys.executable, 'python_version': platform.python_version(),"
        " 'platform': platform.platform(), 'packages': {d.metadata['Name']: d.version for d in distributions()"
        " if d.metadata['Name']}}))")
print(subprocess.run([python, "-c", code], capture_output=True, text=True, timeout=60).stdout)
"""

# Runs jupyter_mltrain.hostside.remote from the staged rank-side package (argv: package dir, then its arguments).
_BOOT = (
    "import os, runpy, sys; sys.path.insert(0, os.path.expanduser(sys.argv[1])); del sys.argv[1]; "
    "runpy.run_module('jupyter_mltrain.hostside.remote', run_name='__main__')"
)

_REMOVE = """
import shutil, os, sys
for path in sys.argv[1:]:
    shutil.rmtree(os.path.expanduser(path), ignore_errors=True)
"""


class SSHLauncher(Launcher):
    """Starts the ranks on an ssh target's hosts through mpirun on its first host."""

    name = "ssh"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.options = self.plan.launcher_options["ssh"]
        self.target = SSHConnection.from_target(resolve_target(self.options["target"], cwd=self.options.get("cwd")))
        self.proc: subprocess.Popen[bytes] | None = None
        self.run_dir = f"{self.options['workdir']}/{self.plan.run_id}"
        self.pkg_dir = ""
        self.stage_reports: list[dict[str, Any]] = []
        self.hosts_by_name: dict[str, SSHHost] = {}

    def start(self) -> list[Source]:
        """Check the hosts, stage the snapshot, then open the connection to the head."""
        hosts = [h for h in self.target.hosts if h.address in self.options["nodes"]]
        health = [h for h in check_target(self.target) if h.host in self.options["nodes"]]
        down = [h for h in health if not h.reachable]
        if down:
            raise LaunchError("; ".join(f"host {h.host} is not reachable: {h.message}" for h in down))
        by_address = {h.address: h for h in hosts}
        for checked in health:  # hosts that share a name are one machine: the first one answers for it
            self.hosts_by_name.setdefault(checked.hostname or checked.host, by_address[checked.host])
        for host in hosts:
            self.hosts_by_name.setdefault(host.address, host)
        staged = hosts[:1] if self.options.get("shared_fs") else hosts
        reports = stage(self.target, Path(self.plan.workdir), self.options["workdir"], self.plan.run_id, staged)
        self.pkg_dir, pkg_reports = stage_rank_side(self.target, self.options["workdir"], staged)
        self.stage_reports = [r.__dict__ for r in reports + pkg_reports]
        wanted = self.plan.launcher_options.get("requirements")
        if wanted:
            self._build_envs(staged, wanted)
        config = {
            "token": secrets.token_hex(16),
            "bind": self.options["head"],
            "mpirun": self.plan.launcher_options.get("mpirun") or "mpirun",
            "mpirun_args": self.plan.launcher_options.get("mpirun_args") or [],
            "hosts": self.options["hosts"],
            "np": self.plan.world_size,
            "workdir": self.run_dir,
            "python": self.plan.program[0],
            "program": self.plan.program,
            "env": dict(self.plan.env),
            "pythonpath": self.pkg_dir,
        }
        # The configuration (the ranks' environment, secrets included, and the collector's token) travels as
        # the first line of the connection's input, never on a command line that `ps` shows on either side.
        self.proc = subprocess.Popen(
            self._remote(self.target.head, []), stdin=subprocess.PIPE, stdout=subprocess.PIPE, start_new_session=True
        )
        assert self.proc.stdout is not None and self.proc.stdin is not None
        try:
            self.proc.stdin.write(json.dumps(config).encode() + b"\n")
            self.proc.stdin.flush()
        except OSError:  # ssh already ended: the closed channel and lost_reason() tell why
            pass
        return [StreamSource(self.proc.stdout.fileno(), f"ssh {self.target.head.address}")]

    def _remote(self, host: SSHHost, args: list[str]) -> list[str]:
        """The ssh command running ``jupyter_mltrain.hostside.remote ARGS`` on ``host`` with the ranks' interpreter."""
        argv = ["env", f"MLTRAIN_RUN_ID={self.plan.run_id}", self.plan.program[0], "-c", _BOOT, self.pkg_dir, *args]
        return self.target.command(host, argv)

    def dump_stacks(self, ranks: dict[int, dict[str, Any]]) -> StackDumps:
        """Every rank runs on a host of the target, this machine or not: ask each host, over ssh, for its ranks'."""
        dumps = StackDumps()
        per_host: dict[SSHHost, dict[int, dict[str, Any]]] = {}
        for rank, info in ranks.items():
            host = self.hosts_by_name.get(str(info.get("host")))
            if host is None:
                dumps.note(
                    [rank], f"(not reached: no host of target {self.target.name!r} is named {info.get('host')!r})"
                )
            else:
                per_host.setdefault(host, {})[rank] = info
        for host, here in per_host.items():
            dumps.start(self._remote(host, dump_request(self.plan.run_id, here)), list(here), f"{host.address} (ssh)")
        return dumps

    def _build_envs(self, hosts: list[Any], wanted: dict[str, str]) -> None:
        """The ``--requirements`` venv on every host (built once per requirements, then reused)."""

        def build(host: Any) -> None:
            argv = [
                wanted["base_python"],
                "-c",
                _BUILD_ENV,
                self.pkg_dir,
                self.options["workdir"],
                wanted["base_python"],
                wanted["key"],
                self.run_dir,
            ]
            out = subprocess.run(
                self.target.command(host, argv), input=wanted["text"].encode(), capture_output=True, timeout=3600
            )
            if out.returncode != 0:
                raise LaunchError(f"on {host.address}: {out.stderr.decode(errors='replace').strip()[-1500:]}")

        with ThreadPoolExecutor(max_workers=len(hosts)) as pool:
            list(pool.map(build, hosts))

    def terminate(self) -> None:
        """Ask the head side to SIGTERM the ranks."""
        if self.proc is not None and self.proc.poll() is None and self.proc.stdin is not None:
            try:
                self.proc.stdin.write(b"term\n")
                self.proc.stdin.flush()
            except OSError:
                pass

    def kill(self) -> None:
        """Close the connection: the head side kills mpirun and every rank; then end ssh itself."""
        if self.proc is not None:
            if self.proc.stdin is not None:
                try:
                    self.proc.stdin.close()
                except OSError:
                    pass
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                killpg(self.proc.pid, signal.SIGKILL)

    def running(self) -> bool:
        """Whether the connection to the head is open."""
        return self.proc is not None and self.proc.poll() is None

    def lost_reason(self) -> str | None:
        """A cut connection (ssh's own exit code 255, or killed) is named as such."""
        if self.proc is None:
            return None
        code = self.proc.poll()
        if code is not None and code != 0:  # mpirun's own launch failure exits 255 too: name it first
            failure = mpirun_failure(self.launcher_log(), self.target.head.address)
            if failure:
                return failure
        if code == 255 or (code is not None and code < 0):
            return f"connection to head host {self.target.head.address} lost (ssh exit {code})"
        return None

    def collect_outputs(self, dest: Path) -> None:
        """Copy the head's ``outputs/`` of this run into ``dest``, and its ``checkpoints/`` beside it."""
        fetch_outputs(self.target, self.target.head, self.run_dir, dest)
        fetch_outputs(self.target, self.target.head, self.run_dir, dest.parent / "checkpoints", "checkpoints")

    def cleanup(self, completed: bool) -> None:
        """Remove the run's folder on the hosts, per the target's ``cleanup``."""
        policy = self.options.get("cleanup", "on-success")
        if policy == "never" or (policy == "on-success" and not completed):
            return
        for host in self.target.hosts:
            if host.address in self.options["nodes"]:
                subprocess.run(
                    self.target.command(host, [self.plan.program[0], "-c", _REMOVE, self.run_dir]),
                    capture_output=True,
                    timeout=120,
                )

    def environment(self) -> dict[str, Any] | None:
        """The ranks' interpreter and packages, as the head host has them."""
        argv = self.target.command(self.target.head, [self.target.python, "-c", _ENVIRONMENT, self.plan.program[0]])
        data: dict[str, Any] = {}
        for attempt in range(3):  # sshd may turn away a connection while many are opening (MaxStartups)
            out = subprocess.run(argv, capture_output=True, text=True, timeout=120)
            if out.returncode == 0 and out.stdout.strip():
                data = json.loads(out.stdout.strip().splitlines()[-1])
                break
            data = {"error": (out.stderr.strip().splitlines() or [f"exit code {out.returncode}"])[-1][:300]}
            time.sleep(1 + attempt)
        data["packages"] = dict(sorted((data.get("packages") or {}).items(), key=lambda kv: kv[0].lower()))
        data["measured_on"] = self.target.head.address
        return data

    def describe(self) -> dict[str, Any]:
        """Hosts, staging and the connection."""
        return {
            "launcher": self.name,
            "head": self.target.head.address,
            "hosts": self.options["hosts"],
            "staged": self.stage_reports,
            "pid": self.proc.pid if self.proc else None,
        }
