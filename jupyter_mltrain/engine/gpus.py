"""Which GPUs this machine has, from ``nvidia-smi`` (no framework is imported)."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass


@dataclass(frozen=True)
class GPU:
    """One GPU as nvidia-smi reports it."""

    index: int
    name: str
    memory_mb: int


def detect_gpus(timeout: float = 10.0) -> list[GPU]:
    """The GPUs nvidia-smi lists; none when it is missing or fails."""
    exe = shutil.which("nvidia-smi")
    if exe is None:
        return []
    try:
        out = subprocess.run(
            [exe, "--query-gpu=index,name,memory.total", "--format=csv,noheader,nounits"],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    gpus = []
    for line in out.splitlines():
        parts = [p.strip() for p in line.split(",")]
        if len(parts) >= 3 and parts[0].isdigit():
            try:
                memory = int(float(parts[2]))
            except ValueError:
                memory = 0
            gpus.append(GPU(int(parts[0]), parts[1], memory))
    return gpus
