"""What environment a run ran in: interpreter, packages, hosts, GPUs (written to ``env.json``)."""

from __future__ import annotations

import os
import platform
import socket
import subprocess
import sys
from typing import Any

from jupyter_mltrain.engine.gpus import detect_gpus
from jupyter_mltrain.engine.plan import is_current_interpreter


def packages(python: str) -> dict[str, str]:
    """Installed distributions of ``python`` as name -> version (what ``pip freeze`` lists)."""
    if is_current_interpreter(python):
        from importlib.metadata import distributions

        return {d.metadata["Name"]: d.version for d in distributions() if d.metadata["Name"]}
    code = (
        "import json\nfrom importlib.metadata import distributions\n"
        "print(json.dumps({d.metadata['Name']: d.version for d in distributions() if d.metadata['Name']}))"
    )
    try:
        out = subprocess.run([python, "-c", code], capture_output=True, text=True, timeout=60, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return {}
    import json

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
