"""Helpers for the security tests: hostile strings, a script that reports what it got, and searches.

A plain module (as ``tests/server/serverutil.py``): the test files of this folder import it by name.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterable
from pathlib import Path


# Everything a shell would act on: command separators, substitutions, both quotes, a newline, a glob,
# a backslash, a tab and non-ASCII text. Used where a value may hold any character.
def hostile(canary: Path) -> str:
    """A value that runs ``touch CANARY`` if any shell ever parses it (``canary`` is an absolute path)."""
    c = str(canary)
    return (
        f"semi;touch {c}; amp&&touch {c} pipe|touch {c} dollar $(touch {c}) tick `touch {c}` "
        f"sq ';touch {c};' dq \";touch {c};\" nl\ntouch {c}\n glob * back\\slash tab\tend "
        f"uni ü日本☃ pct %s %j %% hash #x ${{HOME}} $HOME"
    )


def hostile_name(canary_name: str) -> str:
    """The same for one path component (no ``/``): ``touch NAME`` runs in whatever folder the shell is in."""
    n = canary_name
    return f"x ;touch {n}; $(touch {n}) `touch {n}` 'q' \"d\" ü☃ %j\nnl"


# Prints one line: REPORT <json of argv, cwd, chosen variables and files>. ensure_ascii keeps it one line.
REPORT_SCRIPT = r"""
import json, os, sys
names = json.loads(os.environ.get("REPORT_NAMES", "[]"))
files = {}
for name in json.loads(os.environ.get("REPORT_FILES", "[]")):
    path = os.environ.get(name)
    files[name] = open(path, encoding="utf-8").read() if path and os.path.isfile(path) else None
report = {"argv": sys.argv, "env": {n: os.environ.get(n) for n in names}, "files": files,
          "globals": {k: v for k, v in globals().items() if k.startswith("p_")}}
print("REPORT " + json.dumps(report, ensure_ascii=True), flush=True)
"""


def report_of(log: str) -> dict:
    """The REPORT line a rank printed (see ``REPORT_SCRIPT``)."""
    lines = [line for line in log.splitlines() if line.startswith("REPORT ")]
    assert len(lines) == 1, f"expected one REPORT line in the rank's log, got: {log[-2000:]!r}"
    return json.loads(lines[0][len("REPORT ") :])


def canaries(name: str, roots: Iterable[Path]) -> list[Path]:
    """Every file called ``name`` under ``roots`` (searched whole): proof a shell ran ``touch NAME``."""
    found = []
    for root in roots:
        for folder, dirs, files in os.walk(root):
            found += [Path(folder) / f for f in files + dirs if f == name]
    return found


def files_containing(root: Path, needles: Iterable[bytes]) -> list[str]:
    """Relative paths of the regular files under ``root`` whose bytes contain any of ``needles``."""
    needles = [n for n in needles if n]
    hits = []
    for folder, _dirs, files in os.walk(root):
        for name in files:
            path = Path(folder) / name
            if path.is_symlink() or not path.is_file():
                continue
            data = path.read_bytes()
            if any(n in data for n in needles):
                hits.append(str(path.relative_to(root)))
    return sorted(hits)


def encodings(secret: str) -> list[bytes]:
    """The ways a string may be written: UTF-8, and as JSON escapes it."""
    return [secret.encode(), json.dumps(secret)[1:-1].encode(), json.dumps(secret, ensure_ascii=False)[1:-1].encode()]


class CmdlineWatch:
    """Polls every process's ``/proc/PID/cmdline`` in a thread; records any holding one of ``needles``."""

    def __init__(self, needles: Iterable[str], interval: float = 0.002) -> None:
        self.needles = [n.encode() for n in needles]
        self.interval = interval
        self.hits: dict[int, str] = {}
        self.scans = 0
        self.seen: set[str] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> CmdlineWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            for name in os.listdir("/proc"):
                if not name.isdigit():
                    continue
                try:
                    with open(f"/proc/{name}/cmdline", "rb") as fh:
                        cmdline = fh.read()
                except OSError:
                    continue
                if not cmdline:
                    continue
                words = cmdline.split(b"\0")
                self.seen.add(os.path.basename(words[0].decode(errors="replace")))
                if any(n in cmdline for n in self.needles):
                    self.hits[int(name)] = cmdline.replace(b"\0", b" ").decode(errors="replace")[:500]
            self.scans += 1
            time.sleep(self.interval)


def mpirun_over_sshd(sshd) -> str:
    """TOML lines for an ssh target on the test sshd: mpirun reaches the other "host" through it, over TCP."""
    rsh = (
        f"-p {sshd.port} -i {sshd.client_key} -o UserKnownHostsFile={sshd.known_hosts} "
        "-o StrictHostKeyChecking=yes -o BatchMode=yes"
    )
    return (
        'mpirun = "/usr/bin/mpirun"\n'
        'mpirun_args = ["--mca", "btl", "self,tcp", "--mca", "oob_tcp_if_include", "lo", "--mca", '
        f'"btl_tcp_if_include", "lo", "--mca", "plm_rsh_args", "{rsh}"]\n'
    )
