"""The Python API: submit runs and read them back (the model is Azure ML's Experiment and Run).

from jupyter_mltrain import Experiment, RunSpec, Distribution
run = Experiment("digits").submit(RunSpec(entry="train.py", source=".",
                                          distribution=Distribution(mode="torch", processes_per_node=2)))
run.wait(show_output=True)
run.metrics()
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shlex
import shutil
import signal
import socket
import sys
import time
import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from jupyter_mltrain.engine.plan import make_plan
from jupyter_mltrain.engine.snapshot import ObjectStore, make_private_dirs, select_files, take_snapshot
from jupyter_mltrain.engine.spec import SECRET_PLACEHOLDER, RunSpec
from jupyter_mltrain.engine.starting import start_in_new_interpreter
from jupyter_mltrain.engine.store import (
    Labels,
    RunFolder,
    RunRecord,
    Status,
    Store,
    new_run_id,
    write_json_atomic,
)
from jupyter_mltrain.engine.targets import Target, resolve_target
from jupyter_mltrain.hostside.errors import (
    LaunchError,
    LaunchWarning,
    MLTrainError,
    RunFailed,
    SnapshotError,
    SpecError,
    TargetError,
)
from jupyter_mltrain.hostside.procs import process_alive
from jupyter_mltrain.models import Model, Registry
from jupyter_mltrain.models.from_run import register_run_model


def _check(spec: RunSpec, files: Mapping[str, bytes]) -> tuple[Target, Path]:
    target = resolve_target(spec.target, cwd=spec.config_folders())
    source = Path(spec.source)
    if not source.is_dir():
        raise SnapshotError(f"source folder {str(source)!r} does not exist or is not a folder")
    if not os.access(source, os.R_OK | os.X_OK):
        raise SnapshotError(f"source folder {str(source)!r} is not readable")
    if spec.entry not in files and not (source / spec.entry).is_file():
        raise SpecError("entry", f"entry script {spec.entry!r} not found in {str(source)!r}")
    for name, path in spec.inputs.items():
        if not Path(path).expanduser().exists():
            raise SpecError(f"inputs.{name}", f"{path!r} does not exist")
    for rel in files:
        if not rel or rel.startswith("/") or ".." in Path(rel).parts:
            raise SpecError("files", f"generated file {rel!r} must be a relative path inside the snapshot")
    return target, source


def _check_hosts(target: Target, layout: Mapping[str, Any] | None) -> None:
    """An ssh target's hosts must answer before anything is created (≤ 10 s, all at once)."""
    if layout is None:
        return
    from jupyter_mltrain.engine.ssh import SSHConnection, check_target

    hosts = [h for h in check_target(SSHConnection.from_target(target)) if h.host in layout["nodes"]]
    down = [f"{h.host}: {h.message}" for h in hosts if not h.reachable]
    if down:
        raise TargetError(f"target {target.name!r}: host(s) not reachable, nothing launched — {'; '.join(down)}")


def _generated_ignore(files: Mapping[str, bytes]) -> tuple[str, ...]:
    return tuple("/" + rel for rel in files)


def submit(
    spec: RunSpec,
    store: Store | None = None,
    *,
    files: Mapping[str, bytes] | None = None,
    starter: Callable[[Path, Mapping[str, str]], int] | None = None,
    parent: str = "",
) -> Run:
    """Package ``spec``'s code into a new run and start its supervisor; return the Run.

    ``files`` are generated files (e.g. the script made from a notebook cell) added to the
    snapshot under their relative paths, replacing any file of the folder with the same path.
    ``starter(run_dir, env) -> pid`` starts the supervisor (a ``ForkServer``'s, for a sweep's trials); by
    default a fresh interpreter. ``parent`` is the run that starts this one (a sweep's driver). Every check
    happens before anything is created: an error leaves no run behind.
    """
    store = store or Store()
    files = dict(files or {})
    target, source = _check(spec, files)
    run_id = new_run_id()
    plan = make_plan(spec, target, run_id, store.run_dir(run_id))  # fails early on anything the plan rejects
    for message in plan.warnings:
        warnings.warn(f"mltrain: {message}", LaunchWarning, stacklevel=2)
    _check_hosts(target, plan.launcher_options.get("ssh"))
    now = time.time()
    record = RunRecord(
        id=run_id,
        experiment=spec.experiment,
        name=spec.name or f"{Path(spec.entry).stem}-{run_id[-6:]}",
        status=Status.QUEUED,
        created=now,
        target=spec.target,
        mode=spec.distribution.mode,
        ranks=spec.world_size,
        stages={Status.QUEUED.value: now},
        params=dict(spec.params),
        parent=parent,
    )

    left_out: list[str] = []

    def prepare(folder: Path) -> None:
        report = take_snapshot(
            source,
            folder / "snapshot",
            ObjectStore(store.home / "objects"),
            extra_ignore=spec.snapshot.ignore + _store_inside(source, store.home) + _generated_ignore(files),
            size_limit_mb=spec.snapshot.size_limit_mb,
        )
        for rel, data in files.items():
            path = folder / "snapshot" / rel
            make_private_dirs(folder / "snapshot", str(Path(rel).parent))
            if path.exists():
                path.unlink()  # a hard link into the object store: never write through it
            with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as fh:
                fh.write(data)
            report.manifest[rel] = [len(data), hashlib.sha256(data).hexdigest()]
        left_out.extend(report.secrets_left_out)
        write_json_atomic(folder / "spec.json", spec.to_dict())
        write_json_atomic(folder / "manifest.json", report.manifest)

    store.create(record, prepare)
    if left_out:
        warnings.warn(f"mltrain: {secrets_warning(left_out)}", LaunchWarning, stacklevel=2)
    run_dir = store.run_dir(run_id)
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLTRAIN_SECRET_")}
    env["MLTRAIN_RUN_ID"] = run_id
    env["MLTRAIN_HOME"] = str(store.home)
    for key, value in spec.environment.secret_variables().items():
        env["MLTRAIN_SECRET_" + key] = value
    try:
        pid = (starter or start_in_new_interpreter)(run_dir, env)
    except OSError as exc:
        store.delete(run_id)
        raise LaunchError(f"could not start the supervisor for run {run_id}: {exc}") from None
    # The supervisor records itself too; writing here closes the gap before it starts.
    store.update(run_id, supervisor_pid=pid, supervisor_host=socket.gethostname())
    return Run(run_id, store)


@dataclass
class Preflight:
    """What a submit would do, without doing it (``--dry-run``)."""

    spec: RunSpec
    files: list[tuple[str, int]]
    total_bytes: int
    generated: list[tuple[str, int]]
    plan: dict[str, Any]
    warnings: list[str]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "spec": self.spec.to_dict(),
            "files": [{"path": p, "size": n} for p, n in self.files],
            "generated": [{"path": p, "size": n} for p, n in self.generated],
            "total_bytes": self.total_bytes,
            "plan": self.plan,
            "warnings": self.warnings,
        }

    def report(self, max_files: int = 200) -> str:
        """The pre-flight report as text: files with sizes, command line and environment of each rank."""
        plan = self.plan
        lines = [
            f"Dry run: nothing was launched. Target {self.spec.target!r}, mode {plan['mode']}, "
            f"{plan['world_size']} rank(s), launcher {plan['launcher']}.",
            "",
            f"Files to package ({len(self.files) + len(self.generated)} files, "
            f"{_size(self.total_bytes)} after ignore rules):",
        ]
        for rel, size in self.generated:
            lines.append(f"  {_size(size):>10}  {rel}  (generated)")
        for rel, size in self.files[:max_files]:
            lines.append(f"  {_size(size):>10}  {rel}")
        if len(self.files) > max_files:
            lines.append(f"  … and {len(self.files) - max_files} more")
        lines += ["", "Command (run in the snapshot folder): " + " ".join(shlex.quote(a) for a in plan["program"])]
        lines.append("Environment of every rank:")
        lines += [f"  {k}={v}" for k, v in sorted(plan["env"].items())]
        for rank, (role, env) in enumerate(zip(plan["roles"], plan["rank_env"], strict=False)):
            extra = (
                " ".join(f"{k}={v}" for k, v in sorted(env.items()))
                or "(set by the launcher at start: RANK, LOCAL_RANK from MPI)"
            )
            lines.append(f"Rank {rank} ({role}): {extra}")
        for message in self.warnings:
            lines.append(f"Warning: {message}")
        return "\n".join(lines)


def preflight(spec: RunSpec, store: Store | None = None, *, files: Mapping[str, bytes] | None = None) -> Preflight:
    """Every check of ``submit`` and the plan it would launch; creates nothing, starts nothing."""
    store = store or Store()
    files = dict(files or {})
    target, source = _check(spec, files)
    run_id = "dry-run"
    plan = make_plan(spec, target, run_id, store.run_dir(run_id))
    left_out: list[str] = []
    entries = select_files(
        source, spec.snapshot.ignore + _store_inside(source, store.home) + _generated_ignore(files), left_out
    )
    listed = [(e.rel, e.size) for e in entries]
    total = sum(n for _, n in listed) + sum(len(d) for d in files.values())
    if total > spec.snapshot.size_limit_mb * 1024 * 1024:
        raise SnapshotError(
            f"the snapshot would be {total / 1e6:.1f} MB, over the {spec.snapshot.size_limit_mb:g} MB limit; "
            "add large files to .mltrainignore or pass them as --input"
        )
    notes = list(plan.warnings) + ([secrets_warning(left_out)] if left_out else [])
    return Preflight(spec, listed, total, [(rel, len(d)) for rel, d in files.items()], plan.public(), notes)


def secrets_warning(paths: list[str]) -> str:
    """The warning naming files left out of a snapshot because they look like secrets."""
    shown = ", ".join(paths[:10]) + (f" and {len(paths) - 10} more" if len(paths) > 10 else "")
    return (
        f"left out of the snapshot because they look like secrets: {shown}. "
        "To package one anyway, add `!NAME` to .mltrainignore"
    )


def _size(n: float) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} GB"


def _store_inside(source: Path, home: Path) -> tuple[str, ...]:
    """An ignore rule for the store itself when it lies inside the folder being packaged."""
    try:
        rel = home.resolve().relative_to(source.resolve())
    except ValueError:
        return ()
    return (f"/{rel.as_posix()}/",) if str(rel) != "." else ()


class Run(Labels):
    """One run: its status, logs, metrics and outputs, live or finished; its ``tags`` and ``note`` (``Labels``)."""

    def __init__(self, run_id: str, store: Store | None = None) -> None:
        self.store = store or Store()
        self.id = run_id
        self.folder = RunFolder(self.store.run_dir(run_id))
        self.store.get(run_id)  # raises RunNotFound for an unknown id

    @classmethod
    def get(cls, run_id: str, store: Store | None = None) -> Run:
        """The run with id ``run_id``."""
        return cls(run_id, store)

    def __repr__(self) -> str:
        rec = self.record
        return f"Run(id={rec.id!r}, name={rec.name!r}, status={rec.status!r})"

    @property
    def record(self) -> RunRecord:
        """The run's current index record."""
        return self.store.get(self.id)

    @property
    def status(self) -> str:
        """The current status (``Queued`` … ``Completed``)."""
        return self.record.status

    def spec(self) -> RunSpec:
        """The spec the run was submitted with (secret values replaced)."""
        return RunSpec.from_dict(self.folder.spec_dict())

    def wait(
        self,
        show_output: bool | str = False,
        timeout: float | None = None,
        raise_on_error: bool = True,
        stream: TextIO | None = None,
        poll_s: float = 0.1,
    ) -> RunRecord:
        """Block until the run ends; with ``show_output`` stream rank 0's log (``"all"``: every rank).

        Raises ``RunFailed`` if the run did not complete (unless ``raise_on_error=False``),
        and ``TimeoutError`` after ``timeout`` seconds.
        """
        out = stream or sys.stdout
        deadline = None if timeout is None else time.monotonic() + timeout
        offsets: dict[int, int] = {}
        world = self.record.ranks
        ranks = list(range(world)) if show_output == "all" else [0]
        while True:
            record = self.record
            if show_output:
                for rank in ranks:
                    while True:
                        data, offsets[rank] = self.folder.read_log(rank, offsets.get(rank, 0))
                        if not data:
                            break
                        text = data.decode("utf-8", "replace")
                        if len(ranks) > 1:
                            text = "".join(f"[rank {rank}] {line}\n" for line in text.splitlines())
                        out.write(text)
                out.flush()
            if record.final:
                break
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"run {self.id} still {record.status} after {timeout} s")
            time.sleep(poll_s)
        if show_output:
            out.write(
                f"\nrun {record.id} {record.status}"
                + (f": {record.root_cause.message}" if record.root_cause else "")
                + "\n"
            )
            out.flush()
        if raise_on_error and record.status != Status.COMPLETED.value:
            message = f"run {record.id} {record.status}"
            if record.root_cause:
                message += f": {record.root_cause.message}"
                if record.root_cause.traceback:
                    message += "\n" + record.root_cause.traceback
            raise RunFailed(message, record)
        return record

    def logs(self, rank: int | None = None, follow: bool = False) -> str | Iterator[str]:
        """The log of ``rank`` (default 0) as text; with ``follow``, an iterator of new text until the end."""
        r = 0 if rank is None else rank
        ranks = self.record.ranks
        if not 0 <= r < ranks:
            raise MLTrainError(f"run {self.id} has {ranks} rank(s), 0 to {ranks - 1}; there is no rank {r}")
        if follow:
            return (data.decode("utf-8", "replace") for data in self.folder.follow_log(r, lambda: self.record.final))
        chunks = []
        offset = 0
        while True:
            data, offset = self.folder.read_log(r, offset)
            if not data:
                break
            chunks.append(data)
        return b"".join(chunks).decode("utf-8", "replace")

    def metrics(self, every_attempt: bool = False) -> list[dict[str, Any]]:
        """Every logged value: ``{"rank", "name", "value", "step", "time"}`` (and ``attempt`` after a restart).

        After restarts, a step's value from the latest attempt that logged it replaces the earlier ones;
        ``every_attempt=True`` keeps them all.
        """
        return self.folder.all_metrics(every_attempt)

    def cancel(self, by: str = "api", status: Status = Status.CANCELED) -> bool:
        """Ask the supervisor to stop every rank; False if the run had already ended.

        ``status``: the final status, Canceled, or Pruned for a sweep's trial stopped by its pruner.
        """
        record = self.record
        if record.final:
            return False
        if status not in (Status.CANCELED, Status.PRUNED):
            raise ValueError(f"a canceled run ends Canceled or Pruned, not {status}")
        write_json_atomic(self.folder.path / "cancel.json", {"by": by, "time": time.time(), "status": str(status)})
        if record.supervisor_host == socket.gethostname() and process_alive(record.supervisor_pid, self.id):
            assert record.supervisor_pid is not None
            os.kill(record.supervisor_pid, signal.SIGTERM)
            return True
        self.store.get(self.id)  # a dead supervisor: the reader marks the run Lost
        return False

    def rerun(self) -> tuple[Run, list[str]]:
        """Submit this run again: the same code (its snapshot) and spec; return it and what could not be kept."""
        spec = self.spec()
        kept = {k: v for k, v in spec.environment.variables.items() if v != SECRET_PLACEHOLDER}
        lost = sorted(set(spec.environment.variables) - set(kept))
        notes = [f"secret variable {k} was not stored with the run: set it again for the rerun" for k in lost]
        spec = spec.with_changes(
            source=str(self.folder.path / "snapshot"),
            environment=dataclasses.replace(
                spec.environment, variables=kept, secret_names=spec.environment.secret_names - set(lost)
            ),
            origin={**spec.origin, "rerun_of": self.id},
        )
        return submit(spec, self.store), notes

    def widget(self) -> Any:
        """The live widget of this run (``display(run)`` shows it too).

        The widget is a face on top of this module, found by name (entry point group
        ``jupyter_mltrain.viewers``, name ``widget``) as launchers are, so the API never imports it.
        """
        from importlib.metadata import entry_points

        found = entry_points(group="jupyter_mltrain.viewers", name="widget")
        if not found:
            raise MLTrainError(
                "no run widget is installed (entry point 'jupyter_mltrain.viewers: widget'); reinstall jupyter_mltrain"
            )
        viewer = next(iter(found)).load()
        return viewer(self)

    def _ipython_display_(self) -> None:
        widget = self.widget()
        widget.show()
        widget.start()

    def register_model(
        self,
        name: str,
        path: str = "outputs/model",
        framework: str | None = None,
        framework_version: str | None = None,
        tags: Mapping[str, str] | None = None,
        description: str = "",
        alias: str | None = None,
    ) -> Model:
        """Register the run's ``path`` (a file or folder of the run) as the next version of model ``name``.

        The version keeps where it came from: this run, its spec, params, final metrics, the digest of
        its snapshot and its ``env.json``; the framework (and its version) is found when not given.
        """
        return register_run_model(
            Registry(self.store.home),
            self.record,
            self.folder,
            name,
            path,
            framework=framework,
            framework_version=framework_version,
            tags=dict(tags or {}),
            description=description,
            alias=alias,
        )

    def download(self, path: str = "outputs", to: str | os.PathLike[str] = ".") -> Path:
        """Copy a file or folder of the run (e.g. ``outputs/model.pt``) to ``to``; return where it went."""
        src = self.folder.resolve(path)
        dest = Path(to)
        if dest.is_dir():
            dest = dest / src.name
        if src.is_dir():
            shutil.copytree(src, dest, dirs_exist_ok=True)
        else:
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest)
        return dest


class Experiment:
    """A named group of runs."""

    def __init__(self, name: str = "default", store: Store | None = None) -> None:
        self.name = name
        self.store = store or Store()

    def submit(self, spec: RunSpec) -> Run:
        """Submit ``spec`` under this experiment."""
        if spec.experiment != self.name:
            spec = spec.with_changes(experiment=self.name)
        return submit(spec, self.store)

    def runs(self) -> list[Run]:
        """This experiment's runs, newest first."""
        return [Run(r.id, self.store) for r in self.store.list(experiment=self.name)]


def record_json(record: RunRecord) -> str:
    """One run record as a JSON line (what ``--json`` prints)."""
    return json.dumps(record.to_dict())
