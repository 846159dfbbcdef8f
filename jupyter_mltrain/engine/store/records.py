"""What the index knows of a run: its record, its status and the files written atomically."""

from __future__ import annotations

import enum
import json
import os
import secrets
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from jupyter_mltrain.engine.spec import Mode

HEARTBEAT_S = 2.0
STALE_HEARTBEAT_S = 30.0
BEHIND_FILE = "index-behind"


class Status(enum.StrEnum):
    """The lifecycle of a run."""

    QUEUED = "Queued"
    PREPARING = "Preparing"
    RUNNING = "Running"
    FINALIZING = "Finalizing"
    COMPLETED = "Completed"
    FAILED = "Failed"
    CANCELED = "Canceled"
    PRUNED = "Pruned"  # stopped early by its sweep's pruner: a canceled run that is not a failure
    LOST = "Lost"

    @property
    def final(self) -> bool:
        """Whether the run has ended."""
        return self in FINAL_STATUSES


FINAL_STATUSES = frozenset({Status.COMPLETED, Status.FAILED, Status.CANCELED, Status.PRUNED, Status.LOST})


def default_home() -> Path:
    """``$MLTRAIN_HOME``, else Jupyter's data dir + ``/mltrain``."""
    if os.environ.get("MLTRAIN_HOME"):
        return Path(os.environ["MLTRAIN_HOME"]).expanduser()
    from jupyter_core.paths import jupyter_data_dir

    return Path(jupyter_data_dir()) / "mltrain"


def format_duration(seconds: float | None) -> str:
    """``m:ss`` or ``h:mm:ss`` (``-`` for none), as every face shows durations."""
    if seconds is None:
        return "-"
    m, s = divmod(int(seconds), 60)
    h, m = divmod(m, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def new_run_id() -> str:
    """A sortable, unique run id: ``YYYYMMDD-HHMMSS-xxxxxx``."""
    return time.strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(3)


@dataclass
class RootCause:
    """Why a run ended badly: the first failure, as torchrun's ``ProcessFailure`` records it.

    Kept as JSON in the index and ``status.json``; ``to_dict`` leaves out what is unset.
    """

    message: str
    time: float
    rank: int | None = None
    host: str | None = None
    exit_code: int | None = None
    signal: int | None = None
    traceback: str | None = None
    error: str | None = None  # the exception the traceback ends with: ``ValueError: bad shape``
    hint: str | None = None  # which flag fixes it, when the error is a known disagreement of program and flags
    stderr_tail: str | None = None
    hang: bool = False
    hang_timeout_s: float | None = None
    process_state: str | None = None
    stacks: str | None = None
    disk_full: bool = False
    dropped_bytes: int | None = None
    launcher_log: str | None = None
    ranks_said: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of the fields that are set (what readers and the panel see)."""
        return {k: v for k, v in asdict(self).items() if v is not None and v is not False}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RootCause:
        """Read back ``to_dict()`` output; unknown keys (from a newer version) are ignored."""
        known = cls.__dataclass_fields__
        values = {k: v for k, v in data.items() if k in known}
        values.setdefault("message", "")
        values.setdefault("time", 0.0)
        return cls(**values)


@dataclass
class RunRecord:
    """What the index knows about one run."""

    id: str
    experiment: str
    name: str
    status: Status
    created: float
    target: str = "local"
    mode: Mode = "none"
    ranks: int = 1
    stages: dict[str, float] = field(default_factory=dict)
    exit_codes: list[int | None] = field(default_factory=list)
    root_cause: RootCause | None = None
    metrics: dict[str, dict[str, Any]] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)
    supervisor_pid: int | None = None
    supervisor_host: str | None = None
    heartbeat: float | None = None
    ended: float | None = None
    run_dir: str = ""
    attempt: int = 1  # which attempt runs (or ran last): 2… after a restart (--max-restarts)
    # the attempts before it: {"attempt", "started", "ended", "root_cause"}, oldest first
    attempts: list[dict[str, Any]] = field(default_factory=list)
    # ranks that fell behind the others: {"rank", "host", "ratio", "since", "until"} (engine/supervisor/stragglers.py)
    stragglers: list[dict[str, Any]] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)  # set by people (Run.tags, `mltrain tag`, PATCH runs/{id})
    note: str = ""
    parent: str = ""  # the run that started this one: a sweep's driver, for its trials

    def __post_init__(self) -> None:
        self.status = Status(self.status)
        if isinstance(self.root_cause, dict):  # read back from JSON
            self.root_cause = RootCause.from_dict(self.root_cause)

    @property
    def final(self) -> bool:
        """Whether the run has ended."""
        return self.status.final

    @property
    def duration(self) -> float | None:
        """Seconds from Running (else creation) to the end, or to now while it runs."""
        start = self.stages.get(Status.RUNNING.value, self.created)
        end = self.ended if self.ended is not None else (None if self.final else time.time())
        return None if end is None else max(0.0, end - start)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (the CLI's ``--json`` record)."""
        data = asdict(self)
        data["root_cause"] = self.root_cause.to_dict() if self.root_cause is not None else None
        data["duration"] = self.duration
        return data


def write_json_atomic(path: Path, data: Any) -> None:
    """Replace ``path`` with ``data`` as JSON so that no reader sees half a file."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}-{threading.get_ident()}.tmp")
    with open(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as fh:
        json.dump(data, fh, indent=1, default=str)
    os.replace(tmp, path)


def record_from_dict(data: dict[str, Any]) -> RunRecord:
    """A RunRecord from ``to_dict()`` output (a run folder's ``status.json``)."""
    known = RunRecord.__dataclass_fields__
    return RunRecord(**{k: v for k, v in data.items() if k in known})
