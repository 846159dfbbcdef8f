"""REST handlers of ``/mltrain/api/``: runs, logs, metrics, files, targets.

Every method is authenticated and authorized against the resource ``mltrain`` (reading is
``read``, cancel and tagging are ``write``, submitting starts processes so it is ``execute``); POST, PATCH and
DELETE go through jupyter_server's XSRF check. Errors are JSON ``{"message", "field"?}``.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import mimetypes
import os
import shlex
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any, TypeVar, cast

import nbformat
from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler
from jupyter_server.extension.handler import ExtensionHandlerMixin
from tornado import web

from jupyter_mltrain.api import Run, preflight, submit
from jupyter_mltrain.engine.capture import notebook_script, train_line
from jupyter_mltrain.engine.store import RunRecord, Status, Store, label_fields
from jupyter_mltrain.engine.targets import load_targets
from jupyter_mltrain.hostside.errors import MLTrainError, RunNotFound, SpecError
from jupyter_mltrain.options import add_run_options, parse_params, spec_from_options
from jupyter_mltrain.sweeps.trials import memberships

AUTH_RESOURCE = "mltrain"
ENTRY = "main.py"
T = TypeVar("T")


class MLTrainHandler(ExtensionHandlerMixin, APIHandler):
    """Common parts: the store, JSON replies and errors, blocking work off the event loop."""

    auth_resource = AUTH_RESOURCE

    @property
    def store(self) -> Store:
        """The store the extension serves."""
        return cast(Store, self.settings["mltrain_app"].store)

    def reply(self, data: Any, status: int = 200) -> None:
        """Finish with ``data`` as JSON."""
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(data, default=str))

    def fail(self, status: int, message: str, field: str | None = None) -> None:
        """Finish with an error body naming the field, when there is one."""
        body: dict[str, Any] = {"message": message}
        if field:
            body["field"] = field
        self.reply(body, status)

    async def blocking(self, func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run ``func`` in a worker thread (snapshots, SQLite, file reads)."""
        return await asyncio.get_running_loop().run_in_executor(None, partial(func, *args, **kwargs))

    def run_of(self, run_id: str) -> Run:
        """The run, or a 404 naming the id."""
        try:
            return Run(run_id, self.store)
        except RunNotFound:
            raise web.HTTPError(404, f"no run {run_id!r}") from None

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        """Errors as ``{"message": …}`` (HTTPError's log message, else the reason)."""
        exc = kwargs.get("exc_info", (None, None, None))[1]
        message = getattr(exc, "log_message", None) or self._reason
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps({"message": message}))

    def json_body(self) -> dict[str, Any]:
        """The request body as a JSON object, or a 400."""
        try:
            body = json.loads(self.request.body or b"{}")
        except ValueError as exc:
            raise web.HTTPError(400, f"the body is not JSON: {exc}") from None
        if not isinstance(body, dict):
            raise web.HTTPError(400, "the body must be a JSON object")
        return body

    def int_arg(self, name: str, default: int, minimum: int = 0, maximum: int | None = None) -> int:
        """An integer query argument, or a 400 naming it."""
        raw = self.get_argument(name, None)
        if raw is None:
            return default
        try:
            value = int(raw)
        except ValueError:
            raise web.HTTPError(400, f"{name}: expected an integer, got {raw!r}") from None
        if value < minimum or (maximum is not None and value > maximum):
            raise web.HTTPError(400, f"{name}: must be between {minimum} and {maximum}, got {value}")
        return value


# ---- submitting ------------------------------------------------------------------------

_BODY_FIELDS: dict[str, tuple[type | tuple[type, ...], str]] = {
    "target": (str, "target"),
    "np": (int, "np"),
    "nodes": (int, "nodes"),
    "mode": (str, "mode"),
    "workers": (int, "workers"),
    "ps": (int, "ps"),
    "name": (str, "name"),
    "experiment": (str, "experiment"),
    "hang_timeout": ((int, float), "hang_timeout"),
    "grace": ((int, float), "grace"),
    "max_restarts": (int, "max_restarts"),
}


def _options(body: dict[str, Any]) -> argparse.Namespace:
    """The body's run options on top of the same defaults the magic and the CLI use."""
    parser = argparse.ArgumentParser(add_help=False)
    add_run_options(parser)
    options = parser.parse_args([])
    for key, (kind, attr) in _BODY_FIELDS.items():
        value = body.get(key)
        if value is None:
            continue
        if not isinstance(value, kind) or isinstance(value, bool):
            kinds = kind if isinstance(kind, tuple) else (kind,)
            raise SpecError(key, f"expected {' or '.join(k.__name__ for k in kinds)}, got {value!r}")
        setattr(options, attr, value)
    params = body.get("params") or {}
    env = body.get("env") or {}
    if not isinstance(params, dict):
        raise SpecError("params", "expected an object of name: value")
    if not isinstance(env, dict) or not all(isinstance(v, str) for v in env.values()):
        raise SpecError("env", 'expected an object of NAME: "value" strings')
    options.param = [f"{k}={json.dumps(v) if not isinstance(v, str) else v}" for k, v in params.items()]
    options.env = [f"{k}={v}" for k, v in env.items()]
    return options


def notebook_options(notebook: Any) -> dict[str, Any] | None:
    """The run options of the notebook's ``%%train`` line, as a POST runs body names them (the form starts there)."""
    line = train_line(notebook)
    if line is None:
        return None
    parser = argparse.ArgumentParser(add_help=False, exit_on_error=False)
    add_run_options(parser)
    try:
        options, _ = parser.parse_known_args(shlex.split(line))
        params = parse_params(options.param)
    except (argparse.ArgumentError, ValueError, SystemExit):
        return None  # a line the magic itself would refuse: the form keeps its defaults
    out: dict[str, Any] = {key: getattr(options, attr) for key, (_, attr) in _BODY_FIELDS.items()}
    out["params"] = params
    return {k: v for k, v in out.items() if v is not None}


class _Submission:
    """A POST runs body resolved against the server's root folder."""

    def __init__(self, body: dict[str, Any], root: Path) -> None:
        kind = body.get("kind")
        if kind not in ("notebook", "script"):
            raise SpecError("kind", f"expected 'notebook' or 'script', got {kind!r}")
        rel = body.get("path")
        if not isinstance(rel, str) or not rel or rel.startswith(("/", "\\")) or "\0" in rel or ".." in Path(rel).parts:
            raise SpecError("path", f"expected a path relative to the server's root, got {rel!r}")
        path = (root / rel).resolve()
        if root.resolve() not in path.parents:
            raise SpecError("path", f"{rel!r} leads outside the server's root")
        self.options = _options(body)
        self.notebook_options: dict[str, Any] | None = None
        self.warnings: list[str] = []
        self.files: dict[str, bytes] = {}
        args: tuple[str, ...] = ()
        if kind == "notebook":
            content = body.get("content")
            if content is None:
                try:  # nbformat upgrades older notebook formats to v4
                    content = nbformat.read(path, as_version=4)
                except (OSError, ValueError, nbformat.ValidationError) as exc:
                    raise SpecError("path", f"cannot read notebook {rel!r}: {exc}") from None
            self.notebook_options = notebook_options(content)
            script, self.warnings = notebook_script(content, f"notebook {rel}", parse_params(self.options.param))
            self.files = {ENTRY: script.encode()}
            entry, origin = ENTRY, {"kind": "notebook", "notebook": str(path)}
        else:
            if not path.is_file():
                raise SpecError("path", f"no script {rel!r}")
            raw_args = body.get("args") or []
            if not isinstance(raw_args, list) or not all(isinstance(a, str) for a in raw_args):
                raise SpecError("args", "expected a list of strings")
            entry, args, origin = path.name, tuple(raw_args), {"kind": "script", "script": str(path)}
        self.spec = spec_from_options(self.options, entry=entry, source=str(path.parent), args=args, origin=origin)


class RunsHandler(MLTrainHandler):
    """``GET runs`` (newest first, filtered, paged) and ``POST runs`` (submit)."""

    @web.authenticated
    @authorized("read")
    async def get(self) -> None:
        limit = self.int_arg("limit", 50, 1, self.settings["mltrain_app"].list_limit)
        offset = self.int_arg("offset", 0)
        filters = {
            "experiment": self.get_argument("experiment", None),
            "status": self.get_argument("status", None),
            "query": self.get_argument("q", None),
        }
        if filters["status"] is not None and filters["status"] not in {s.value for s in Status}:
            return self.fail(400, f"unknown status {filters['status']!r}", "status")
        records = await self.blocking(self.store.list, limit=limit, offset=offset, **filters)
        total = await self.blocking(self.store.count, **filters)
        members = await self.blocking(memberships, self.store.home)  # a sweep's driver and trials say so
        self.reply(
            {
                "runs": [{**r.to_dict(), "sweep": members.get(r.id)} for r in records],
                "total": total,
                "offset": offset,
                "limit": limit,
                "index_error": self.store.index_error,
            }
        )

    @web.authenticated
    @authorized("execute")
    async def post(self) -> None:
        try:
            submission = _Submission(self.json_body(), Path(self.serverapp.root_dir))
            run = await self.blocking(submit, submission.spec, self.store, files=submission.files)
        except SpecError as exc:
            return self.fail(400, str(exc), exc.field)
        except MLTrainError as exc:
            return self.fail(400, str(exc))
        self.reply({"run": run.record.to_dict(), "warnings": submission.warnings}, 201)


class PreviewHandler(MLTrainHandler):
    """``POST runs/preview``: what a submit would package and launch; launches nothing."""

    @web.authenticated
    @authorized("read")
    async def post(self) -> None:
        try:
            submission = _Submission(self.json_body(), Path(self.serverapp.root_dir))
            check = await self.blocking(preflight, submission.spec, self.store, files=submission.files)
        except SpecError as exc:
            return self.fail(400, str(exc), exc.field)
        except MLTrainError as exc:
            return self.fail(400, str(exc))
        data = check.to_dict()
        script = submission.files.get(ENTRY, b"").decode()
        self.reply(
            {
                "script": script,
                "warnings": submission.warnings + data["warnings"],
                "files": data["generated"] + data["files"],
                "plan": data["plan"],
                # the notebook's own %%train line, as body fields: the form starts from it
                "notebook_options": submission.notebook_options,
            }
        )


class RunHandler(MLTrainHandler):
    """``GET runs/{id}`` (record and spec), ``PATCH runs/{id}`` (``{"tags"?, "note"?}``: the run's tags and
    note, replaced; returns the record) and ``DELETE runs/{id}`` (cancel)."""

    @web.authenticated
    @authorized("read")
    async def get(self, run_id: str) -> None:
        run = self.run_of(run_id)
        record: RunRecord = await self.blocking(lambda: run.record)
        self.reply({"run": record.to_dict(), "spec": run.folder.spec_dict()})

    @web.authenticated
    @authorized("write")
    async def patch(self, run_id: str) -> None:
        run = self.run_of(run_id)
        body = self.json_body()
        unknown = sorted(set(body) - {"tags", "note"})
        if unknown:
            return self.fail(400, f"unknown field {unknown[0]!r}: a PATCH sets only tags and note", unknown[0])
        try:
            fields = label_fields(tags=body.get("tags"), note=body.get("note"))
            record: RunRecord = await self.blocking(self.store.update, run.id, **fields) if fields else run.record
        except SpecError as exc:
            return self.fail(400, str(exc), exc.field)
        self.reply({"run": record.to_dict()})

    @web.authenticated
    @authorized("write")
    async def delete(self, run_id: str) -> None:
        run = self.run_of(run_id)
        canceled = await self.blocking(run.cancel, by="the JupyterLab panel")
        self.reply({"canceled": canceled, "run": run.record.to_dict()})


class RerunHandler(MLTrainHandler):
    """``POST runs/{id}/rerun``: the same snapshot and spec as a new run."""

    @web.authenticated
    @authorized("execute")
    async def post(self, run_id: str) -> None:
        run = self.run_of(run_id)
        try:
            new, notes = await self.blocking(run.rerun)
        except MLTrainError as exc:
            return self.fail(400, str(exc))
        self.reply({"run": new.record.to_dict(), "warnings": notes}, 201)


class LogsHandler(MLTrainHandler):
    """``GET runs/{id}/logs?rank=&offset=``: log text from a byte offset, and where to continue."""

    @web.authenticated
    @authorized("read")
    async def get(self, run_id: str) -> None:
        run = self.run_of(run_id)
        rank = self.int_arg("rank", 0, 0, max(0, run.record.ranks - 1))
        offset = self.int_arg("offset", 0)
        chunk = self.settings["mltrain_app"].log_chunk_bytes
        data, nxt = await self.blocking(run.folder.read_log, rank, offset, chunk)
        self.reply({"rank": rank, "offset": offset, "next": nxt, "data": data.decode("utf-8", "replace")})


class MetricsHandler(MLTrainHandler):
    """``GET runs/{id}/metrics``: every value of every rank; with ``?rank=&offset=``, one rank's
    records from a byte offset and the offset to continue from (``next``)."""

    @web.authenticated
    @authorized("read")
    async def get(self, run_id: str) -> None:
        run = self.run_of(run_id)
        if self.get_argument("rank", None) is None:
            metrics = await self.blocking(run.metrics)
            self.reply({"metrics": [{k: m.get(k) for k in ("rank", "name", "value", "step", "time")} for m in metrics]})
            return
        rank = self.int_arg("rank", 0, 0, max(0, run.record.ranks - 1))
        offset = self.int_arg("offset", 0)
        chunk = 4 * self.settings["mltrain_app"].log_chunk_bytes
        records, nxt = await self.blocking(run.folder.read_metrics, rank, offset, chunk)
        for rec in records:
            rec["rank"] = rank
        self.reply({"rank": rank, "offset": offset, "next": nxt, "metrics": records})


_LISTED = ("outputs", "logs")


class FileListHandler(MLTrainHandler):
    """``GET runs/{id}/files``: the run's outputs and logs with sizes."""

    @web.authenticated
    @authorized("read")
    async def get(self, run_id: str) -> None:
        run = self.run_of(run_id)

        def listing() -> list[dict[str, Any]]:
            root = run.folder.path.resolve()
            out = []
            for top in _LISTED:
                folder = root / top
                if not folder.is_dir():
                    continue
                for path in sorted(folder.rglob("*")):
                    real = path.resolve()
                    if path.is_file() and (real == root or root in real.parents):  # no symlinks out
                        out.append({"path": path.relative_to(root).as_posix(), "size": path.stat().st_size})
            return out

        self.reply({"files": await self.blocking(listing)})


class FileHandler(MLTrainHandler):
    """``GET runs/{id}/files/{path}``: one file of the run, streamed; nothing outside the run folder."""

    @web.authenticated
    @authorized("read")
    async def get(self, run_id: str, path: str) -> None:
        run = self.run_of(run_id)
        try:
            resolved = run.folder.resolve(path)
        except MLTrainError as exc:
            raise web.HTTPError(404 if "no file" in str(exc) else 403, str(exc)) from None
        if not resolved.is_file():
            raise web.HTTPError(404, f"{path!r} is not a file of run {run_id}")
        self.set_header("Content-Type", mimetypes.guess_type(resolved.name)[0] or "application/octet-stream")
        self.set_header("Content-Disposition", f"attachment; filename*=UTF-8''{_rfc5987(resolved.name)}")
        self.set_header("Content-Length", str(resolved.stat().st_size))
        with open(resolved, "rb") as fh:
            while chunk := fh.read(1 << 20):
                self.write(chunk)
                await self.flush()
        self.finish()


def _rfc5987(name: str) -> str:
    from urllib.parse import quote

    return quote(name, safe="")


class TargetsHandler(MLTrainHandler):
    """``GET targets``: the configured compute targets and their health."""

    @web.authenticated
    @authorized("read")
    async def get(self) -> None:
        def check() -> list[dict[str, Any]]:
            from jupyter_mltrain.engine.gpus import detect_gpus

            out = []
            for target in load_targets(cwd=self.serverapp.root_dir).values():
                if target.kind == "local":
                    health = {
                        "reachable": True,
                        "slots": os.cpu_count() or 1,
                        "gpus": [dataclasses.asdict(g) for g in detect_gpus()],
                        "message": "this machine",
                    }
                elif target.kind == "ssh":
                    from jupyter_mltrain.engine.ssh import SSHConnection, check_target

                    hosts = check_target(SSHConnection.from_target(target))
                    problems = [f"{h.host}: {h.message}" for h in hosts if not h.reachable or h.message != "ok"]
                    health = {
                        "reachable": all(h.reachable for h in hosts),
                        "slots": sum(h.slots for h in hosts),
                        "gpus": [g for h in hosts for g in (h.gpus or [])],
                        "message": "; ".join(problems) or "ok",
                        "hosts": [h.to_dict() for h in hosts],
                    }
                else:
                    health = {
                        "reachable": None,
                        "slots": None,
                        "gpus": [],
                        "message": f"no health check for {target.kind} targets in this version",
                    }
                out.append({"name": target.name, "kind": target.kind, "source": target.source, "health": health})
            return out

        try:
            targets = await self.blocking(check)
        except MLTrainError as exc:
            return self.fail(400, str(exc))
        self.reply({"targets": targets})
