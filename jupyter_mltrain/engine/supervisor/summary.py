"""Each metric's last, min, max and count, as the index keeps them."""

from __future__ import annotations

from typing import Any


class MetricSummary:
    """last/min/max/count of each metric (last from the lowest rank that logged it)."""

    def __init__(self) -> None:
        self.data: dict[str, dict[str, Any]] = {}
        self.dirty = False

    def add(self, rank: int, records: list[dict[str, Any]]) -> None:
        """Fold in one batch of records from ``rank``."""
        for rec in records:
            name = rec.get("name")
            value = rec.get("value")
            if name is None or not isinstance(value, (int, float)) or isinstance(value, bool):
                continue
            entry = self.data.get(name)
            if entry is None:
                self.data[name] = {
                    "last": value,
                    "min": value,
                    "max": value,
                    "count": 1,
                    "step": rec.get("step"),
                    "rank": rank,
                }
                continue
            entry["count"] += 1
            entry["min"] = min(entry["min"], value)
            entry["max"] = max(entry["max"], value)
            if rank <= entry["rank"]:
                entry["last"], entry["step"], entry["rank"] = value, rec.get("step"), rank
        self.dirty = True
