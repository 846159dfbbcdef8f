"""jupyter_mltrain: train models from JupyterLab on local CPUs/GPUs or remote MPI clusters.

Training code imports the runtime from here (``from jupyter_mltrain import log``); that
import loads the standard library only. The API (``Experiment``, ``Run``, ``RunSpec``) is
loaded on first use.
"""

from __future__ import annotations

from typing import Any

from jupyter_mltrain.runtime import (
    flush,
    input_path,
    local_rank,
    log,
    log_many,
    outputs_dir,
    progress,
    rank,
    run_id,
    world_size,
)

__version__ = "0.1.0"

_LAZY = {
    "Experiment": "jupyter_mltrain.api",
    "Run": "jupyter_mltrain.api",
    "submit": "jupyter_mltrain.api",
    "RunSpec": "jupyter_mltrain.spec",
    "Distribution": "jupyter_mltrain.spec",
    "Environment": "jupyter_mltrain.spec",
    "SnapshotOptions": "jupyter_mltrain.spec",
    "MLTrainError": "jupyter_mltrain.errors",
    "RunFailed": "jupyter_mltrain.errors",
}

__all__ = [
    "flush", "input_path", "local_rank", "log", "log_many", "outputs_dir", "progress", "rank", "run_id",
    "world_size", *_LAZY,
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'jupyter_mltrain' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
