"""``Sweep``: a search over a run's parameters, kept in ``MLTRAIN_HOME/sweeps/ID/`` and driven by a parent run.

The folder holds ``sweep.json`` (the trial spec, the space, the metric and goal, the budget), Optuna's journal
(``optuna.journal``: the study, beside the run store) and ``trials.jsonl`` (which run each trial is). The parent
run's program is the driver; ``resume(trials=N)`` raises the budget and starts a new driver on the same study.
"""

from __future__ import annotations

import base64
import json
import secrets
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from jupyter_mltrain.api import Run, submit
from jupyter_mltrain.engine.spec import Distribution, Environment, RunSpec
from jupyter_mltrain.engine.store import Store, write_json_atomic
from jupyter_mltrain.hostside.errors import MLTrainError
from jupyter_mltrain.sweeps import policies
from jupyter_mltrain.sweeps.slots import capacity
from jupyter_mltrain.sweeps.space import SweepError, parse_space

SWEEPS = "sweeps"
DRIVER = "from jupyter_mltrain.sweeps.driver import main\n\nraise SystemExit(main())\n"


class Sweep:
    """A hyperparameter search: ``Sweep(spec, space={...}, metric="val_loss", goal="min", trials=20).submit()``."""

    def __init__(
        self,
        spec: RunSpec,
        space: Mapping[str, str] | list[str],
        metric: str,
        goal: str = "min",
        trials: int = 10,
        concurrent: int = 1,
        sampler: str = "tpe",
        early_stop: str = "none",
        seed: int | None = None,
        files: Mapping[str, bytes] | None = None,
        store: Store | None = None,
    ) -> None:
        self.dimensions = parse_space(space)
        if not isinstance(metric, str) or not metric:
            raise SweepError("a sweep needs --metric NAME: the metric the trials log (e.g. val_loss)")
        if goal not in ("min", "max"):
            raise SweepError(f"--goal {goal!r}: choose min or max")
        if sampler not in policies.SAMPLERS:
            raise SweepError(f"unknown --sampler {sampler!r}; choose {', '.join(policies.SAMPLERS)}")
        if sampler == "grid":
            size = policies.grid_size(self.dimensions)  # a continuous dimension fails here, naming it
            trials = min(trials, size) if trials else size
        if sampler == "cmaes":
            try:
                import cmaes  # noqa: F401
            except ImportError:
                raise SweepError("--sampler cmaes needs the cmaes package: pip install cmaes") from None
        policies.check_early_stop(early_stop)
        if trials < 1 or concurrent < 1:
            raise SweepError("--trials and --concurrent must be at least 1")
        clashes = sorted(set(self.dimensions) & set(spec.params))
        if clashes:
            raise SweepError(f"{clashes[0]!r} is both swept and a fixed --param; keep one")
        self.spec = spec
        self.metric, self.goal, self.trials, self.concurrent = metric, goal, trials, concurrent
        self.sampler, self.early_stop, self.seed = sampler, early_stop, seed
        self.files = dict(files or {})
        self.store = store or Store()
        self.id: str | None = None

    # --- on disk --------------------------------------------------------------------------------------------
    @property
    def folder(self) -> Path:
        """This sweep's folder under ``MLTRAIN_HOME/sweeps``."""
        if self.id is None:
            raise MLTrainError("this sweep has not been submitted yet")
        return self.store.home / SWEEPS / self.id

    def _state(self) -> dict[str, Any]:
        return dict(json.loads((self.folder / "sweep.json").read_text()))

    def _write_state(self, state: Mapping[str, Any]) -> None:
        write_json_atomic(self.folder / "sweep.json", dict(state))

    def submit(self) -> Sweep:
        """Check everything, write the sweep's folder and start its driver; return self (now with ``id``)."""
        limit = capacity(self.spec)
        concurrent = min(self.concurrent, limit) if limit else self.concurrent
        self.id = time.strftime("sweep-%Y%m%d-%H%M%S-") + secrets.token_hex(3)
        self.folder.mkdir(parents=True, mode=0o700)
        (self.folder / "driver").mkdir()
        (self.folder / "driver" / "sweep_driver.py").write_text(DRIVER)
        name = self.spec.name or Path(self.spec.entry).stem
        self._write_state(
            {
                "id": self.id,
                "name": name,
                "created": time.time(),
                "spec": self.spec.to_dict(include_secrets=False),
                "files": {k: base64.b64encode(v).decode() for k, v in self.files.items()},
                "space": {n: str(d).split("=", 1)[1] for n, d in self.dimensions.items()},
                "metric": self.metric,
                "goal": self.goal,
                "trials": self.trials,
                "concurrent": concurrent,
                "asked_concurrent": self.concurrent,
                "sampler": self.sampler,
                "early_stop": self.early_stop,
                "seed": self.seed,
                "drivers": [],
            }
        )
        self._start_driver()
        return self

    def _start_driver(self) -> Run:
        state = self._state()
        driver = RunSpec(
            entry="sweep_driver.py",
            source=str(self.folder / "driver"),
            name=f"sweep {state['name']}",
            experiment=self.spec.experiment,
            distribution=Distribution(),
            environment=Environment(
                variables={"MLTRAIN_SWEEP_DIR": str(self.folder), "MLTRAIN_HOME": str(self.store.home)}
            ),
            params={"sweep": self.id},
            telemetry_interval_s=0.0,
            grace_period_s=30.0,
        )
        run = submit(driver, self.store)
        state["drivers"] = [*state.get("drivers", []), run.id]
        self._write_state(state)
        return run

    @classmethod
    def get(cls, sweep_id: str, store: Store | None = None) -> Sweep:
        """The sweep ``sweep_id`` of this store."""
        store = store or Store()
        folder = store.home / SWEEPS / sweep_id
        if not (folder / "sweep.json").is_file():
            known = (
                sorted(p.name for p in (store.home / SWEEPS).glob("sweep-*")) if (store.home / SWEEPS).is_dir() else []
            )
            raise MLTrainError(f"no sweep {sweep_id!r}; sweeps: {', '.join(known[-5:]) or 'none'}")
        state = json.loads((folder / "sweep.json").read_text())
        sweep = cls(
            RunSpec.from_dict(state["spec"]),
            state["space"],
            state["metric"],
            state["goal"],
            state["trials"],
            state["asked_concurrent"],
            state["sampler"],
            state["early_stop"],
            state["seed"],
            {k: base64.b64decode(v) for k, v in state["files"].items()},
            store,
        )
        sweep.id = sweep_id
        return sweep

    # --- while and after it runs ----------------------------------------------------------------------------
    @property
    def parent(self) -> Run:
        """The driver run now (the latest, after a resume)."""
        return Run(self._state()["drivers"][-1], self.store)

    def resume(self, trials: int) -> Sweep:
        """Add ``trials`` trials to an ended sweep and start its driver again on the same study."""
        if trials < 1:
            raise SweepError("resume: --trials must be at least 1")
        if not self.parent.record.final:
            raise MLTrainError(f"sweep {self.id} is still running (run {self.parent.id}); resume it once it has ended")
        state = self._state()
        state["trials"] = int(state["trials"]) + trials
        self._write_state(state)
        self._start_driver()
        return self

    def cancel(self) -> bool:
        """Stop the driver, which stops every running trial first."""
        return self.parent.cancel(by=f"sweep {self.id} canceled")

    def wait(self, timeout: float | None = None) -> dict[str, Any]:
        """Wait for the driver to end; return the sweep's record."""
        self.parent.wait(timeout=timeout, raise_on_error=False)
        return self.record()

    def trials_table(self, last: Callable[[str], tuple[int, float] | None] | None = None) -> list[dict[str, Any]]:
        """Every trial: its number, run, params, status, the primary metric's last value and when it stopped
        (``last``: see ``trial_rows``)."""
        from jupyter_mltrain.sweeps.trials import trial_rows

        return trial_rows(self.folder, self.store, self.metric, last)

    def record(self, last: Callable[[str], tuple[int, float] | None] | None = None) -> dict[str, Any]:
        """The sweep as JSON: id, parent, status, metric, goal, budget, ``best`` and ``trials`` (``last``: a
        reader of the trials' values the caller already has, so they are not scanned twice)."""
        rows = self.trials_table(last)
        done = [r for r in rows if r["status"] == "Completed" and r["value"] is not None]
        pick = min if self.goal == "min" else max
        best = pick(done, key=lambda r: r["value"]) if done else None
        state = self._state()
        return {
            "id": self.id,
            "parent": self.parent.id,
            "status": self.parent.status,
            "metric": self.metric,
            "goal": self.goal,
            "budget": state["trials"],
            "concurrent": state["concurrent"],
            "best": None if best is None else {k: best[k] for k in ("run", "params", "value")},
            "trials": rows,
        }

    def best(self) -> Run | None:
        """The best completed trial's run (by the primary metric), or None."""
        best = self.record()["best"]
        return None if best is None else Run(best["run"], self.store)


def sweep_from_options(
    options: Any, spec: RunSpec, files: Mapping[str, bytes] | None = None, store: Store | None = None
) -> Sweep:
    """The Sweep that ``add_sweep_options``'s flags describe, over ``spec``."""
    if not options.metric:
        raise SweepError("a sweep needs --metric NAME: the metric the trials log (e.g. val_loss)")
    return Sweep(
        spec,
        options.sweep,
        options.metric,
        options.goal,
        options.trials,
        options.concurrent,
        options.sampler,
        options.early_stop,
        options.seed,
        files=files,
        store=store,
    )
