"""Compute targets from one TOML file, read alike by the kernel, the server and the CLI.

Files, later ones adding to and overriding earlier ones, target by target:

1. ``<jupyter config dir>/mltrain.toml`` (user level),
2. ``$MLTRAIN_CONFIG`` if set,
3. ``mltrain.toml`` in the current folder (beside the notebook, or where the CLI runs).

``local`` always exists. Example::

    [targets.gpu-cluster]
    kind = "ssh"
    hosts = ["gpu1:4", "gpu2:4"]
    user = "alice"
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomllib

from jupyter_mltrain.errors import TargetError

KINDS = ("local", "ssh", "slurm")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

_COMMON = {"kind", "python", "env", "mpirun", "mpirun_args", "gpus", "gpu_policy", "description"}
_FIELDS: dict[str, set[str]] = {
    "local": _COMMON,
    "ssh": _COMMON
    | {"hosts", "user", "port", "identity", "known_hosts", "ssh_options", "workdir", "shared_fs",
       "gpus_per_host", "accept_new_host_keys", "cleanup"},
    "slurm": _COMMON
    | {"partition", "account", "nodes", "ntasks_per_node", "gpus_per_node", "time", "workdir", "sbatch_options",
       "login_host", "user", "port", "identity", "known_hosts", "ssh_options", "collector_host",
       "accept_new_host_keys"},
}


@dataclass(frozen=True)
class Target:
    """One configured place to run: its name, kind and settings."""

    name: str
    kind: str = "local"
    settings: dict[str, Any] = field(default_factory=dict)
    source: str = "built-in"

    def get(self, key: str, default: Any = None) -> Any:
        """One setting, or ``default``."""
        return self.settings.get(key, default)


def config_paths(cwd: str | os.PathLike[str] | None = None) -> list[Path]:
    """The TOML files consulted, lowest precedence first (missing ones included)."""
    from jupyter_core.paths import jupyter_config_dir

    paths = [Path(jupyter_config_dir()) / "mltrain.toml"]
    if os.environ.get("MLTRAIN_CONFIG"):
        paths.append(Path(os.environ["MLTRAIN_CONFIG"]))
    paths.append(Path(cwd or os.getcwd()) / "mltrain.toml")
    return paths


def parse_targets(text: str, source: str) -> dict[str, Target]:
    """Targets from one TOML document; errors name the file, the target and the field."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise TargetError(f"{source}: not valid TOML: {exc}") from None
    unknown_top = set(doc) - {"targets", "defaults"}
    if unknown_top:
        raise TargetError(f"{source}: unknown section {sorted(unknown_top)[0]!r}; expected [targets.NAME]")
    raw = doc.get("targets", {})
    if not isinstance(raw, dict):
        raise TargetError(f"{source}: 'targets' must be a table of [targets.NAME] sections")
    out: dict[str, Target] = {}
    for name, body in raw.items():
        if not isinstance(body, dict):
            raise TargetError(f"{source}: target {name!r} must be a table")
        kind = body.get("kind", "local")
        if kind not in KINDS:
            raise TargetError(f"{source}: target {name!r}: unknown kind {kind!r}; choose one of: {', '.join(KINDS)}")
        unknown = set(body) - _FIELDS[kind]
        if unknown:
            raise TargetError(
                f"{source}: target {name!r}: unknown field {sorted(unknown)[0]!r} for kind {kind!r}; "
                f"known: {', '.join(sorted(_FIELDS[kind]))}"
            )
        _check_types(name, body, source)
        target = Target(name=name, kind=kind, settings=dict(body), source=source)
        if kind == "ssh" or (kind == "slurm" and body.get("login_host")):
            from jupyter_mltrain.ssh import check_settings  # here: ssh.py imports this module

            try:
                check_settings(target)
            except TargetError as exc:
                raise TargetError(f"{source}: {exc}") from None
        out[name] = target
    return out


def _check_types(name: str, body: dict[str, Any], source: str) -> None:
    lists = {"hosts", "mpirun_args", "ssh_options", "sbatch_options", "gpus"}
    strings = {"user", "identity", "known_hosts", "workdir", "python", "mpirun", "partition", "account", "time",
               "login_host", "gpu_policy", "description", "cleanup", "collector_host"}
    ints = {"port", "nodes", "ntasks_per_node", "gpus_per_node", "gpus_per_host"}
    for key, value in body.items():
        bad = (
            (key in lists and not (isinstance(value, list) and all(isinstance(v, (str, int)) for v in value)))
            or (key in strings and not isinstance(value, str))
            or (key in ints and (not isinstance(value, int) or isinstance(value, bool) or value < 0))
            or (key == "env" and not (isinstance(value, dict) and all(isinstance(v, str) for v in value.values())
                                      and all(_ENV_NAME.match(k) for k in value)))
            or (key in {"shared_fs", "accept_new_host_keys"} and not isinstance(value, bool))
        )
        if bad:
            raise TargetError(f"{source}: target {name!r}: field {key!r} has the wrong type ({value!r})")


def load_targets(cwd: str | os.PathLike[str] | None = None) -> dict[str, Target]:
    """Every configured target, ``local`` included."""
    targets: dict[str, Target] = {"local": Target(name="local", kind="local")}
    for path in config_paths(cwd):
        try:
            text = path.read_text()
        except FileNotFoundError:
            continue
        except OSError as exc:
            raise TargetError(f"{path}: cannot read: {exc.strerror or exc}") from None
        except UnicodeDecodeError as exc:
            raise TargetError(f"{path}: not UTF-8 text (byte {exc.start}); TOML files are UTF-8") from None
        targets.update(parse_targets(text, str(path)))
    return targets


def resolve_target(name: str, cwd: str | os.PathLike[str] | None = None) -> Target:
    """The target called ``name``, or an error listing the configured ones."""
    targets = load_targets(cwd)
    if name not in targets:
        raise TargetError(f"unknown target {name!r}; configured targets: {', '.join(sorted(targets))}")
    return targets[name]
