"""Where runs are kept: one folder per run and a SQLite index of them all.

``MLTRAIN_HOME`` (default: Jupyter's data dir + ``/mltrain``) holds::

    runs.sqlite              the index (WAL): status, stage times, target, exit codes, summaries
    runs/<id>/spec.json      the RunSpec (secret values left out)
    runs/<id>/status.json    the same record as the index row (the folder is the truth)
    runs/<id>/snapshot/      the packaged code; the ranks' working folder
    runs/<id>/env.json       interpreter, packages, hosts, GPUs
    runs/<id>/logs/rank-N.log        every line of rank N, stdout and stderr, in order
    runs/<id>/metrics/rank-N.jsonl   every value rank N logged
    runs/<id>/outputs/       files the run kept

Logs and metrics are append-only; readers follow them by byte offset.

The folders are the truth and the index a fast copy of them: when the index cannot be read
(damaged, or locked past the busy timeout), readers fall back to the folders' ``status.json``;
a write the index refused is kept in the folder and its run id in ``index-behind``, caught up
the next time a Store opens a healthy index. ``mltrain doctor`` (``doctor.py``) rebuilds a
damaged index from the folders.
"""

from jupyter_mltrain.engine.store.folder import RunFolder, parse_metric_lines, sample_metric_lines
from jupyter_mltrain.engine.store.index import IndexUnavailable, Store
from jupyter_mltrain.engine.store.labels import Labels, label_fields
from jupyter_mltrain.engine.store.records import (
    BEHIND_FILE,
    FINAL_STATUSES,
    HEARTBEAT_S,
    STALE_HEARTBEAT_S,
    RootCause,
    RunRecord,
    Status,
    default_home,
    format_duration,
    new_run_id,
    record_from_dict,
    write_json_atomic,
)

__all__ = [
    "BEHIND_FILE",
    "FINAL_STATUSES",
    "HEARTBEAT_S",
    "STALE_HEARTBEAT_S",
    "IndexUnavailable",
    "Labels",
    "RunFolder",
    "RootCause",
    "RunRecord",
    "Status",
    "Store",
    "default_home",
    "format_duration",
    "label_fields",
    "new_run_id",
    "parse_metric_lines",
    "record_from_dict",
    "sample_metric_lines",
    "write_json_atomic",
]
