"""RunSpec: what to run, where, how, with which environment, inputs and outputs.

Every entry point (the magic, the panel, the API, the CLI) builds one of these; it is
validated once, at construction, and every error names the field and the bad value.
"""

from __future__ import annotations

import fnmatch
import os
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Literal, get_args

from jupyter_mltrain.hostside.errors import SpecError

Mode = Literal["none", "torch", "mpi", "horovod", "tf", "tf-ps"]
MODES: tuple[Mode, ...] = get_args(Mode)
GPU_POLICIES = ("per-rank", "all")
GATHER = ("rank0", "all")
DEFAULT_SECRET_PATTERNS = ("*TOKEN*", "*KEY*", "*PASSWORD*", "*SECRET*")
SECRET_PLACEHOLDER = "<secret>"
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_INPUT_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


@dataclass(frozen=True)
class Distribution:
    """How many processes, and which distributed framework wires them together."""

    mode: Mode = "none"
    processes_per_node: int = 1
    nodes: int = 1
    workers: int | None = None
    parameter_servers: int | None = None
    gpus: tuple[int, ...] | None = None
    gpu_policy: str = "per-rank"
    allow_gpu_sharing: bool = False

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise SpecError("distribution.mode", f"unknown mode {self.mode!r}; choose one of: {', '.join(MODES)}")
        _positive("distribution.processes_per_node", self.processes_per_node)
        _positive("distribution.nodes", self.nodes)
        if self.mode == "tf-ps":
            if self.workers is None or self.parameter_servers is None:
                raise SpecError("distribution", "mode 'tf-ps' needs workers and parameter_servers (--workers W --ps P)")
            _positive("distribution.workers", self.workers)
            _positive("distribution.parameter_servers", self.parameter_servers)
        elif self.workers is not None or self.parameter_servers is not None:
            raise SpecError("distribution", f"workers/parameter_servers apply to mode 'tf-ps' only, not {self.mode!r}")
        if self.gpu_policy not in GPU_POLICIES:
            raise SpecError(
                "distribution.gpu_policy",
                f"unknown policy {self.gpu_policy!r}; choose one of: {', '.join(GPU_POLICIES)}",
            )
        if self.gpus is not None:
            if any(not isinstance(g, int) or isinstance(g, bool) or g < 0 for g in self.gpus):
                raise SpecError("distribution.gpus", f"GPU ids must be non-negative integers, got {list(self.gpus)!r}")
            if len(set(self.gpus)) != len(self.gpus):
                raise SpecError("distribution.gpus", f"GPU ids repeat: {list(self.gpus)!r}")

    @property
    def world_size(self) -> int:
        """Total number of ranks."""
        if self.mode == "tf-ps":
            assert self.workers is not None and self.parameter_servers is not None
            return 1 + self.workers + self.parameter_servers
        return self.processes_per_node * self.nodes


@dataclass(frozen=True)
class Environment:
    """The interpreter and environment variables the ranks get. Secret values never reach disk.

    ``requirements`` is the text of a pip requirements file: the ranks then run in a venv
    built from it once (see ``envs``) on top of ``python``.
    """

    python: str | None = None
    variables: Mapping[str, str] = field(default_factory=dict)
    secret_names: frozenset[str] = frozenset()
    secret_patterns: tuple[str, ...] = DEFAULT_SECRET_PATTERNS
    requirements: str | None = None

    def __post_init__(self) -> None:
        for key, value in self.variables.items():
            if not isinstance(key, str) or not _ENV_NAME.match(key):
                raise SpecError("environment.variables", f"bad variable name {key!r}: use letters, digits and _")
            if not isinstance(value, str):
                raise SpecError(f"environment.variables.{key}", f"value must be a string, got {type(value).__name__}")
            if "\0" in value:
                raise SpecError(f"environment.variables.{key}", "value contains a NUL byte")

    def is_secret(self, name: str) -> bool:
        """Whether variable ``name`` must never be written to disk or shown."""
        upper = name.upper()
        return name in self.secret_names or any(fnmatch.fnmatchcase(upper, p) for p in self.secret_patterns)

    def public_variables(self) -> dict[str, str]:
        """The variables with secret values replaced by a placeholder."""
        return {k: (SECRET_PLACEHOLDER if self.is_secret(k) else v) for k, v in self.variables.items()}

    def secret_variables(self) -> dict[str, str]:
        """Only the secret variables, with their values."""
        return {k: v for k, v in self.variables.items() if self.is_secret(k)}


@dataclass(frozen=True)
class SnapshotOptions:
    """What of the source folder is packaged into the run."""

    ignore: tuple[str, ...] = ()
    size_limit_mb: float = 300.0

    def __post_init__(self) -> None:
        if not self.size_limit_mb > 0:
            raise SpecError("snapshot.size_limit_mb", f"must be > 0, got {self.size_limit_mb!r}")


@dataclass(frozen=True)
class RunSpec:
    """Everything needed to launch one run."""

    entry: str
    source: str
    args: tuple[str, ...] = ()
    target: str = "local"
    distribution: Distribution = field(default_factory=Distribution)
    environment: Environment = field(default_factory=Environment)
    inputs: Mapping[str, str] = field(default_factory=dict)
    name: str | None = None
    experiment: str = "default"
    params: Mapping[str, Any] = field(default_factory=dict)
    snapshot: SnapshotOptions = field(default_factory=SnapshotOptions)
    gather_outputs: str = "rank0"
    grace_period_s: float = 10.0
    hang_timeout_s: float | None = None
    max_restarts: int = 0  # a failed job is started again, as the same run, up to this many times
    telemetry_interval_s: float = 1.0  # seconds between the ranks' system/* samples; 0: none
    origin: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.entry, str) or not self.entry.strip():
            raise SpecError("entry", "an entry script is required")
        if Path(self.entry).is_absolute() or ".." in Path(self.entry).parts:
            raise SpecError("entry", f"{self.entry!r} must be a path inside the source folder")
        if not isinstance(self.source, str) or not self.source:
            raise SpecError("source", "a source folder is required")
        object.__setattr__(self, "source", os.path.abspath(os.path.expanduser(self.source)))
        object.__setattr__(self, "args", tuple(str(a) for a in self.args))
        if not isinstance(self.target, str) or not self.target:
            raise SpecError("target", f"bad target name {self.target!r}")
        if not isinstance(self.experiment, str) or not re.match(r"^[\w.\- ]{1,128}$", self.experiment):
            raise SpecError(
                "experiment", f"bad experiment name {self.experiment!r}: use letters, digits, space, '.', '-', '_'"
            )
        if self.name is not None and (not isinstance(self.name, str) or len(self.name) > 256 or "\0" in self.name):
            raise SpecError("name", f"bad run name {self.name!r}")
        for key, path in self.inputs.items():
            if not isinstance(key, str) or not _INPUT_NAME.match(key):
                raise SpecError("inputs", f"bad input name {key!r}: use letters, digits, '-' and '_'")
            if not isinstance(path, str) or not path:
                raise SpecError(f"inputs.{key}", f"bad path {path!r}")
        if self.gather_outputs not in GATHER:
            raise SpecError("gather_outputs", f"choose one of: {', '.join(GATHER)}; got {self.gather_outputs!r}")
        if not isinstance(self.origin, Mapping):
            raise SpecError("origin", f"must be a mapping, got {type(self.origin).__name__}")
        if not self.grace_period_s >= 0:
            raise SpecError("grace_period_s", f"must be >= 0, got {self.grace_period_s!r}")
        if not isinstance(self.max_restarts, int) or isinstance(self.max_restarts, bool) or self.max_restarts < 0:
            raise SpecError("max_restarts", f"must be an integer >= 0, got {self.max_restarts!r}")
        if self.hang_timeout_s is not None and not (
            isinstance(self.hang_timeout_s, (int, float)) and 0 < self.hang_timeout_s < float("inf")
        ):
            raise SpecError("hang_timeout_s", f"must be a number of seconds > 0, got {self.hang_timeout_s!r}")
        if (
            not isinstance(self.telemetry_interval_s, (int, float))
            or isinstance(self.telemetry_interval_s, bool)
            or not 0 <= self.telemetry_interval_s < float("inf")
        ):
            raise SpecError(
                "telemetry_interval_s", f"must be a number of seconds >= 0 (0: off), got {self.telemetry_interval_s!r}"
            )

    @property
    def world_size(self) -> int:
        """Total number of ranks."""
        return self.distribution.world_size

    def config_folders(self) -> list[str]:
        """Where an ``mltrain.toml`` counts for this run: its source folder, then the folder it was submitted from."""
        submitted = self.origin.get("cwd")
        return [self.source] + ([str(submitted)] if submitted and str(submitted) != self.source else [])

    def with_changes(self, **changes: Any) -> RunSpec:
        """A copy with some fields replaced (validated again)."""
        return replace(self, **changes)

    def to_dict(self, *, include_secrets: bool = False) -> dict[str, Any]:
        """A JSON-ready dict; secret variable values are replaced unless asked for."""
        data = asdict(self)
        env = data["environment"]
        env["variables"] = dict(self.environment.variables) if include_secrets else self.environment.public_variables()
        env["secret_names"] = sorted(self.environment.secret_names)
        env["secret_patterns"] = list(self.environment.secret_patterns)
        dist = data["distribution"]
        dist["gpus"] = list(self.distribution.gpus) if self.distribution.gpus is not None else None
        data["args"] = list(self.args)
        data["inputs"] = dict(self.inputs)
        data["params"] = dict(self.params)
        data["origin"] = dict(self.origin)
        data["snapshot"]["ignore"] = list(self.snapshot.ignore)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RunSpec:
        """Rebuild a spec from ``to_dict()`` output (secret values are whatever the dict holds)."""
        data = dict(data)
        dist = dict(data.pop("distribution", {}) or {})
        if dist.get("gpus") is not None:
            dist["gpus"] = tuple(dist["gpus"])
        env = dict(data.pop("environment", {}) or {})
        env["secret_names"] = frozenset(env.get("secret_names", ()))
        env["secret_patterns"] = tuple(env.get("secret_patterns", DEFAULT_SECRET_PATTERNS))
        snap = dict(data.pop("snapshot", {}) or {})
        snap["ignore"] = tuple(snap.get("ignore", ()))
        known = {f for f in cls.__dataclass_fields__}
        unknown = set(data) - known
        if unknown:
            raise SpecError(sorted(unknown)[0], "unknown field")
        data["args"] = tuple(data.get("args", ()))
        return cls(
            distribution=Distribution(**dist),
            environment=Environment(**env),
            snapshot=SnapshotOptions(**snap),
            **data,
        )


def _positive(name: str, value: Any) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise SpecError(name, f"must be an integer >= 1, got {value!r}")


def parse_assignments(items: list[str] | tuple[str, ...], what: str) -> dict[str, str]:
    """Parse ``["K=V", ...]`` (from --env, --input, --param) into a dict, naming a bad item."""
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise SpecError(what, f"expected NAME=VALUE, got {item!r}")
        out[key] = value
    return out


def parse_param_value(text: str) -> Any:
    """A ``--param`` value: a Python literal (``0.1``, ``[1, 2]``, ``'x'``, ``True``) when it is one, else the text."""
    import ast

    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, MemoryError, RecursionError, TypeError):
        return text
