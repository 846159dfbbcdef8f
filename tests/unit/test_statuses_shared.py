"""The front end's statuses (labextension/src/common/statuses.ts) are the Python enum's, in order."""

from __future__ import annotations

import re
from pathlib import Path

from jupyter_mltrain.engine.store import Status

STATUSES_TS = Path(__file__).resolve().parents[2] / "labextension" / "src" / "common" / "statuses.ts"


def ts_list(name: str) -> list[str]:
    """The string items of `export const NAME = [...]` in statuses.ts."""
    source = STATUSES_TS.read_text(encoding="utf-8")
    match = re.search(rf"export const {name}\b[^=]*=\s*\[(.*?)\]", source, re.S)
    assert match, f"{STATUSES_TS}: no `export const {name} = [...]`"
    return re.findall(r"""['"]([^'"]+)['"]""", match.group(1))


def test_the_front_end_lists_every_status_in_lifecycle_order() -> None:
    assert ts_list("STATUSES") == [s.value for s in Status]


def test_the_front_end_knows_which_statuses_are_final() -> None:
    assert ts_list("FINAL") == [s.value for s in Status if s.final]
