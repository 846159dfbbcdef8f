"""REST handlers of sweeps under ``/mltrain/api/``.

| route | what |
|---|---|
| ``GET sweeps`` | every sweep, newest first: id, name, metric, goal, budget, trials started (``trials``: numbers \
and runs), parent run and status |
| ``GET sweeps/{id}`` | one sweep's record: ``best`` and every trial (params, status, value, step, duration), its \
``name``, ``sampler`` and ``space``; with ``?curves=1`` also ``curves``: ``{run: [[steps], [values]]}`` of the \
primary metric of every trial, at most 500 points each |
| ``DELETE sweeps/{id}`` | cancel it: its driver stops every running trial first |

Authorized like the run routes: reading is ``read``, canceling ``write``. The run list (``GET runs``) marks the
runs of sweeps with ``sweep``: ``{"id", "role": "driver" | "trial", "trial"}``.
"""

from __future__ import annotations

import json
from typing import Any

from jupyter_server.auth.decorator import authorized
from tornado import web

from jupyter_mltrain.hostside.errors import MLTrainError, RunNotFound
from jupyter_mltrain.server.handlers import MLTrainHandler
from jupyter_mltrain.sweeps import Sweep
from jupyter_mltrain.sweeps.sweep import SWEEPS
from jupyter_mltrain.sweeps.trials import CurveReader, described, submitted


class SweepsHandler(MLTrainHandler):
    """``GET sweeps``."""

    def _list(self) -> list[dict[str, Any]]:
        folder = self.store.home / SWEEPS
        found = []
        for path in sorted(folder.glob("sweep-*/sweep.json"), reverse=True) if folder.is_dir() else []:
            try:
                state = json.loads(path.read_text())
                parent = state["drivers"][-1] if state.get("drivers") else None
                status = str(self.store.get(parent).status) if parent else "Queued"
                trials = [{"trial": t["trial"], "run": t["run"]} for t in submitted(path.parent)]
            except (OSError, ValueError, KeyError, RunNotFound):
                continue  # a sweep folder being written, or one whose parent run was removed
            found.append(
                {
                    "id": state["id"],
                    "name": state["name"],
                    "created": state["created"],
                    "metric": state["metric"],
                    "goal": state["goal"],
                    "budget": state["trials"],
                    "started": len(trials),
                    "trials": trials,
                    "parent": parent,
                    "drivers": state.get("drivers", []),
                    "status": status,
                }
            )
        return found

    @web.authenticated
    @authorized("read")
    async def get(self) -> None:
        self.reply({"sweeps": await self.blocking(self._list)})


class SweepHandler(MLTrainHandler):
    """``GET sweeps/{id}`` (``?curves=1``: with the trials' curves) and ``DELETE sweeps/{id}``."""

    def _sweep(self, sweep_id: str) -> Sweep:
        try:
            return Sweep.get(sweep_id, self.store)
        except MLTrainError as exc:
            raise web.HTTPError(404, str(exc)) from None

    @staticmethod
    def _read(sweep: Sweep, curves: bool) -> dict[str, Any]:
        if not curves:
            return {**sweep.record(), **described(sweep.folder)}
        reader = CurveReader(sweep.store, sweep.metric)  # one scan of the trials' values for both
        drawn = reader.read([e["run"] for e in submitted(sweep.folder)])
        return {**sweep.record(last=reader.last), **described(sweep.folder), "curves": drawn}

    @web.authenticated
    @authorized("read")
    async def get(self, sweep_id: str) -> None:
        sweep = self._sweep(sweep_id)
        curves = self.get_argument("curves", "0") not in ("0", "", "false")
        self.reply(await self.blocking(self._read, sweep, curves))

    @web.authenticated
    @authorized("write")
    async def delete(self, sweep_id: str) -> None:
        sweep = self._sweep(sweep_id)
        canceled = await self.blocking(sweep.cancel)
        self.reply({"canceled": canceled})
