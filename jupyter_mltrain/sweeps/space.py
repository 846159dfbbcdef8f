"""The search space: ``lr=loguniform(1e-4,1e-1)``, ``batch=choice(32,64,128)``, ``layers=int(1,4)``, checked
before anything launches and turned into Optuna's distributions."""

from __future__ import annotations

import ast
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from jupyter_mltrain.hostside.errors import MLTrainError

KINDS = {
    "uniform": "uniform(LOW, HIGH): a float between LOW and HIGH",
    "loguniform": "loguniform(LOW, HIGH): a float between LOW > 0 and HIGH, sampled on a log scale",
    "int": "int(LOW, HIGH[, STEP]): an integer from LOW to HIGH, both included",
    "choice": "choice(A, B, ...): one of the values given",
}


class SweepError(MLTrainError, ValueError):
    """A sweep's space, metric, sampler, early-stop policy or budget that cannot be used."""


_FORM = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*([a-z]+)\s*\((.*)\)\s*$", re.S)


@dataclass(frozen=True)
class Dimension:
    """One swept parameter: its name, kind (uniform, loguniform, int, choice) and arguments."""

    name: str
    kind: str
    args: tuple[Any, ...]

    def __str__(self) -> str:
        return f"{self.name}={self.kind}({', '.join(repr(a) if isinstance(a, str) else str(a) for a in self.args)})"

    def distribution(self) -> Any:
        """The Optuna distribution of this dimension."""
        import optuna.distributions as d

        if self.kind == "choice":
            return d.CategoricalDistribution(list(self.args))
        if self.kind == "int":
            return d.IntDistribution(
                int(self.args[0]), int(self.args[1]), step=int(self.args[2]) if len(self.args) > 2 else 1
            )
        return d.FloatDistribution(float(self.args[0]), float(self.args[1]), log=self.kind == "loguniform")

    def grid(self) -> list[Any]:
        """Every value of a discrete dimension; a SweepError for a continuous one."""
        if self.kind == "choice":
            return list(self.args)
        if self.kind == "int":
            step = int(self.args[2]) if len(self.args) > 2 else 1
            return list(range(int(self.args[0]), int(self.args[1]) + 1, step))
        raise SweepError(
            f"--sweep {self}: a grid takes only discrete values; use choice(...) or int(...) for {self.name!r}, "
            "or another --sampler (tpe, random, cmaes)"
        )


def _values(name: str, text: str) -> tuple[Any, ...]:
    try:
        parsed = ast.literal_eval(f"({text},)") if text.strip() else ()
    except (ValueError, SyntaxError):
        raise SweepError(f"--sweep {name}: cannot read ({text}): give numbers or quoted strings") from None
    return tuple(parsed)


def parse_dimension(text: str) -> Dimension:
    """``NAME=KIND(ARGS)`` as a Dimension; a SweepError naming the problem and the kinds there are."""
    match = _FORM.match(text)
    if not match:
        raise SweepError(f"--sweep {text!r}: expected NAME=KIND(ARGS); kinds: {'; '.join(KINDS.values())}")
    name, kind, raw = match.groups()
    if kind not in KINDS:
        raise SweepError(f"--sweep {name}: unknown distribution {kind!r}; kinds: {'; '.join(KINDS.values())}")
    args = _values(name, raw)
    dim = Dimension(name, kind, args)
    if kind == "choice":
        if not args:
            raise SweepError(f"--sweep {name}: choice() is empty; give at least one value")
        return dim
    numbers = all(isinstance(a, (int, float)) and not isinstance(a, bool) and math.isfinite(a) for a in args)
    if len(args) not in ((2, 3) if kind == "int" else (2,)) or not numbers:
        raise SweepError(f"--sweep {name}: {KINDS[kind]}")
    low, high = args[0], args[1]
    if kind == "int" and not all(isinstance(a, int) for a in args):
        raise SweepError(f"--sweep {name}: int() takes integers: {KINDS['int']}")
    if low >= high:
        raise SweepError(f"--sweep {name}: {kind}({low}, {high}) needs LOW < HIGH")
    if kind == "loguniform" and low <= 0:
        raise SweepError(f"--sweep {name}: loguniform({low}, {high}) needs LOW > 0 (a log scale has no 0)")
    if kind == "int" and len(args) == 3 and args[2] < 1:
        raise SweepError(f"--sweep {name}: int() STEP must be at least 1")
    return dim


def parse_space(space: Mapping[str, str] | list[str]) -> dict[str, Dimension]:
    """A space given as ``["lr=loguniform(1e-4,1e-1)", ...]`` or ``{"lr": "loguniform(1e-4,1e-1)"}``."""
    items = [f"{k}={v}" for k, v in space.items()] if isinstance(space, Mapping) else list(space)
    if not items:
        raise SweepError("a sweep needs at least one --sweep NAME=KIND(ARGS)")
    dims: dict[str, Dimension] = {}
    for item in items:
        dim = parse_dimension(item)
        if dim.name in dims:
            raise SweepError(f"--sweep {dim.name} is given twice")
        dims[dim.name] = dim
    return dims
