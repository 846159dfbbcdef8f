"""The live run widget: an anywidget model fed from the run folder by the kernel's event loop.

Updates are pushed by ``refresh()``, one tick that reads what is new (``RunFeed``) and sends
at most one delta message, plus the small traits at most once a second (at once when the
status changes). ``start()`` runs the ticks as a task on the kernel's asyncio loop, so the
cell returns at once and the kernel stays free; ``wait()`` runs them inside a blocking cell
(``--wait``), so headless runs (nbclient, papermill) store the final state.

A view applies deltas in order on top of the ``history`` snapshot (numbered by the last delta
in it). A view that has a gap asks for a fresh snapshot (``sync``), but a kernel blocked in
``wait()`` reads that only when the cell ends; so the snapshot is also sent without asking: from
the start (empty, number 0), with every delta while it is small, at each change of status and
at the end.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import anywidget
import traitlets

from jupyter_mltrain.api import Run
from jupyter_mltrain.engine.store import RunRecord, Status
from jupyter_mltrain.hostside.errors import MLTrainError, RunFailed
from jupyter_mltrain.widget.feed import LIVE_HISTORY_ITEMS, RunFeed
from jupyter_mltrain.widget.summary import summary_html, summary_text
from jupyter_mltrain.widget.sweepfeed import SweepFeed, sweep_of

STATIC = Path(__file__).parent / "static"
TICK_S = 0.25
TRAITS_EVERY_S = 1.0

_MISSING_ASSETS = """
export default { render({ model, el }) {
  el.innerHTML = "<pre>jupyter_mltrain: the widget's JavaScript was not built (run `make setup`).\\n" +
    "run " + model.get("run_id") + ": " + model.get("status") + "</pre>";
} };
"""


def _asset(name: str, fallback: str) -> str | Path:
    path = STATIC / name
    return path if path.is_file() else fallback


class RunWidget(anywidget.AnyWidget):
    """Live view of one run: status and stages, per-rank logs, metric charts, progress, cancel."""

    _esm = _asset("widget.js", _MISSING_ASSETS)
    _css = _asset("widget.css", "")

    run_id = traitlets.Unicode("").tag(sync=True)
    run_name = traitlets.Unicode("").tag(sync=True)
    experiment = traitlets.Unicode("").tag(sync=True)
    target = traitlets.Unicode("").tag(sync=True)
    mode = traitlets.Unicode("").tag(sync=True)
    ranks = traitlets.Int(1).tag(sync=True)
    status = traitlets.Unicode("").tag(sync=True)
    stages = traitlets.Dict().tag(sync=True)
    created = traitlets.Float(0.0).tag(sync=True)
    ended = traitlets.Float(None, allow_none=True).tag(sync=True)
    clock = traitlets.Float(0.0).tag(sync=True)
    progress = traitlets.Dict().tag(sync=True)
    last_metrics = traitlets.Dict().tag(sync=True)
    root_cause: traitlets.Dict[str, Any] | traitlets.Any = traitlets.Dict(None, allow_none=True).tag(sync=True)
    outputs: traitlets.List[Any] = traitlets.List().tag(sync=True)
    exit_codes: traitlets.List[Any] = traitlets.List().tag(sync=True)  # per rank: code, -signal, or None
    log_paths = traitlets.Dict().tag(sync=True)
    files_url = traitlets.Unicode("").tag(sync=True)
    cancel_pending = traitlets.Bool(False).tag(sync=True)
    history = traitlets.Dict().tag(sync=True)
    attempt = traitlets.Int(1).tag(sync=True)  # 2… after a restart (--max-restarts)
    attempts: traitlets.List[Any] = traitlets.List().tag(sync=True)  # the earlier attempts, oldest first
    # the last "Register model": {"state": "done", "name", "version", "aliases"} or {"state": "error", "message"}
    registered = traitlets.Dict().tag(sync=True)
    # ranks that fell behind: {"rank", "host", "ratio", "since", "until"} (until None while it lasts)
    stragglers: traitlets.List[Any] = traitlets.List().tag(sync=True)
    # set by people (Run.tags / Run.note, the panel, this widget's header: a "labels" message)
    tags: traitlets.List[Any] = traitlets.List().tag(sync=True)
    note = traitlets.Unicode("").tag(sync=True)
    # a sweep's driver run: the sweep's record, space and trial curves (sweepfeed.py); empty for other runs
    sweep = traitlets.Dict().tag(sync=True)

    def __init__(self, run: Run, **kwargs: Any) -> None:
        record = run.record
        feed = RunFeed(run.folder, record.ranks, record.created)
        super().__init__(
            run_id=run.id,
            run_name=record.name,
            experiment=record.experiment,
            target=record.target,
            mode=record.mode,
            ranks=record.ranks,
            created=record.created,
            history=feed.history(0),  # a view that renders before the first delta needs no sync
            **kwargs,
        )
        self.run = run
        self.feed = feed
        self.seq = 0
        self.messages_sent = 0
        self.done = False
        self._last_traits = 0.0
        self._task: asyncio.Task[None] | None = None
        self._display: Any = None
        self.log_paths = {str(r): str(run.folder.log_path(r)) for r in range(record.ranks)}
        self.files_url = f"mltrain/api/runs/{run.id}/files"  # the server extension's downloads
        self.sweep_feed = SweepFeed.of(sweep_of(record.params), run.store)
        self.on_msg(self._on_frontend_msg)
        self._set_traits(record)

    # ---- one tick ---------------------------------------------------------------------
    def refresh(self) -> bool:
        """Read what is new and push it; return False once the run has ended and all is shown."""
        if self.done:
            return False
        record = self.run.record  # read before the files: a final status means the files are complete
        delta = self.feed.poll()
        if delta:
            self.seq += 1
            self.send(delta.message(self.seq))
            self.messages_sent += 1
        status_changed = record.status != self.status
        now = time.monotonic()
        if record.final or status_changed or now - self._last_traits >= TRAITS_EVERY_S:
            self._set_traits(record)
        if record.final and delta and self.feed.pending():
            return True  # the files hold more than one poll reads: show it all before the end
        if record.final:
            self.done = True
            self.push_history()
            if self._display is not None:
                self._display.update(self, metadata=self._metadata())
            return False
        if status_changed or (delta and self.feed.history_items() <= LIVE_HISTORY_ITEMS):
            self.push_history()  # unasked: the view's sync may wait for the end of a blocking cell
        return True

    def _set_traits(self, record: RunRecord) -> None:
        self._last_traits = time.monotonic()
        with self.hold_sync():
            self.status = record.status
            self.stages = dict(record.stages)
            self.ended = record.ended
            self.clock = time.time()
            self.progress = dict(self.feed.progress)
            self.last_metrics = {k: dict(v) for k, v in self.feed.last.items()}
            self.root_cause = record.root_cause.to_dict() if record.root_cause else None
            self.exit_codes = list(record.exit_codes)
            self.attempt = record.attempt
            self.attempts = [dict(a) for a in record.attempts]
            self.stragglers = [dict(s) for s in record.stragglers]
            self.tags, self.note = list(record.tags), record.note
            if self.sweep_feed is not None:
                self.sweep = self.sweep_feed.read()
            if record.final:
                self.cancel_pending = False
                self.outputs = self._outputs()
        self.messages_sent += 1

    def _outputs(self) -> list[dict[str, Any]]:
        root = self.run.folder.path / "outputs"
        if not root.is_dir():
            return []
        return [
            {"path": str(p.relative_to(root)), "size": p.stat().st_size} for p in sorted(root.rglob("*")) if p.is_file()
        ][:500]

    def push_history(self) -> None:
        """Send the whole buffered state (what a new view, or the saved notebook, starts from)."""
        self.history = self.feed.history(self.seq)
        self.messages_sent += 1

    def _on_frontend_msg(self, _widget: Any, content: dict[str, Any], _buffers: Any) -> None:
        kind = content.get("type") if isinstance(content, dict) else None
        if kind == "sync":
            self.push_history()
        elif kind == "cancel":
            if self.run.cancel(by="the notebook widget"):
                self.cancel_pending = True
        elif kind == "register":
            self.register(content)
        elif kind == "labels":
            self.set_labels(content)

    def set_labels(self, request: dict[str, Any]) -> None:
        """Set the run's ``tags`` and/or ``note`` as the view asked; the error, if any, goes back to it."""
        try:
            if "tags" in request:
                self.run.tags = request["tags"]
            if "note" in request:
                self.run.note = request["note"]
        except MLTrainError as exc:
            self.send({"type": "labels", "error": str(exc)})
            return
        record = self.run.record
        with self.hold_sync():
            self.tags, self.note = list(record.tags), record.note
        self.send({"type": "labels", "error": ""})

    def register(self, request: dict[str, Any]) -> None:
        """Register the run's model as the view asked (``name``, ``alias``?, ``path``?); show the result."""
        name, alias, path = (str(request.get(k) or "").strip() for k in ("name", "alias", "path"))
        try:
            if not name:
                raise MLTrainError("give the model a name")
            model = self.run.register_model(name, path=path or "outputs/model", alias=alias or None)
        except MLTrainError as exc:
            self.registered = {"state": "error", "message": str(exc), "at": time.time()}  # "at": a change each time
            return
        self.registered = {
            "state": "done",
            "name": model.name,
            "version": model.version,
            "aliases": model.aliases,
            "at": time.time(),
        }

    # ---- driving the ticks --------------------------------------------------------------
    async def follow(self, tick_s: float = TICK_S) -> None:
        """Tick until the run has ended (a task on the kernel's event loop)."""
        while self.refresh():
            await asyncio.sleep(tick_s)

    def start(self) -> None:
        """Keep the widget live from the kernel's event loop; the cell returns at once."""
        if self._task is None or self._task.done():
            loop = asyncio.get_event_loop()
            self._task = loop.create_task(self.follow())

    def wait(self, timeout: float | None = None, raise_on_error: bool = True, tick_s: float = TICK_S) -> RunRecord:
        """Tick inside the current (blocking) cell until the run ends; raise if it did not complete.

        Interrupting the kernel stops the waiting, not the run.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.refresh():
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"run {self.run_id} still {self.status} after {timeout} s")
            time.sleep(tick_s)
        record = self.run.record
        if raise_on_error and record.status != Status.COMPLETED.value:
            cause = record.root_cause
            message = f"run {record.id} {record.status}" + (f": {cause.message}" if cause else "")
            if cause and cause.traceback:
                message += "\n" + cause.traceback
            raise RunFailed(message, record)
        return record

    def show(self) -> None:
        """Display the widget with the run id in the output's metadata (for reattaching)."""
        from IPython.display import display

        self._display = display(self, display_id=True, metadata=self._metadata())

    def _metadata(self) -> dict[str, Any]:
        return {"jupyter_mltrain": {"run_id": self.run_id}}

    # ---- what viewers without widgets show -----------------------------------------------
    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        bundle = super()._repr_mimebundle_(**kwargs)
        data: dict[str, Any] = (bundle[0] if isinstance(bundle, tuple) else bundle) or {}
        record = self.run.record
        data["text/plain"] = summary_text(record)
        data["text/html"] = summary_html(record)
        return bundle
