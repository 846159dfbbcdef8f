"""``mltrain sweep``: a hyperparameter search over a script's parameters, and ``mltrain sweep resume|show|cancel``."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import Any

from jupyter_mltrain.cli.tables import print_table
from jupyter_mltrain.engine.spec import RunSpec
from jupyter_mltrain.hostside.errors import MLTrainError
from jupyter_mltrain.options import add_run_options, add_sweep_options

EXIT_OK, EXIT_FAILED = 0, 1
ACTIONS = ("resume", "show", "cancel")

SWEEP_EPILOG = """\
example:
  mltrain sweep --sweep "lr=loguniform(1e-4,1e-1)" --sweep "batch=choice(32,64)" --trials 20 --concurrent 2 \\
                --metric val_loss --goal min --early-stop median --wait train.py --epochs 5
    runs train.py 20 times with --lr and --batch chosen by Optuna's TPE, two at a time, stopping bad trials

distributions: uniform(LOW,HIGH)  loguniform(LOW,HIGH)  int(LOW,HIGH[,STEP])  choice(A,B,...)
each trial is an ordinary run (any --np and --mode); rank 0's values of --metric feed the pruner.
  mltrain sweep resume SWEEP --trials 10    add trials to an ended sweep (the same Optuna study)
  mltrain sweep show SWEEP [--json]         the trials and the best one
  mltrain sweep cancel SWEEP                stop the sweep and its running trials
"""


def add_sweep_command(sub: Any) -> None:
    """Add ``sweep`` to ``mltrain``'s sub-commands."""
    p = sub.add_parser(
        "sweep",
        help="search a script's parameters: many runs, sampled and pruned by Optuna",
        description="Run SCRIPT as many trials with swept parameters. Options go before SCRIPT.",
        epilog=SWEEP_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_run_options(p)
    p.add_argument("--source", help="folder to package (as for submit)")
    add_sweep_options(p)
    p.add_argument("--json", action="store_true", help="print the sweep's record as JSON")
    p.add_argument("script", nargs="?", help="entry script, or resume|show|cancel SWEEP")
    p.add_argument("args", nargs=argparse.REMAINDER, help="arguments for the script")


def _print_record(record: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print(json.dumps(record))
        return
    rows = [
        [str(t["trial"]), t["run"], str(t["status"]), "-" if t["value"] is None else f"{t['value']:.6g}",
         " ".join(f"{k}={v}" for k, v in t["params"].items())]
        for t in record["trials"]
    ]  # fmt: skip
    print_table(rows, ["TRIAL", "RUN", "STATUS", record["metric"].upper(), "PARAMS"])
    best = record["best"]
    print(
        f"sweep {record['id']} ({record['status']}): best "
        + (f"{best['value']:.6g} {best['params']} run {best['run']}" if best else "none yet")
    )


def sweep_command(args: argparse.Namespace, spec_of: Callable[[argparse.Namespace], RunSpec]) -> int:
    """``mltrain sweep …``."""
    from jupyter_mltrain.sweeps import Sweep
    from jupyter_mltrain.sweeps.sweep import sweep_from_options

    if args.script in ACTIONS:
        # options after `resume|show|cancel SWEEP` land in args.args (everything after SCRIPT does): read them here
        rest = argparse.ArgumentParser(prog=f"mltrain sweep {args.script}", exit_on_error=False)
        rest.add_argument("sweep")
        rest.add_argument("--trials", type=int, default=args.trials)
        rest.add_argument("--json", action="store_true", default=args.json)
        rest.add_argument("--wait", action="store_true", default=args.wait)
        try:
            more = rest.parse_args(args.args)
        except (argparse.ArgumentError, SystemExit):
            raise MLTrainError(f"sweep {args.script} SWEEP [--trials N] [--wait] [--json]: got {args.args}") from None
        args.trials, args.json, args.wait = more.trials, more.json, more.wait
        sweep = Sweep.get(more.sweep)
        if args.script == "cancel":
            sweep.cancel()
            print(f"canceling sweep {sweep.id}")
            return EXIT_OK
        if args.script == "resume":
            sweep.resume(args.trials)
            print(
                f"sweep {sweep.id} resumed: {sweep.record()['budget']} trials in all (run {sweep.parent.id})",
                file=sys.stderr,
            )
    else:
        if not args.script:
            raise MLTrainError("sweep: which script? (mltrain sweep [options] SCRIPT [ARGS])")
        sweep = sweep_from_options(args, spec_of(args)).submit()
        print(f"sweep {sweep.id} started (run {sweep.parent.id})", file=sys.stderr, flush=True)
    if args.script == "show" or args.wait:
        record = sweep.wait() if args.wait else sweep.record()
        _print_record(record, args.json)
        return EXIT_OK if record["status"] == "Completed" or not args.wait else EXIT_FAILED
    if args.json:
        print(json.dumps(sweep.record()))
    return EXIT_OK
