"""A run's model into the registry, with where it came from: the run, its spec, params, metrics, snapshot, env."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from jupyter_mltrain.engine.store import RunFolder, RunRecord
from jupyter_mltrain.hostside.errors import MLTrainError
from jupyter_mltrain.models.registry import Model, Registry


def register_run_model(
    registry: Registry,
    record: RunRecord,
    folder: RunFolder,
    name: str,
    path: str,
    *,
    framework: str | None = None,
    framework_version: str | None = None,
    tags: dict[str, str] | None = None,
    description: str = "",
    alias: str | None = None,
) -> Model:
    """Register ``path`` of the ended run ``record`` as the next version of ``name``."""
    if not record.final:
        raise MLTrainError(f"run {record.id} is {record.status}: register its model once it has ended")
    where = folder.resolve(path)

    def read_json(rel: str) -> Any:
        try:
            return json.loads((folder.path / rel).read_text())
        except (OSError, ValueError):
            return None

    manifest = folder.path / "manifest.json"
    source = {
        "run": {"id": record.id, "name": record.name, "experiment": record.experiment, "status": record.status},
        "path": path,
        "spec": read_json("spec.json"),
        "params": dict(record.params),
        "metrics": {k: v.get("last") for k, v in record.metrics.items()},
        "snapshot": hashlib.sha256(manifest.read_bytes()).hexdigest() if manifest.exists() else None,
        "env": read_json("env.json"),
    }
    return registry.register(
        name,
        where,
        run_id=record.id,
        source=source,
        framework=framework,
        framework_version=framework_version,
        tags=tags,
        description=description,
        alias=alias,
    )
