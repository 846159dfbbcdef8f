"""The supervisor: one detached process per run, owning its lifecycle.

Usage (by ``submit()``, not by people)::

    python -m jupyter_mltrain.engine.supervisor RUN_DIR

It moves the run through ``Queued → Preparing → Running → Finalizing → Completed | Failed |
Canceled``, writes a heartbeat to the index, routes every rank's frames to
``logs/rank-N.log`` and ``metrics/rank-N.jsonl`` (on disk before anyone is told), and keeps
a summary of each metric. When one rank fails, or a cancel arrives (SIGTERM or SIGINT to
this process), every rank gets SIGTERM and, after the grace period, SIGKILL; the root cause
(first failing rank, host, exit code or signal, time, traceback) is recorded. Last, any
process still carrying the run's marker is killed, so nothing is left behind.
"""

from jupyter_mltrain.engine.supervisor.failures import extract_traceback, signal_description
from jupyter_mltrain.engine.supervisor.lifecycle import Supervisor
from jupyter_mltrain.engine.supervisor.summary import MetricSummary

__all__ = ["MetricSummary", "Supervisor", "extract_traceback", "signal_description"]
