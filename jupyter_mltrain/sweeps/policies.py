"""Optuna's samplers and pruners from the names users give: ``--sampler tpe`` and ``--early-stop median``."""

from __future__ import annotations

import math
from typing import Any

from jupyter_mltrain.sweeps.space import Dimension, SweepError

SAMPLERS = ("tpe", "random", "grid", "cmaes")
EARLY_STOPS = "median[:startup=N,warmup=S] | bandit:slack=F[,startup=N] | hyperband | none"


def _options(text: str) -> tuple[str, dict[str, float]]:
    name, _, rest = text.partition(":")
    options: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in rest.split(","))):
        key, eq, value = part.partition("=")
        try:
            options[key.strip()] = float(value)
        except ValueError:
            raise SweepError(f"--early-stop {text}: {part!r} is not KEY=NUMBER") from None
        if not eq:
            raise SweepError(f"--early-stop {text}: {part!r} is not KEY=NUMBER")
    return name.strip(), options


def check_early_stop(text: str) -> None:
    """A SweepError unless ``text`` names a policy with options it takes."""
    name, options = _options(text)
    allowed = {"median": {"startup", "warmup"}, "bandit": {"slack", "startup"}, "hyperband": set(), "none": set()}
    if name not in allowed:
        raise SweepError(f"unknown --early-stop {text!r}; choose {EARLY_STOPS}")
    unknown = set(options) - allowed[name]
    if unknown:
        raise SweepError(f"--early-stop {name} takes no {', '.join(sorted(unknown))}; choose {EARLY_STOPS}")
    if name == "bandit" and not 0 < options.get("slack", -1) < 1:
        raise SweepError("--early-stop bandit needs slack between 0 and 1, e.g. bandit:slack=0.1")


def sampler(name: str, space: dict[str, Dimension], seed: int | None) -> Any:
    """The Optuna sampler called ``name``."""
    import optuna

    if name == "tpe":
        return optuna.samplers.TPESampler(seed=seed)
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if name == "grid":
        return optuna.samplers.GridSampler({n: d.grid() for n, d in space.items()}, seed=seed)
    if name == "cmaes":
        return optuna.samplers.CmaEsSampler(seed=seed)
    raise SweepError(f"unknown --sampler {name!r}; choose {', '.join(SAMPLERS)}")


def grid_size(space: dict[str, Dimension]) -> int:
    """How many points a grid over ``space`` has."""
    return math.prod(len(d.grid()) for d in space.values())


class BanditPruner:
    """Azure ML's bandit policy on Optuna: stop a trial whose value at a step is worse than the best value any
    trial reported at that step by more than ``slack`` (a fraction of the best)."""

    def __init__(self, slack: float, startup: int = 1) -> None:
        self.slack = slack
        self.startup = startup

    def prune(self, study: Any, trial: Any) -> bool:
        """Whether ``trial`` should stop at its last reported step."""
        import optuna

        step = trial.last_step
        if step is None:
            return False
        done = study.get_trials(
            deepcopy=False, states=(optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
        )
        others = [t.intermediate_values[step] for t in done if step in t.intermediate_values]
        if len(others) < self.startup:
            return False
        value = trial.intermediate_values[step]
        if study.direction == optuna.study.StudyDirection.MINIMIZE:
            best = min(others)
            return bool(value > best + abs(best) * self.slack)
        best = max(others)
        return bool(value < best - abs(best) * self.slack)


def pruner(text: str) -> Any:
    """The Optuna pruner for ``--early-stop text``."""
    import optuna

    check_early_stop(text)
    name, options = _options(text)
    if name == "median":
        return optuna.pruners.MedianPruner(
            n_startup_trials=int(options.get("startup", 3)), n_warmup_steps=int(options.get("warmup", 1))
        )
    if name == "bandit":

        class _Bandit(BanditPruner, optuna.pruners.BasePruner):
            pass

        return _Bandit(options["slack"], int(options.get("startup", 1)))
    if name == "hyperband":
        return optuna.pruners.HyperbandPruner()
    return optuna.pruners.NopPruner()
