"""``mltrain``: submit runs and read them from a terminal or a script.

    mltrain submit [--np N] [--mode MODE] [--target T] [--name NAME] [--experiment E]
                   [--input NAME=PATH] [--env K=V] [--wait] [--json] SCRIPT [ARGS...]
    mltrain runs [--experiment E] [--json]
    mltrain show RUN [--json]
    mltrain logs RUN [--rank R] [-f]
    mltrain metrics RUN [--json]
    mltrain cancel RUN
    mltrain outputs RUN --to DIR
    mltrain targets [--json]
    mltrain register RUN NAME [--path P] [--alias A]; mltrain models ls|show|download|alias|rm|export
    mltrain serve MODEL ... [--port P] [--token T] [--max-batch N]; mltrain services ls|stop
    mltrain sweep --sweep "lr=loguniform(1e-4,1e-1)" --trials N --metric M [--wait] SCRIPT; sweep resume|show|cancel ID

Options come before SCRIPT; everything after SCRIPT goes to the script, as with torchrun.
Exit codes: 0 success, 1 a run that did not complete (``--wait``), 2 bad input.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, cast

from jupyter_mltrain.cli.models import add_model_commands, models_command
from jupyter_mltrain.cli.serve import add_serve_commands, serve_command
from jupyter_mltrain.cli.sweep import add_sweep_command, sweep_command
from jupyter_mltrain.cli.tables import fmt_time as _fmt_time
from jupyter_mltrain.cli.tables import print_table as _print_table
from jupyter_mltrain.cli.tags import add_tag_command, tag_command
from jupyter_mltrain.engine.spec import RunSpec
from jupyter_mltrain.hostside.errors import MLTrainError, RunFailed, SpecError
from jupyter_mltrain.options import add_run_options, in_flag_terms, spec_from_options

EXIT_OK, EXIT_RUN_FAILED, EXIT_BAD_INPUT = 0, 1, 2


SUBMIT_EPILOG = """\
example:
  mltrain submit --np 2 --mode torch --param lr=0.01 --wait train.py --epochs 3
    runs `python train.py --epochs 3 --lr 0.01` as 2 torch.distributed ranks and streams rank 0's log

what each mode sets for the program:
  none      one process: nothing (as `python train.py`); N processes: RANK, LOCAL_RANK, WORLD_SIZE,
            MASTER_ADDR/PORT, so frameworks that look for peers find them
  torch     what torchrun sets: RANK, LOCAL_RANK, WORLD_SIZE, LOCAL_WORLD_SIZE, MASTER_ADDR/PORT, GROUP_RANK,
            TORCHELASTIC_*; OMP_NUM_THREADS=1
  mpi       ranks started by mpirun (OMPI_COMM_WORLD_*), and RANK, WORLD_SIZE, MASTER_ADDR/PORT; an uncaught
            exception ends its rank at once (as `python -m mpi4py`)
  horovod   as mpi, for horovodrun programs
  tf        TF_CONFIG for MultiWorkerMirroredStrategy; TF_USE_LEGACY_KERAS=1 unless you set it
  tf-ps     TF_CONFIG with a chief, --workers W and --ps P parameter servers

runs are kept in $MLTRAIN_HOME (default: Jupyter's data dir + /mltrain): runs/<id>/ holds spec.json,
snapshot/, logs/rank-N.log, metrics/rank-N.jsonl, outputs/ and env.json. `mltrain runs` lists them.
Ctrl-C during --wait cancels the run (every rank is stopped; what it logged so far is kept).
"""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # argparse's own usage errors: exit 2 with one line
        self.exit(EXIT_BAD_INPUT, f"mltrain: error: {message}\n(see `{self.prog} --help`)\n")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``mltrain``."""
    parser = _Parser(prog="mltrain", description="Train on local CPUs/GPUs or a cluster; keep every log and metric.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser(
        "submit",
        help="package a script and start a run",
        description="Package SCRIPT's folder "
        "and start a run. Options go before SCRIPT; what follows SCRIPT is passed to it.",
        epilog=SUBMIT_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_run_options(p)
    p.add_argument(
        "--source",
        help="folder to package (default: the current folder, or the script's folder if the script lies outside it)",
    )
    p.add_argument("--quiet", action="store_true", help="with --wait, do not stream rank 0's log")
    p.add_argument("--json", action="store_true", help="print the run record as JSON")
    p.add_argument("script", nargs="?", help="entry script (required)")
    p.add_argument("args", nargs=argparse.REMAINDER, help="arguments for the script (optional)")

    p = sub.add_parser("runs", help="list runs, newest first")
    p.add_argument("--experiment")
    p.add_argument("--status")
    p.add_argument("--limit", type=int, default=None)
    p.add_argument("--json", action="store_true")

    p = sub.add_parser(
        "show",
        help="one run's record",
        description="Print one run's record: status, times, target, "
        "mode, ranks, exit codes, root cause, metric summaries, params.",
    )
    p.add_argument("run", help="the run id (`mltrain runs` lists them)")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("logs", help="a rank's log", description="Print one rank's log (stdout and stderr, in order).")
    p.add_argument("run", help="the run id (`mltrain runs` lists them)")
    p.add_argument("--rank", type=int, default=0, help="which rank's log, from 0 to the run's ranks - 1 (default 0)")
    p.add_argument("-f", "--follow", action="store_true", help="keep printing until the run ends")

    p = sub.add_parser("metrics", help="every logged metric value")
    p.add_argument("run", help="the run id (`mltrain runs` lists them)")
    p.add_argument("--json", action="store_true")
    p.add_argument(
        "--every-attempt",
        action="store_true",
        help="after restarts, every attempt's values (default: a step's value from the latest attempt that logged it)",
    )

    p = sub.add_parser("cancel", help="stop a run")
    p.add_argument("run")

    p = sub.add_parser("outputs", help="copy a run's outputs")
    p.add_argument("run")
    p.add_argument("--to", required=True, help="destination folder")

    p = sub.add_parser("targets", help="configured compute targets; `targets check NAME` reaches each host")
    p.add_argument(
        "action", nargs="?", choices=["check"], help="check: per host reachable, python, mpirun, slots, GPUs"
    )
    p.add_argument("target", nargs="?", help="the target to check")
    p.add_argument("--json", action="store_true")

    add_model_commands(sub)
    add_serve_commands(sub)
    add_sweep_command(sub)
    add_tag_command(sub)

    p = sub.add_parser(
        "doctor",
        help="check the run index against the run folders and rebuild it from them",
        description="Check the run index against the run folders (the truth); rebuild a damaged "
        "index from them, index runs it missed, drop rows whose folder is gone.",
    )
    p.add_argument("--check", action="store_true", help="only report; exit 1 if anything needs repair")
    p.add_argument("--json", action="store_true")
    return parser


def spec_from_args(args: argparse.Namespace) -> RunSpec:
    """The RunSpec that ``mltrain submit`` options describe."""
    script = Path(args.script)
    if args.source:
        source = Path(args.source).resolve()
        entry_path = script if script.is_absolute() else source / script
    else:
        cwd = Path.cwd().resolve()
        entry_path = (cwd / script).resolve() if not script.is_absolute() else script.resolve()
        source = cwd if cwd in entry_path.parents else entry_path.parent
    try:
        entry = str(entry_path.resolve().relative_to(source.resolve()))
    except ValueError:
        raise MLTrainError(f"script {args.script!r} is not inside the source folder {str(source)!r}") from None
    return spec_from_options(
        args,
        entry=entry,
        source=str(source),
        args=tuple(args.args),
        origin={"kind": "script", "script": str(entry_path), "cwd": os.getcwd()},
    )


def _main_metric(metrics: dict[str, dict[str, Any]]) -> str:
    for name in ("loss", "val_loss", "accuracy"):
        if name in metrics:
            return f"{name}={metrics[name]['last']:.4g}"
    if metrics:
        name = sorted(metrics)[0]
        return f"{name}={metrics[name]['last']:.4g}"
    return ""


def _check_target(args: argparse.Namespace) -> int:
    """``mltrain targets check NAME``: exit 0 when every host is reachable and ready."""
    from jupyter_mltrain.engine.targets import SSHClusterTarget, resolve_target

    if not args.target:
        raise MLTrainError("targets check: which target? (`mltrain targets` lists them)")
    target = resolve_target(args.target)
    if target.kind == "local":
        import platform

        from jupyter_mltrain.engine.gpus import detect_gpus

        rows = [
            {
                "host": "local",
                "reachable": True,
                "slots": os.cpu_count(),
                "python": platform.python_version(),
                "mpirun": shutil.which(target.mpirun),
                "cpus": os.cpu_count(),
                "gpus": [g.index for g in detect_gpus()],
                "message": "ok",
            }
        ]
    elif isinstance(target, SSHClusterTarget):
        from jupyter_mltrain.engine.ssh import SSHConnection, check_mpi_launch, check_target

        connection = SSHConnection.from_target(target)
        rows = [h.to_dict() for h in check_target(connection)]
        if all(r["reachable"] and r["message"] == "ok" for r in rows):
            # what the notebook's host cannot see: mpirun from the head to every host, as a run starts
            launch = check_mpi_launch(connection, target.mpirun_args)
            rows[0]["mpirun_launch"] = launch
            if launch != "ok":
                rows[0]["message"] = launch
    else:
        raise MLTrainError(f"targets check: no check for {target.kind} targets in this version")
    if args.json:
        print(json.dumps(rows))
    else:
        _print_table(
            [
                [
                    str(r["host"]),
                    "yes" if r["reachable"] else "NO",
                    str(r.get("python") or "-"),
                    str(r.get("mpirun") or "-"),
                    str(r.get("slots")),
                    str(r.get("cpus") or "-"),
                    str(len(cast(list[Any], r.get("gpus") or []))),
                    str(r.get("message") or ""),
                ]
                for r in rows
            ],
            ["HOST", "REACHABLE", "PYTHON", "MPIRUN", "SLOTS", "CPUS", "GPUS", "MESSAGE"],
        )
        if rows and "mpirun_launch" in rows[0]:
            print(f"mpirun from {rows[0]['host']} to every host: {rows[0]['mpirun_launch']}")
    ready = all(r["reachable"] and r.get("message") == "ok" for r in rows)
    return EXIT_OK if ready else EXIT_RUN_FAILED


def run_command(args: argparse.Namespace) -> int:
    """Run one parsed ``mltrain`` command; return its exit code."""
    from jupyter_mltrain.api import Run, preflight, submit
    from jupyter_mltrain.engine.store import Store, format_duration

    if args.command == "submit":
        if not args.script:
            raise MLTrainError("submit: which script? usage: mltrain submit [OPTIONS] SCRIPT [ARGS...]")
        spec = spec_from_args(args)
        store = Store()
        if args.dry_run:
            check = preflight(spec, store)
            print(json.dumps(check.to_dict()) if args.json else check.report())
            return EXIT_OK
        run = submit(spec, store)
        if not args.wait:
            print(json.dumps(run.record.to_dict()) if args.json else run.id)
            return EXIT_OK
        print(run.id, file=sys.stderr, flush=True)  # first, so a Ctrl-C or a lost terminal still knows the run
        try:
            record = run.wait(
                show_output=not (args.quiet or args.json),
                raise_on_error=False,
                stream=sys.stderr if args.json else sys.stdout,
            )
        except KeyboardInterrupt:
            print(
                f"\nmltrain: Ctrl-C: canceling run {run.id}; every rank is stopped, and what it wrote so far is kept",
                file=sys.stderr,
                flush=True,
            )
            run.cancel(by="mltrain submit --wait (Ctrl-C)")
            record = run.wait(raise_on_error=False)
            print(f"mltrain: run {run.id} {record.status}", file=sys.stderr, flush=True)
        if args.json:
            print(json.dumps(record.to_dict()))
        return EXIT_OK if record.status == "Completed" else EXIT_RUN_FAILED

    if args.command in ("register", "models"):
        return models_command(args)
    if args.command in ("serve", "services"):
        return serve_command(args)
    if args.command == "sweep":
        return sweep_command(args, spec_from_args)
    if args.command == "tag":
        return tag_command(args)
    if args.command == "doctor":
        from jupyter_mltrain.doctor import main_report

        text, healthy = main_report(None, args.check, args.json)
        print(text)
        return EXIT_OK if healthy else EXIT_RUN_FAILED

    store = Store()
    if args.command == "runs":
        records = store.list(experiment=args.experiment, status=args.status, limit=args.limit)
        if store.degraded:
            print(
                f"mltrain: warning: the run index cannot be used ({store.index_error}); listed from the run "
                "folders. `mltrain doctor` rebuilds it.",
                file=sys.stderr,
            )
        if args.json:
            print(json.dumps([r.to_dict() for r in records]))
        else:
            _print_table(
                [
                    [
                        r.id,
                        r.experiment,
                        r.name,
                        r.status,
                        r.target,
                        r.mode,
                        str(r.ranks),
                        _fmt_time(r.created),
                        format_duration(r.duration),
                        _main_metric(r.metrics),
                    ]
                    for r in records
                ],
                ["ID", "EXPERIMENT", "NAME", "STATUS", "TARGET", "MODE", "RANKS", "CREATED", "DURATION", "METRIC"],
            )
        return EXIT_OK
    if args.command == "targets" and args.action == "check":
        return _check_target(args)
    if args.command == "targets":
        from jupyter_mltrain.engine.targets import load_targets

        targets = load_targets()
        if args.json:
            print(
                json.dumps(
                    [{"name": t.name, "kind": t.kind, "source": t.source, **t.settings()} for t in targets.values()]
                )
            )
        else:
            _print_table([[t.name, t.kind, t.source] for t in targets.values()], ["NAME", "KIND", "SOURCE"])
        return EXIT_OK

    run = Run(args.run, store)
    if args.command == "show":
        record = run.record
        if args.json:
            print(json.dumps(record.to_dict()))
        else:
            for key, value in record.to_dict().items():
                print(f"{key:15} {json.dumps(value) if isinstance(value, (dict, list)) else value}")
        return EXIT_OK
    if args.command == "logs":
        if args.follow:
            for text in run.logs(rank=args.rank, follow=True):
                sys.stdout.write(text)
                sys.stdout.flush()
        else:
            sys.stdout.write(str(run.logs(rank=args.rank)))
        return EXIT_OK
    if args.command == "metrics":
        metrics = run.metrics(every_attempt=args.every_attempt)
        keys = ("rank", "name", "value", "step", "time", "attempt")
        if args.json:
            print(json.dumps([{k: m.get(k, 1 if k == "attempt" else None) for k in keys} for m in metrics]))
        else:
            _print_table(
                [
                    [
                        str(m["rank"]),
                        m["name"],
                        str(m["value"]),
                        str(m.get("step")),
                        _fmt_time(m["time"]),
                        str(m.get("attempt", 1)),
                    ]
                    for m in metrics
                ],
                ["RANK", "NAME", "VALUE", "STEP", "TIME", "ATTEMPT"],
            )
        return EXIT_OK
    if args.command == "cancel":
        if run.cancel(by="mltrain cancel"):
            print(f"canceling {run.id}")
        else:
            print(f"run {run.id} is not running ({run.status})")
        return EXIT_OK
    if args.command == "outputs":
        dest = Path(args.to)
        dest.mkdir(parents=True, exist_ok=True)
        outputs = run.folder.path / "outputs"
        count = 0
        for path in sorted(outputs.rglob("*")) if outputs.is_dir() else []:
            if path.is_file():
                run.download(str(path.relative_to(run.folder.path)), dest / path.relative_to(outputs))
                count += 1
        print(f"copied {count} file(s) to {dest}")
        return EXIT_OK
    raise AssertionError(args.command)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``mltrain``."""
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra and getattr(args, "action", None) == "export" and args.alias is None and len(extra) == 1:
        args.alias = extra[0]  # `models export NAME --format mlflow DIR`: argparse takes no positional after an option
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    try:
        return run_command(args)
    except RunFailed as exc:
        print(f"mltrain: {exc}", file=sys.stderr)
        return EXIT_RUN_FAILED
    except SpecError as exc:
        print(f"mltrain: error: {in_flag_terms(exc) if args.command == 'submit' else exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except (MLTrainError, ValueError) as exc:
        print(f"mltrain: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
