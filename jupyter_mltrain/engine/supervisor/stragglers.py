"""Stragglers: a rank whose steps take much longer than the others', for long enough to matter.

The supervisor feeds the tracker every metric record the ranks log; the ``step`` of
``log(name, value, step=...)`` and the record's time give each rank's time per step. A rank whose
median time per step over its last ``WINDOW_STEPS`` steps is more than ``STRAGGLER_RATIO`` times the
median of the other ranks' for ``STRAGGLER_S`` seconds is a straggler: the run record's
``stragglers`` gets ``{"rank", "host", "ratio", "since", "until"}`` (``since``: when it fell behind,
``until``: when it caught up again or ended, null while it lasts; ``ratio``: the median of its ratios
meanwhile).
Entries stay in the record after the run. ``MLTRAIN_STRAGGLER_S`` in the supervisor's environment
replaces ``STRAGGLER_S`` (tests shorten it).
"""

from __future__ import annotations

import os
import statistics
from collections import deque
from dataclasses import dataclass, field
from typing import Any

STRAGGLER_RATIO = 1.3
STRAGGLER_S = 30.0
STRAGGLER_S_ENV = "MLTRAIN_STRAGGLER_S"
WINDOW_STEPS = 9  # the recent window: each rank's last this many steps
MIN_STEPS = 3  # a rank is judged, and counts for the others, once it has this many step times


def straggler_seconds(env: dict[str, str] | None = None) -> float:
    """How long a rank must stay behind to be flagged: ``MLTRAIN_STRAGGLER_S``, else ``STRAGGLER_S``."""
    raw = (os.environ if env is None else env).get(STRAGGLER_S_ENV, "")
    try:
        value = float(raw)
    except ValueError:
        return STRAGGLER_S
    return value if value >= 0 else STRAGGLER_S


@dataclass
class _Rank:
    last_step: int | None = None
    last_time: float = 0.0
    step_times: deque[float] = field(default_factory=lambda: deque(maxlen=WINDOW_STEPS))
    behind_since: float | None = None  # when its ratio went over the limit (not yet flagged, or flagged)
    ratios: deque[float] = field(default_factory=lambda: deque(maxlen=600))  # the episode's last 600 checks
    entry: dict[str, Any] | None = None  # its open entry in ``entries``


class StragglerTracker:
    """Each rank's recent time per step, and the ranks that fell behind (pure: times are given)."""

    def __init__(self, ratio: float = STRAGGLER_RATIO, seconds: float = STRAGGLER_S) -> None:
        self.ratio = ratio
        self.seconds = seconds
        self.ranks: dict[int, _Rank] = {}
        self.entries: list[dict[str, Any]] = []

    def observe(self, rank: int, records: list[dict[str, Any]]) -> None:
        """Fold in metric records of ``rank``: each new, higher step adds a time per step."""
        state = self.ranks.get(rank)
        for rec in records:
            step, when = rec.get("step"), rec.get("time")
            if type(step) is not int or not isinstance(when, (int, float)) or "name" not in rec:
                continue
            if state is None:
                state = self.ranks[rank] = _Rank()
            if state.last_step is None or step < state.last_step:  # the first step, or a restarted attempt
                state.last_step, state.last_time = step, float(when)
                state.step_times.clear()
            elif step > state.last_step:
                state.step_times.append(max(0.0, float(when) - state.last_time) / (step - state.last_step))
                state.last_step, state.last_time = step, float(when)

    def medians(self) -> dict[int, float]:
        """Median time per step of each rank with enough steps."""
        return {r: statistics.median(s.step_times) for r, s in self.ranks.items() if len(s.step_times) >= MIN_STEPS}

    def check(self, now: float, hosts: dict[int, str], live: set[int] | None = None) -> bool:
        """Flag ranks behind for ``seconds`` and close the entries of those that caught up, at time ``now``.

        ``live``: the ranks still running (others are neither flagged nor kept open). True when
        ``entries`` changed.
        """
        medians = self.medians()
        changed = False
        for rank, state in self.ranks.items():
            others = [m for r, m in medians.items() if r != rank]
            mine = medians.get(rank)
            running = live is None or rank in live
            pace = statistics.median(others) if others else 0.0
            ratio = mine / pace if mine is not None and pace > 0 else None
            if running and ratio is not None and ratio > self.ratio:
                if state.behind_since is None:
                    state.behind_since = now
                    state.ratios.clear()
                state.ratios.append(ratio)
                if state.entry is None and now - state.behind_since >= self.seconds:
                    state.entry = {"rank": rank, "host": hosts.get(rank), "ratio": 0.0, "since": state.behind_since}
                    state.entry["until"] = None
                    self.entries.append(state.entry)
                    changed = True
                if state.entry is not None:
                    state.entry["ratio"] = round(statistics.median(state.ratios), 3)
            elif state.behind_since is not None and (ratio is not None or not running):
                if state.entry is not None:
                    state.entry["until"] = now
                    changed = True
                state.behind_since, state.entry = None, None
        return changed
