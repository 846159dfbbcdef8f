"""Hyperparameter sweeps: many runs of one program, their parameters asked of Optuna, the bad ones pruned.

A sweep is a parent run whose program is the sweep driver (:mod:`.driver`): supervised like any run, so it
outlives the kernel that started it. The driver asks Optuna for each trial's parameters, submits the trial as
an ordinary run through the same ``submit()``, feeds rank 0's values of the primary metric to the pruner, and
stops pruned trials through the same cancel path (their final status is ``Pruned``).
"""

from jupyter_mltrain.sweeps.space import Dimension, SweepError, parse_space
from jupyter_mltrain.sweeps.sweep import Sweep

__all__ = ["Dimension", "Sweep", "SweepError", "parse_space"]
