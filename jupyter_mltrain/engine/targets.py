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
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import MISSING, dataclass, field, fields
from pathlib import Path
from typing import Any, ClassVar, Literal, Self

from jupyter_mltrain.hostside.errors import TargetError

KINDS = ("local", "ssh", "slurm")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class SSHHost:
    """One host of a target and how many ranks it takes."""

    address: str
    slots: int


def _str(value: Any) -> bool:
    return isinstance(value, str)


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _flag(value: Any) -> bool:
    return isinstance(value, bool)


def _words(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, (str, int)) and not isinstance(v, bool) for v in value)


def _env(value: Any) -> bool:
    return isinstance(value, dict) and all(
        isinstance(k, str) and _ENV_NAME.match(k) and isinstance(v, str) for k, v in value.items()
    )


def _check(checker: Callable[[Any], bool]) -> dict[str, Any]:
    """Field metadata: how a TOML value of this field is checked."""
    return {"check": checker}


@dataclass(frozen=True, kw_only=True)
class _TargetBase:
    """The settings every kind of target has; each default is written here once."""

    name: str
    source: str = "built-in"
    description: str = field(default="", metadata=_check(_str))
    python: str | None = field(default=None, metadata=_check(_str))
    env: dict[str, str] = field(default_factory=dict, metadata=_check(_env))
    mpirun: str = field(default="mpirun", metadata=_check(_str))
    mpirun_args: tuple[str, ...] = field(default=(), metadata=_check(_words))
    gpus: tuple[str, ...] = field(default=(), metadata=_check(_words))
    gpu_policy: str | None = field(default=None, metadata=_check(_str))

    def settings(self) -> dict[str, Any]:
        """The TOML fields this target sets to other than their defaults."""
        out: dict[str, Any] = {}
        for f in fields(self):
            if "check" not in f.metadata:
                continue
            default = f.default_factory() if f.default_factory is not MISSING else f.default
            value = getattr(self, f.name)
            if value != default:
                out[f.name] = list(value) if isinstance(value, tuple) else value
        return out

    @classmethod
    def field_names(cls) -> set[str]:
        """The TOML keys this kind accepts (``kind`` included)."""
        return {f.name for f in fields(cls) if "check" in f.metadata} | {"kind"}

    @classmethod
    def from_table(cls, name: str, body: dict[str, Any], source: str) -> Self:
        """Read and check one ``[targets.NAME]`` table; errors name the file, the target and the field."""
        kind = body.get("kind", "local")
        known = cls.field_names()
        unknown = set(body) - known
        if unknown:
            raise TargetError(
                f"{source}: target {name!r}: unknown field {sorted(unknown)[0]!r} for kind {kind!r}; "
                f"known: {', '.join(sorted(known))}"
            )
        values: dict[str, Any] = {}
        for f in fields(cls):
            if f.name not in body:
                continue
            value = body[f.name]
            if not f.metadata["check"](value):
                raise TargetError(f"{source}: target {name!r}: field {f.name!r} has the wrong type ({value!r})")
            values[f.name] = tuple(str(v) for v in value) if isinstance(value, list) else value
        try:
            return cls(name=name, source=source, **values)
        except TargetError as exc:
            raise TargetError(f"{source}: {exc}") from None


@dataclass(frozen=True, kw_only=True)
class LocalTarget(_TargetBase):
    """``kind = "local"``: this machine (``local`` always exists)."""

    kind: ClassVar[Literal["local"]] = "local"


@dataclass(frozen=True, kw_only=True)
class _SSHAccess:
    """How to reach a remote host over ssh (ssh and Slurm-with-login-node targets)."""

    user: str | None = field(default=None, metadata=_check(_str))
    port: int | None = field(default=None, metadata=_check(_count))
    identity: str | None = field(default=None, metadata=_check(_str))
    known_hosts: str | None = field(default=None, metadata=_check(_str))
    ssh_options: tuple[str, ...] = field(default=(), metadata=_check(_words))
    accept_new_host_keys: bool = field(default=False, metadata=_check(_flag))
    workdir: str = field(default="~/.mltrain-work", metadata=_check(_str))

    def _check_user(self, target: str) -> None:
        text = self.user
        if text is not None and (
            not text or text.startswith("-") or any(c.isspace() or not c.isprintable() for c in text)
        ):
            raise TargetError(
                f"target {target!r}: bad user {text!r}; a user name cannot be empty, start with '-' "
                "or contain spaces or control characters"
            )


@dataclass(frozen=True, kw_only=True)
class SSHClusterTarget(_SSHAccess, _TargetBase):
    """``kind = "ssh"``: hosts reached over ssh; mpirun runs on the first."""

    kind: ClassVar[Literal["ssh"]] = "ssh"
    hosts: tuple[str, ...] = field(default=(), metadata=_check(_words))
    shared_fs: bool = field(default=False, metadata=_check(_flag))
    gpus_per_host: int = field(default=0, metadata=_check(_count))
    cleanup: str = field(default="on-success", metadata=_check(_str))

    def __post_init__(self) -> None:
        self._check_user(self.name)
        if not self.hosts:
            raise TargetError(f"target {self.name!r}: 'hosts' is empty; list at least one 'host:slots'")
        parsed = self.host_slots
        if len({h.address for h in parsed}) != len(parsed):
            raise TargetError(f"target {self.name!r}: a host is listed twice in 'hosts'")

    @property
    def host_slots(self) -> tuple[SSHHost, ...]:
        """``hosts`` parsed: address and slots of each."""
        return tuple(parse_host(self.name, h) for h in self.hosts)


@dataclass(frozen=True, kw_only=True)
class SlurmTarget(_SSHAccess, _TargetBase):
    """``kind = "slurm"``: jobs through sbatch/srun, here or on a ``login_host`` over ssh."""

    kind: ClassVar[Literal["slurm"]] = "slurm"
    partition: str | None = field(default=None, metadata=_check(_str))
    account: str | None = field(default=None, metadata=_check(_str))
    nodes: int | None = field(default=None, metadata=_check(_count))
    ntasks_per_node: int | None = field(default=None, metadata=_check(_count))
    gpus_per_node: int | None = field(default=None, metadata=_check(_count))
    time: str | None = field(default=None, metadata=_check(_str))
    sbatch_options: tuple[str, ...] = field(default=(), metadata=_check(_words))
    login_host: str | None = field(default=None, metadata=_check(_str))
    collector_host: str | None = field(default=None, metadata=_check(_str))

    def __post_init__(self) -> None:
        if self.login_host is not None:
            self._check_user(self.name)
            parse_host(self.name, self.login_host)


Target = LocalTarget | SSHClusterTarget | SlurmTarget
TARGET_CLASSES: dict[str, type[LocalTarget] | type[SSHClusterTarget] | type[SlurmTarget]] = {
    "local": LocalTarget,
    "ssh": SSHClusterTarget,
    "slurm": SlurmTarget,
}


def parse_host(target: str, item: Any) -> SSHHost:
    """``host`` or ``host:slots`` as an SSHHost; errors name the target."""
    text = str(item)
    address, sep, slots = text.rpartition(":") if ":" in text else (text, "", "1")
    if not sep:
        address, slots = text, "1"
    if not address or any(c.isspace() for c in address) or address.startswith("-"):
        raise TargetError(f"target {target!r}: bad host {text!r} in hosts; expected 'host' or 'host:slots'")
    try:
        count = int(slots)
    except ValueError:
        raise TargetError(f"target {target!r}: bad slot count in {text!r}; expected 'host:slots'") from None
    if count < 1:
        raise TargetError(f"target {target!r}: host {text!r} needs at least 1 slot")
    return SSHHost(address, count)


Folders = str | os.PathLike[str] | Sequence[str | os.PathLike[str]] | None


def config_paths(cwd: Folders = None) -> list[Path]:
    """The TOML files consulted, lowest precedence first (missing ones included).

    ``cwd``: the folder (or folders, later ones winning) whose ``mltrain.toml`` counts; default the current folder.
    A run passes its source folder and the folder it was submitted from.
    """
    from jupyter_core.paths import jupyter_config_dir

    paths = [Path(jupyter_config_dir()) / "mltrain.toml"]
    if os.environ.get("MLTRAIN_CONFIG"):
        paths.append(Path(os.environ["MLTRAIN_CONFIG"]))
    folders = [cwd] if cwd is None or isinstance(cwd, (str, os.PathLike)) else list(cwd)
    for folder in folders:
        path = Path(folder or os.getcwd()).resolve() / "mltrain.toml"
        if path not in paths:
            paths.append(path)
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
        if not isinstance(kind, str) or kind not in TARGET_CLASSES:
            raise TargetError(f"{source}: target {name!r}: unknown kind {kind!r}; choose one of: {', '.join(KINDS)}")
        target = TARGET_CLASSES[kind].from_table(name, body, source)
        out[name] = target
    return out


def load_targets(cwd: Folders = None) -> dict[str, Target]:
    """Every configured target, ``local`` included."""
    targets: dict[str, Target] = {"local": LocalTarget(name="local")}
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


def resolve_target(name: str, cwd: Folders = None) -> Target:
    """The target called ``name``, or an error listing the configured ones."""
    targets = load_targets(cwd)
    if name not in targets:
        raise TargetError(f"unknown target {name!r}; configured targets: {', '.join(sorted(targets))}")
    return targets[name]
