"""What the run widget of a sweep's driver shows about the sweep: its record and the trials' curves.

``SweepFeed.read()`` gives the ``sweep`` trait: the sweep's record as ``Sweep.record()`` gives it (best, and every
trial with its params, status, value, step and duration), plus its ``name``, ``space`` (``{param: {"kind",
"args"}}``, for the parallel-coordinates axes) and ``curves``: ``{run_id: [[steps], [values]]}`` of the primary
metric of every trial, read on from the last call and thinned to at most 500 points per trial (fewer when there
are more than 40 trials: ``curve_limit``). The widget reads it at most once a second and at the end.
"""

from __future__ import annotations

from typing import Any

from jupyter_mltrain.engine.store import Store
from jupyter_mltrain.hostside.errors import MLTrainError
from jupyter_mltrain.sweeps import Sweep
from jupyter_mltrain.sweeps.trials import CurveReader, described, submitted


def sweep_of(params: dict[str, Any]) -> str | None:
    """The sweep id a run's params name, when the run is a sweep's driver; else None."""
    value = params.get("sweep")
    return value if isinstance(value, str) and value.startswith("sweep-") else None


class SweepFeed:
    """Reads one sweep for the widget of its driver run."""

    def __init__(self, sweep_id: str, store: Store) -> None:
        self.sweep = Sweep.get(sweep_id, store)
        self.curves = CurveReader(store, self.sweep.metric)
        self.extra = described(self.sweep.folder)

    @classmethod
    def of(cls, sweep_id: str | None, store: Store) -> SweepFeed | None:
        """The feed of ``sweep_id``; None for no sweep, or one whose folder is gone."""
        try:
            return cls(sweep_id, store) if sweep_id else None
        except (MLTrainError, OSError, ValueError, KeyError):
            return None

    def read(self) -> dict[str, Any]:
        """The ``sweep`` trait now (an empty dict when the sweep's folder cannot be read)."""
        try:
            curves = self.curves.read([e["run"] for e in submitted(self.sweep.folder)])
            record = self.sweep.record(last=self.curves.last)  # the values just read: no second scan
        except (MLTrainError, OSError, ValueError):
            return {}
        return {**record, **self.extra, "curves": curves}
