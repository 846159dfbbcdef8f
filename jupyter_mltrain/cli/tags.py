"""``mltrain tag RUN [TAG ...] [--remove TAG] [--note TEXT]``: a run's tags and note from a terminal."""

from __future__ import annotations

import argparse
import json
from typing import Any

EXIT_OK = 0


def add_tag_command(sub: Any) -> None:
    """Add ``tag`` to ``mltrain``'s sub-commands."""
    p = sub.add_parser(
        "tag",
        help="add or remove a run's tags, set its note",
        description="Add TAGs to RUN (kept once each, in order), remove them with --remove, set the note with "
        "--note (--note '' clears it); prints the run's tags and note. With no change, only prints them.",
    )
    p.add_argument("run", help="the run id (`mltrain runs` lists them)")
    p.add_argument("tags", nargs="*", metavar="TAG", help="tags to add")
    p.add_argument("--remove", action="append", default=[], metavar="TAG", help="a tag to remove (repeatable)")
    p.add_argument("--note", help="the run's note (replaces the one it has)")
    p.add_argument("--json", action="store_true", help="print the run record as JSON")


def tag_command(args: argparse.Namespace) -> int:
    """``mltrain tag``: change the run's tags and note, then print them."""
    from jupyter_mltrain.api import Run
    from jupyter_mltrain.engine.store import Store

    run = Run(args.run, Store())
    if args.tags or args.remove:
        removed = set(args.remove)
        run.tags = [t for t in run.tags + list(args.tags) if t not in removed]
    if args.note is not None:
        run.note = args.note
    record = run.record
    if args.json:
        print(json.dumps(record.to_dict()))
    else:
        print(f"{'tags':6} {', '.join(record.tags) or '-'}")
        print(f"{'note':6} {record.note or '-'}")
    return EXIT_OK
