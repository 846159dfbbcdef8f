"""``python -m jupyter_mltrain.engine.supervisor RUN_DIR``: supervise one run (started by ``submit()``)."""

from __future__ import annotations

import sys
from pathlib import Path

from jupyter_mltrain.engine.supervisor.lifecycle import Supervisor


def main(argv: list[str] | None = None) -> int:
    """Entry point: ``python -m jupyter_mltrain.engine.supervisor RUN_DIR``."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m jupyter_mltrain.engine.supervisor RUN_DIR", file=sys.stderr)
        return 2
    return Supervisor(Path(args[0])).run()


if __name__ == "__main__":
    sys.exit(main())
