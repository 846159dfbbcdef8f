"""The sweep driver: the program of a sweep's parent run (``MLTRAIN_SWEEP_DIR`` names the sweep's folder).

It keeps up to ``concurrent`` trials running: asks Optuna for a trial's parameters, submits the trial as a run,
reports each new value of the primary metric that rank 0 logs, and when the pruner says so cancels the trial
with the final status ``Pruned``. A trial that ends is told to the study: its last value when it completed,
pruned, or failed. SIGTERM (the parent canceled) stops every running trial first. Progress goes to the parent's
log, and ``best`` (the best value so far, by trial number) to its metrics, so the run widget charts it.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import signal
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jupyter_mltrain.api import Run, submit
from jupyter_mltrain.engine.spec import RunSpec
from jupyter_mltrain.engine.starting import ForkServer
from jupyter_mltrain.engine.store import Status, Store
from jupyter_mltrain.hostside import runtime
from jupyter_mltrain.hostside.errors import LaunchError
from jupyter_mltrain.sweeps import policies
from jupyter_mltrain.sweeps.slots import GpuLeases
from jupyter_mltrain.sweeps.space import parse_space
from jupyter_mltrain.sweeps.trials import metric_values, submitted

POLL_S = 0.1
# what this process has as the parent run's rank, which a trial (a run of its own) must not inherit
_RANK_ENV = (
    "RANK",
    "LOCAL_RANK",
    "WORLD_SIZE",
    "LOCAL_WORLD_SIZE",
    "GROUP_RANK",
    "MASTER_ADDR",
    "MASTER_PORT",
    "TF_CONFIG",
)
_RANK_PREFIXES = ("MLTRAIN_", "TORCHELASTIC_", "OMPI_", "PMIX_")


@contextlib.contextmanager
def _trial_environ() -> Iterator[None]:
    """os.environ as the user's process had it: without what the driver got as a rank."""
    saved = dict(os.environ)
    for key in list(os.environ):
        if (key in _RANK_ENV or key.startswith(_RANK_PREFIXES)) and key != "MLTRAIN_HOME":
            del os.environ[key]
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


@dataclass
class Watched:
    """A running trial: its Optuna trial, its run, and the steps already reported."""

    trial: Any
    run: Run
    reported: set[int] = field(default_factory=set)
    pruned_at: int | None = None
    read: tuple[int, list[tuple[int, float]]] = (0, [])  # rank 0's metric file: how far read, the values so far


def _study(folder: Path, state: dict[str, Any]) -> Any:
    import optuna
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    space = parse_space(state["space"])
    return optuna.create_study(
        study_name=state["id"],
        storage=JournalStorage(JournalFileBackend(str(folder / "optuna.journal"))),
        load_if_exists=True,
        direction="minimize" if state["goal"] == "min" else "maximize",
        sampler=policies.sampler(state["sampler"], space, state["seed"]),
        pruner=policies.pruner(state["early_stop"]),
    )


def _tell(study: Any, trial: Any, value: float | None = None, state: Any = None) -> None:
    """``study.tell``, where the grid sampler's ``study.stop()`` at the grid's end (meant for ``optimize``) is a
    no-op: the trial is stored before it raises."""
    try:
        study.tell(trial, value, state=state)
    except RuntimeError as exc:
        if "Study.stop" not in str(exc):
            raise


class Driver:
    """One driver's loop over one sweep folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.state = json.loads((folder / "sweep.json").read_text())
        self.store = Store()
        self.study = _study(folder, self.state)
        self.distributions = {n: d.distribution() for n, d in parse_space(self.state["space"]).items()}
        self.spec = RunSpec.from_dict(self.state["spec"])
        self.files = {k: base64.b64decode(v) for k, v in self.state["files"].items()}
        self.active: dict[int, Watched] = {}
        self.gpus = GpuLeases(self.spec)  # on a machine with GPUs: each running trial its own
        self.stopping = False
        self.best: float | None = None
        self.forks: ForkServer | None = None  # started by loop(): forks the trials' supervisors, warm
        self.run_id = runtime.run_id() or ""  # this driver's run: the trials' parent

    def _start_forks(self) -> None:
        try:
            with _trial_environ():  # its children are the trials' supervisors, not part of this run
                self.forks = ForkServer(cwd=str(self.store.home))
            self.say(f"trials' supervisors are forked by a warm server (pid {self.forks.proc.pid})")
        except OSError as exc:
            self.say(f"trials start in fresh interpreters (no fork server: {exc})")

    def _submit(self, spec: RunSpec) -> Run:
        with _trial_environ():
            if self.forks is not None:
                try:
                    return submit(
                        spec, self.store, files=self.files, starter=self.forks.start_supervisor, parent=self.run_id
                    )
                except LaunchError as exc:  # the server's fault, not the trial's: start it the usual way
                    self.say(f"the fork server failed ({exc}); trials start in fresh interpreters from now on")
                    self.forks.close()
                    self.forks = None
            return submit(spec, self.store, files=self.files, parent=self.run_id)

    def _count(self) -> int:
        """How many trials the study has (asked, whatever their state)."""
        return len(self.study.get_trials(deepcopy=False))

    def _pause(self) -> None:
        """Wait for a trial's supervisor to end, or POLL_S (the pruner needs the new values)."""
        if self.forks is not None:
            self.forks.wait(POLL_S)
        else:
            time.sleep(POLL_S)

    def say(self, message: str) -> None:
        """A line in the parent run's log."""
        print(f"[sweep] {message}", flush=True)

    def adopt(self) -> None:
        """Trials a previous driver left running: watch them again, or tell the study how they ended."""
        import optuna

        runs = {e["trial"]: e["run"] for e in submitted(self.folder)}
        for frozen in self.study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
            trial = optuna.trial.Trial(self.study, frozen._trial_id)
            run_id = runs.get(frozen.number)
            if run_id is None:
                _tell(self.study, trial, state=optuna.trial.TrialState.FAIL)
                continue
            run = Run(run_id, self.store)
            self.active[frozen.number] = Watched(trial, run, set(frozen.intermediate_values))
            self.gpus.adopt(frozen.number, run.spec().distribution.gpus)

    def start_trial(self) -> None:
        """Ask Optuna for parameters and submit them as a run."""
        trial = self.study.ask(self.distributions)
        params = {**self.spec.params, **trial.params}
        spec = self.spec.with_changes(params=params, name=f"{self.state['name']}-t{trial.number}")
        try:
            run = self._submit(self.gpus.place(trial.number, spec))
        except Exception as exc:  # a trial that cannot start is a failed trial; the sweep goes on
            import optuna

            self.say(f"trial {trial.number} {trial.params} could not start: {exc}")
            self.gpus.release(trial.number)
            _tell(self.study, trial, state=optuna.trial.TrialState.FAIL)
            return
        with open(self.folder / "trials.jsonl", "a") as fh:
            fh.write(json.dumps({"trial": trial.number, "run": run.id, "params": trial.params}) + "\n")
        self.active[trial.number] = Watched(trial, run)
        runtime.log("trials_started", self._count(), step=trial.number)
        self.say(f"trial {trial.number} started as run {run.id}: {trial.params}")

    def follow(self, watched: Watched) -> bool:
        """Report new values, prune if told; True once the trial has ended (and was told to the study)."""
        import optuna

        record = watched.run.record
        watched.read = metric_values(self.store, watched.run.id, self.state["metric"], watched.read)
        values = watched.read[1]
        if watched.pruned_at is None and not record.final:
            for step, value in values:
                if step in watched.reported:
                    continue
                watched.trial.report(value, step)
                watched.reported.add(step)
                if watched.trial.should_prune():
                    watched.pruned_at = step
                    watched.run.cancel(by=f"sweep {self.state['id']}: pruned at step {step}", status=Status.PRUNED)
                    self.say(f"trial {watched.trial.number} pruned at step {step} ({self.state['metric']}={value:g})")
                    break
        if not record.final:
            return False
        number = watched.trial.number
        if record.status == Status.PRUNED or watched.pruned_at is not None:
            _tell(self.study, watched.trial, state=optuna.trial.TrialState.PRUNED)
        elif record.status == Status.COMPLETED and values:
            value = values[-1][1]
            _tell(self.study, watched.trial, value)
            better = self.best is None or (value < self.best if self.state["goal"] == "min" else value > self.best)
            self.best = value if better else self.best
            self.say(f"trial {number} completed: {self.state['metric']}={value:g} (best {self.best:g})")
            runtime.log("best", self.best, step=number)
            runtime.log("trial_value", value, step=number)
        else:
            why = "it logged no " + self.state["metric"] if record.status == Status.COMPLETED else record.status
            self.say(f"trial {number} failed: {why}")
            _tell(self.study, watched.trial, state=optuna.trial.TrialState.FAIL)
        return True

    def loop(self) -> int:
        """Run trials until the budget is spent and the last has ended; 1 if stopped by SIGTERM."""
        runtime.log("trials_started", self._count(), step=0)  # opens the metric pipe before any trial
        self.adopt()
        self._start_forks()
        budget, concurrent = int(self.state["trials"]), int(self.state["concurrent"])
        self.say(
            f"{budget} trials, {concurrent} at a time, {self.state['sampler']} sampler, early stop "
            f"{self.state['early_stop']}, {self.state['goal']}imise {self.state['metric']}"
        )
        while not self.stopping:
            while self._count() < budget and len(self.active) < concurrent and not self.stopping:
                self.start_trial()
            for number in [n for n, w in self.active.items() if self.follow(w)]:
                del self.active[number]
                self.gpus.release(number)
            if not self.active and self._count() >= budget:
                break
            self._pause()
        if self.forks is not None:
            self.forks.close()
        if self.stopping:
            self.stop_all()
            return 1
        self.say("done")
        return 0

    def stop_all(self) -> None:
        """Cancel every running trial, wait for them to end, and tell the study they failed."""
        import optuna

        for watched in self.active.values():
            watched.run.cancel(by=f"sweep {self.state['id']} canceled")
        for watched in self.active.values():
            watched.run.wait(timeout=20, raise_on_error=False)
            _tell(self.study, watched.trial, state=optuna.trial.TrialState.FAIL)
        self.say(f"canceled; {len(self.active)} running trial(s) stopped")


def main() -> int:
    """Entry point of the parent run's program."""
    folder = Path(os.environ["MLTRAIN_SWEEP_DIR"])
    driver = Driver(folder)

    def on_term(signum: int, frame: Any) -> None:
        driver.stopping = True

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    code = driver.loop()
    runtime.flush()
    sys.stdout.flush()
    return code
