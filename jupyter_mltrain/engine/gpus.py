"""Which GPUs this machine has, from ``nvidia-smi`` (no framework is imported)."""

from __future__ import annotations

import shutil
from dataclasses import dataclass

from jupyter_mltrain.hostside.telemetry import query_nvidia_smi


@dataclass(frozen=True)
class GPU:
    """One GPU as nvidia-smi reports it."""

    index: int
    name: str
    memory_mb: int


def detect_gpus(timeout: float = 10.0) -> list[GPU]:
    """The GPUs nvidia-smi lists; none when it is missing or fails."""
    exe = shutil.which("nvidia-smi")
    out = query_nvidia_smi(exe, "index,name,memory.total", timeout) if exe is not None else None
    if out is None:
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
