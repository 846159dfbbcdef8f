"""Websockets of ``/mltrain/api/``: one run's live stream, and the run list's changes.

``runs/{id}/stream?logs=0:OFFSET,1:OFFSET&metrics=0:OFFSET`` sends, at most every
``stream_interval`` seconds, what is new since the given byte offsets: status changes, log
text and metric records, each with the offset to resume from, then ``{"type": "end"}`` once
the run has ended and everything was sent. A client that reconnects with its last offsets
misses nothing and gets nothing twice. ``runs/stream`` sends the newest runs, then every
new or changed run.

Metrics are for drawing: a message carries at most ``METRIC_POINTS`` values of one metric (spread
evenly over what it covers, and the last); ``thinned`` says how many it left out. A run that logs
at hundreds of thousands of values a second would otherwise cost the server a parse and an
encode of each, and the browser a chart point of each, and the panel would fall behind by
minutes. Metrics logged at an ordinary pace, and events, are never thinned; every value stays
on disk, for ``GET runs/{id}/metrics``, the API and the CLI.

Both authenticate like the REST handlers (``read`` on ``mltrain``) and refuse cross-origin
connections (jupyter_server's origin check).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from jupyter_core.utils import ensure_async
from jupyter_server.auth.decorator import ws_authenticated
from jupyter_server.base.handlers import JupyterHandler
from jupyter_server.base.websocket import WebSocketMixin
from jupyter_server.extension.handler import ExtensionHandlerMixin
from tornado import web
from tornado.websocket import WebSocketClosedError, WebSocketHandler

from jupyter_mltrain.api import Run
from jupyter_mltrain.engine.store import RunRecord
from jupyter_mltrain.hostside.errors import RunNotFound
from jupyter_mltrain.server.handlers import AUTH_RESOURCE

LIST_SIZE = 200
TICK_BYTES = 8 * 1024 * 1024  # at most this much log per client per tick when catching up
METRIC_BYTES = 4 * 1024 * 1024  # metrics read for one message of one rank
METRIC_POINTS = 1000  # values of one metric in one message; more are thinned


def parse_offsets(text: str | None, what: str) -> dict[int, int]:
    """``"0:123,1:0"`` as ``{0: 123, 1: 0}``; a 400 naming the argument otherwise."""
    out: dict[int, int] = {}
    for item in (text or "").split(","):
        if not item:
            continue
        rank, sep, offset = item.partition(":")
        try:
            if not sep:
                raise ValueError
            out[int(rank)] = int(offset)
        except ValueError:
            raise web.HTTPError(400, f"{what}: expected RANK:OFFSET,…, got {item!r}") from None
        if out[int(rank)] < 0 or int(rank) < 0:
            raise web.HTTPError(400, f"{what}: offsets and ranks are >= 0, got {item!r}")
    return out


class _Socket(WebSocketMixin, WebSocketHandler, ExtensionHandlerMixin, JupyterHandler):
    auth_resource = AUTH_RESOURCE

    @property
    def app(self) -> Any:
        return self.settings["mltrain_app"]

    async def pre_get(self) -> None:
        origin = self.request.headers.get("Origin") or self.request.headers.get("Sec-Websocket-Origin")
        if origin and not self.check_origin(origin):  # before anything else, as tornado would
            raise web.HTTPError(403, "cross-origin websocket refused")
        authorized = await ensure_async(self.authorizer.is_authorized(self, self.current_user, "read", AUTH_RESOURCE))
        if not authorized:
            raise web.HTTPError(403, "not authorized to read runs")

    def send(self, message: dict[str, Any]) -> bool:
        """Send one JSON message; False once the socket is closed."""
        try:
            self.write_message(json.dumps(message, default=str))
            return True
        except WebSocketClosedError:
            return False

    async def blocking(self, func: Any, *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(None, func, *args)

    def on_close(self) -> None:
        task = getattr(self, "_task", None)
        if task is not None:
            task.cancel()


class RunStream(_Socket):
    """Live status, logs and metrics of one run, resumable from byte offsets."""

    @ws_authenticated
    async def get(self, run_id: str) -> None:
        await self.pre_get()
        try:
            self.run = Run(run_id, self.app.store)
        except RunNotFound:
            raise web.HTTPError(404, f"no run {run_id!r}") from None
        self.log_offsets = parse_offsets(self.get_argument("logs", None), "logs")
        self.metric_offsets = parse_offsets(self.get_argument("metrics", None), "metrics")
        res = super().get(run_id)
        if res is not None:
            await res

    def open(self, run_id: str) -> None:
        super().open()
        self._task = asyncio.ensure_future(self._pump())

    async def _pump(self) -> None:
        last_status: tuple[Any, ...] | None = None
        while True:
            record: RunRecord = await self.blocking(lambda: self.run.record)
            state = (
                record.status,
                record.ended,
                json.dumps(record.root_cause.to_dict() if record.root_cause else None, sort_keys=True),
                json.dumps(record.stragglers, sort_keys=True),  # a rank falling behind or catching up
            )
            if state != last_status:
                last_status = state
                if not self.send({"type": "status", "run": record.to_dict()}):
                    return
            sent, more = await self._send_new(record.ranks)
            budget = TICK_BYTES
            while more and budget > 0 and sent is not None:  # catching up on a long log: keep going this tick
                await asyncio.sleep(0)
                budget -= self.app.log_chunk_bytes
                more_sent, more = await self._send_new(record.ranks)
                sent = None if more_sent is None else (sent or more_sent)
            if sent is None:
                return
            if record.final and not sent:
                self.send({"type": "end"})
                return
            await asyncio.sleep(self.app.stream_interval)

    async def _send_new(self, ranks: int) -> tuple[bool | None, bool]:
        """Send what is new for every rank: (whether anything was, or None if the socket closed;
        whether a read was cut at the chunk size, i.e. more is waiting)."""
        folder = self.run.folder
        chunk = self.app.log_chunk_bytes
        sent = more = False
        for rank in range(ranks):
            start = self.log_offsets.get(rank, 0)
            data, nxt = await self.blocking(folder.read_log, rank, start, chunk)
            if data:
                self.log_offsets[rank] = nxt
                sent = True
                more = more or len(data) >= chunk - 65536
                if not self.send(
                    {
                        "type": "logs",
                        "rank": rank,
                        "offset": start,
                        "next": nxt,
                        "data": data.decode("utf-8", "replace"),
                    }
                ):
                    return None, False
            start = self.metric_offsets.get(rank, 0)
            records, nxt, thinned = await self.blocking(
                folder.read_metric_sample, rank, start, METRIC_BYTES, METRIC_POINTS
            )
            if nxt != start:
                self.metric_offsets[rank] = nxt
                sent = True
                more = more or nxt - start >= METRIC_BYTES - 65536
                message = {"type": "metrics", "rank": rank, "offset": start, "next": nxt, "records": records}
                if thinned:
                    message["thinned"] = thinned
                if not self.send(message):
                    return None, False
        return sent, more


class RunListStream(_Socket):
    """The newest runs, then every run that is new or changed."""

    @ws_authenticated
    async def get(self) -> None:
        await self.pre_get()
        res = super().get()
        if res is not None:
            await res

    def open(self) -> None:
        super().open()
        self._task = asyncio.ensure_future(self._pump())

    async def _pump(self) -> None:
        known: dict[str, tuple[Any, ...]] = {}
        first = True
        while True:
            records = await self.blocking(lambda: self.app.store.list(limit=LIST_SIZE))
            changed = []
            for record in records:
                key = (
                    record.status,
                    record.ended,
                    json.dumps([record.metrics, record.stragglers, record.tags, record.note], sort_keys=True),
                )
                if known.get(record.id) != key:
                    known[record.id] = key
                    changed.append(record)
            if first:
                if not self.send({"type": "runs", "runs": [r.to_dict() for r in records]}):
                    return
                first = False
            else:
                for record in reversed(changed):
                    if not self.send({"type": "run", "run": record.to_dict()}):
                        return
            await asyncio.sleep(max(self.app.stream_interval, 0.5))
