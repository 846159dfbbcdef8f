"""What environment a run ran in: interpreter, packages, hosts, GPUs (written to ``env.json``)."""

from __future__ import annotations

import hashlib
import json
import os
import platform
import socket
import subprocess
import sys
from typing import Any

from jupyter_mltrain.engine.gpus import detect_gpus
from jupyter_mltrain.engine.plan import is_current_interpreter


def _installed_here() -> dict[str, str]:
    """This interpreter's distributions, cached under MLTRAIN_HOME until a folder on sys.path changes.

    Reading every distribution's metadata takes about half a second with a few hundred packages; installing or
    removing one changes its site-packages folder's mtime, which is part of the cache key.
    """
    from importlib.metadata import distributions

    from jupyter_mltrain.engine.store import default_home

    # where distributions are installed (not the run's own folder, which sys.path also holds)
    folders = [
        (p, os.stat(p).st_mtime_ns)
        for p in sys.path
        if os.path.basename(p.rstrip("/")) in ("site-packages", "dist-packages") and os.path.isdir(p)
    ]
    key = hashlib.sha256(json.dumps([sys.executable, folders]).encode()).hexdigest()[:32]
    cache = default_home() / "envcache" / f"{key}.json"
    try:
        cached: dict[str, str] = json.loads(cache.read_text())
        return cached
    except (OSError, ValueError):
        pass
    found = {d.metadata["Name"]: d.version for d in distributions() if d.metadata["Name"]}
    try:
        cache.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = cache.with_name(f".{key}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(found))
        os.replace(tmp, cache)
    except OSError:
        pass  # a read-only home: no cache, the same answer
    return found


def packages(python: str) -> dict[str, str]:
    """Installed distributions of ``python`` as name -> version (what ``pip freeze`` lists)."""
    if is_current_interpreter(python):
        return _installed_here()
    code = (
        "import json\nfrom importlib.metadata import distributions\n"
        "print(json.dumps({d.metadata['Name']: d.version for d in distributions() if d.metadata['Name']}))"
    )
    try:
        out = subprocess.run([python, "-c", code], capture_output=True, text=True, timeout=60, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return {}
    result: dict[str, str] = json.loads(out)
    return result


def collect(python: str, hosts: list[str]) -> dict[str, Any]:
    """The record written to a run's ``env.json``."""
    version = sys.version.split()[0]
    if not is_current_interpreter(python):
        try:
            version = subprocess.run(
                [python, "-c", "import sys; print(sys.version.split()[0])"],
                capture_output=True,
                text=True,
                timeout=30,
                check=True,
            ).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            version = "unknown"
    pkgs = packages(python)
    return {
        "python": python,
        "python_version": version,
        "platform": platform.platform(),
        "submit_host": socket.gethostname(),
        "hosts": sorted(set(hosts)),
        "cpus": os.cpu_count(),
        "gpus": [g.__dict__ for g in detect_gpus()],
        "packages": dict(sorted(pkgs.items(), key=lambda kv: kv[0].lower())),
        "pip_freeze": [f"{k}=={v}" for k, v in sorted(pkgs.items(), key=lambda kv: kv[0].lower())],
    }
