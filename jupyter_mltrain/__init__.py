"""jupyter_mltrain: train models from JupyterLab on local CPUs/GPUs or remote MPI clusters.

Training code imports the runtime from here (``from jupyter_mltrain import log``); that
import loads the standard library only. Every name is loaded on first use, so the rank agent
(``python -m jupyter_mltrain.hostside.rank``) starts without loading what it does not need.
"""

from __future__ import annotations

from typing import Any

_RUNTIME_NAMES = (
    "attempt",
    "checkpoint_dir",
    "flush",
    "input_path",
    "latest_checkpoint",
    "local_rank",
    "log",
    "log_many",
    "outputs_dir",
    "params",
    "progress",
    "rank",
    "run_id",
    "world_size",
)
_LAZY = {
    **{name: "jupyter_mltrain.hostside.runtime" for name in _RUNTIME_NAMES},
    "Experiment": "jupyter_mltrain.api",
    "Model": "jupyter_mltrain.models",
    "Run": "jupyter_mltrain.api",
    "submit": "jupyter_mltrain.api",
    "last_run": "jupyter_mltrain.magics",
    "RunSpec": "jupyter_mltrain.engine.spec",
    "Distribution": "jupyter_mltrain.engine.spec",
    "Environment": "jupyter_mltrain.engine.spec",
    "SnapshotOptions": "jupyter_mltrain.engine.spec",
    "MLTrainError": "jupyter_mltrain.hostside.errors",
    "RunFailed": "jupyter_mltrain.hostside.errors",
}

__all__ = [*_LAZY, "export"]


def __getattr__(name: str) -> Any:
    if name == "export":  # the export helpers, a module: jupyter_mltrain.export.torchscript(model, example)
        import importlib

        return importlib.import_module("jupyter_mltrain.hostside.export")
    if name == "__version__":  # one version, from labextension/package.json through the installed metadata
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("jupyter_mltrain")
        except PackageNotFoundError:  # the host side, staged to a host without the package
            return "unknown"
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'jupyter_mltrain' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext jupyter_mltrain``: registers ``%%train``, ``%train_attach``, ``%train_runs``, ``%train_register``."""
    import importlib

    importlib.import_module("jupyter_mltrain.magics").load_ipython_extension(ipython)


def _jupyter_server_extension_points() -> list[dict[str, Any]]:
    """The server extension (``jupyter server extension list`` finds it here)."""
    import importlib

    points: list[dict[str, Any]] = importlib.import_module("jupyter_mltrain.server")._jupyter_server_extension_points()
    return points


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    """The prebuilt JupyterLab extension (the side panel)."""
    return [{"src": "labextension", "dest": "jupyter-mltrain"}]
