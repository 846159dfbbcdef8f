"""Launchers: one module per backend behind one interface (``base.Launcher``).

Launchers are found by name through the ``jupyter_mltrain.launchers`` entry point group,
so a new backend is a new module (and an entry point), not a branch elsewhere.
"""

from __future__ import annotations

from jupyter_mltrain.engine.launch.base import Launcher
from jupyter_mltrain.hostside.errors import LaunchError

__all__ = ["Launcher", "get_launcher"]


# The built-in launchers, also registered as entry points; looked up here first because
# scanning every installed distribution's entry points costs tens of milliseconds per launch.
_BUILTIN = {
    "local": ("jupyter_mltrain.engine.launch.local", "LocalRankLauncher"),
    "mpi": ("jupyter_mltrain.engine.launch.mpi", "MPIRankLauncher"),
    "ssh": ("jupyter_mltrain.engine.launch.ssh", "SSHLauncher"),
    "slurm": ("jupyter_mltrain.engine.launch.slurm", "SlurmLauncher"),
}


def get_launcher(name: str) -> type[Launcher]:
    """The launcher class registered under ``name``."""
    if name in _BUILTIN:
        import importlib

        module, attr = _BUILTIN[name]
        builtin: type[Launcher] = getattr(importlib.import_module(module), attr)
        return builtin
    from importlib.metadata import entry_points

    for ep in entry_points(group="jupyter_mltrain.launchers"):
        if ep.name == name:
            cls: type[Launcher] = ep.load()
            return cls
    raise LaunchError(f"no launcher named {name!r} is installed (entry point group 'jupyter_mltrain.launchers')")
