"""What a capture produces: the entry script, the names carried and the errors."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from jupyter_mltrain.hostside.errors import MLTrainError

INLINE_VALUE_CHARS = 4_000
MAX_VALUE_BYTES = 16 * 1024 * 1024
VALUES_DIR = "_mltrain_values"
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_KERNEL_NAMES = frozenset({"In", "Out", "get_ipython", "exit", "quit", "display"})


class CaptureError(MLTrainError):
    """A name the cell needs cannot be carried into the run."""

    def __init__(self, name: str, message: str) -> None:
        self.name = name
        super().__init__(message)


@dataclass
class Captured:
    """One name carried from the kernel into the script."""

    name: str
    kind: str  # "import", "function", "class", "value" or "param"
    detail: str


@dataclass
class CellScript:
    """The generated entry script and the files it needs beside it."""

    script: str
    files: dict[str, bytes] = field(default_factory=dict)
    captured: list[Captured] = field(default_factory=list)
    unresolved: list[str] = field(default_factory=list)
    cell_line: int = 1  # the line of the script where the cell's first line is
    # which lines of the script come from which notebook cell: {"start", "end" (lines of the script, inclusive),
    # "cell" ("cell [12]"), "execution_count" (None: unknown), "cell_line" (the first one's line in that cell),
    # "what" ("function helper", "the %%train cell")}; the cell's own range last
    line_map: list[dict[str, Any]] = field(default_factory=list)
