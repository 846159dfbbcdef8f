"""The run options shared by ``mltrain submit`` and ``%%train``: one definition, one meaning.

``add_run_options`` puts them on an argparse parser (the CLI's, or IPython's
``MagicArgumentParser``); ``spec_from_options`` turns the parsed values into a RunSpec.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from jupyter_mltrain.engine.spec import (
    MODES,
    Distribution,
    Environment,
    RunSpec,
    SnapshotOptions,
    parse_assignments,
    parse_param_value,
)
from jupyter_mltrain.hostside.errors import SpecError


def add_run_options(parser: argparse.ArgumentParser) -> None:
    """Add the options that describe a run (where, how many, which mode, env, inputs, params)."""
    parser.add_argument("--target", default="local", help="compute target from mltrain.toml (default local)")
    parser.add_argument("--np", type=int, default=1, metavar="N", help="processes per node (default 1)")
    parser.add_argument(
        "--nodes", type=int, default=1, metavar="K", help="number of nodes (cluster targets; default 1)"
    )
    parser.add_argument(
        "--mode", default="none", metavar="MODE", help=f"distribution mode: {' | '.join(MODES)} (default none)"
    )
    parser.add_argument("--workers", type=int, metavar="W", help="tf-ps: number of workers")
    parser.add_argument("--ps", type=int, metavar="P", help="tf-ps: number of parameter servers")
    parser.add_argument("--name", help="run name")
    parser.add_argument("--experiment", default="default", metavar="E", help="experiment name (default 'default')")
    parser.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="K=V",
        help="a parameter, recorded with the run; the value is a Python literal or text. A %%%%train cell gets it as a "
        "variable; a script gets `--K V` appended to its arguments (for argparse); every rank reads them all "
        "with jupyter_mltrain.params() -> {K: value}",
    )
    parser.add_argument("--input", action="append", default=[], metavar="NAME=PATH", help="input file or folder")
    parser.add_argument("--env", action="append", default=[], metavar="K=V", help="environment variable for the ranks")
    parser.add_argument(
        "--secret-env",
        action="append",
        default=[],
        metavar="K=V",
        help="environment variable that is never written to disk or shown",
    )
    parser.add_argument(
        "--requirements",
        metavar="FILE",
        help="pip requirements for the ranks: a venv built once per file content, on top of the base",
    )
    parser.add_argument("--gpus", help="comma-separated GPU ids to use (default: all)")
    parser.add_argument(
        "--gpu-policy",
        default="per-rank",
        choices=["per-rank", "all"],
        help="per-rank: one GPU per rank via CUDA_VISIBLE_DEVICES; all: every rank sees all",
    )
    parser.add_argument("--share-gpus", action="store_true", help="allow more ranks than GPUs")
    parser.add_argument("--python", help="interpreter for the ranks (default: this one)")
    parser.add_argument(
        "--snapshot-limit", type=float, default=300.0, metavar="MB", help="snapshot size limit (default 300)"
    )
    parser.add_argument(
        "--grace",
        type=float,
        default=10.0,
        metavar="S",
        help="seconds between SIGTERM and SIGKILL: the ranks' time to write a checkpoint when stopped (default 10)",
    )
    parser.add_argument(
        "--max-restarts",
        type=int,
        default=0,
        metavar="N",
        help="when a rank fails, stop every rank and start the job again as the same run, up to N times "
        "(MLTRAIN_ATTEMPT counts; jupyter_mltrain.checkpoint_dir() persists across attempts; default 0)",
    )
    parser.add_argument(
        "--hang-timeout",
        type=float,
        metavar="S",
        help="report a hang (naming the rank, with every rank's stack) when a rank's interpreter "
        "stops beating or no rank prints or logs anything for S seconds (default: off)",
    )
    parser.add_argument(
        "--telemetry-interval",
        type=float,
        default=1.0,
        metavar="S",
        help="seconds between each rank's system/* metrics (CPU, memory, I/O, host, GPUs); 0: off (default 1)",
    )
    parser.add_argument("--gather-outputs", default="rank0", choices=["rank0", "all"], help="whose ./outputs to keep")
    parser.add_argument("--wait", action="store_true", help="block until the run ends; fail if it did not complete")
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="launch nothing: show what would be packaged and what each rank would get",
    )


def parse_gpus(text: str | None) -> tuple[int, ...] | None:
    """``--gpus 0,2`` as a tuple of ids."""
    if not text:
        return None
    try:
        return tuple(int(g) for g in text.split(","))
    except ValueError:
        raise SpecError("--gpus", f"expected comma-separated integers, got {text!r}") from None


# The flag that sets each RunSpec field: errors about a run described by flags name the flag.
FLAG_OF_FIELD = {
    "target": "--target",
    "distribution": "--mode",
    "distribution.mode": "--mode",
    "distribution.processes_per_node": "--np",
    "distribution.nodes": "--nodes",
    "distribution.workers": "--workers",
    "distribution.parameter_servers": "--ps",
    "distribution.gpus": "--gpus",
    "distribution.gpu_policy": "--gpu-policy",
    "environment.variables": "--env",
    "inputs": "--input",
    "params": "--param",
    "name": "--name",
    "snapshot.size_limit_mb": "--snapshot-limit",
    "gather_outputs": "--gather-outputs",
    "grace_period_s": "--grace",
    "hang_timeout_s": "--hang-timeout",
    "max_restarts": "--max-restarts",
    "telemetry_interval_s": "--telemetry-interval",
}


def in_flag_terms(exc: SpecError) -> SpecError:
    """The same error naming the flag (``--np``) instead of the RunSpec field (``distribution.processes_per_node``)."""
    flag = FLAG_OF_FIELD.get(exc.field)
    text = str(exc)
    if flag is None or not text.startswith(exc.field + ": "):
        return exc
    return SpecError(flag, text[len(exc.field) + 2 :])


def parse_params(items: list[str]) -> dict[str, Any]:
    """``--param K=V`` items, each value read as a Python literal when it is one."""
    return {k: parse_param_value(v) for k, v in parse_assignments(items, "--param").items()}


def spec_from_options(
    options: argparse.Namespace,
    *,
    entry: str,
    source: str,
    args: tuple[str, ...] = (),
    origin: Mapping[str, Any] | None = None,
) -> RunSpec:
    """The RunSpec that parsed run options describe, for ``entry`` inside ``source``."""
    requirements = None
    if options.requirements:
        try:
            requirements = Path(options.requirements).expanduser().read_text()
        except (OSError, RuntimeError, ValueError) as exc:  # RuntimeError: ~user unknown; ValueError: a NUL byte
            why = getattr(exc, "strerror", None) or exc
            raise SpecError("--requirements", f"cannot read {options.requirements!r}: {why}") from None
    variables = parse_assignments(options.env, "--env")
    secrets = parse_assignments(options.secret_env, "--secret-env")
    variables.update(secrets)
    return RunSpec(
        entry=entry,
        source=source,
        args=args,
        target=options.target,
        distribution=Distribution(
            mode=options.mode,
            processes_per_node=options.np,
            nodes=options.nodes,
            workers=options.workers,
            parameter_servers=options.ps,
            gpus=parse_gpus(options.gpus),
            gpu_policy=options.gpu_policy,
            allow_gpu_sharing=options.share_gpus,
        ),
        environment=Environment(
            python=options.python,
            variables=variables,
            secret_names=frozenset(secrets),
            requirements=requirements,
        ),
        inputs=parse_assignments(options.input, "--input"),
        name=options.name,
        experiment=options.experiment,
        params=parse_params(options.param),
        snapshot=SnapshotOptions(size_limit_mb=options.snapshot_limit),
        gather_outputs=options.gather_outputs,
        grace_period_s=options.grace,
        hang_timeout_s=options.hang_timeout,
        max_restarts=options.max_restarts,
        telemetry_interval_s=options.telemetry_interval,
        origin=dict(origin or {}),
    )


def add_sweep_options(parser: argparse.ArgumentParser) -> None:
    """Add the options of a sweep (``mltrain sweep`` and ``%%train --sweep``)."""
    parser.add_argument(
        "--sweep", action="append", default=[], metavar="NAME=DIST(ARGS)",
        help="a swept parameter: uniform(LOW,HIGH), loguniform(LOW,HIGH), int(LOW,HIGH[,STEP]) or choice(A,B,...)",
    )  # fmt: skip
    parser.add_argument("--metric", help="the primary metric the trials log (e.g. val_loss)")
    parser.add_argument("--goal", choices=["min", "max"], default="min", help="minimise or maximise it (default min)")
    parser.add_argument("--trials", type=int, default=10, help="how many trials (default 10; grid: the grid's size)")
    parser.add_argument("--concurrent", type=int, default=1, help="trials at once (default 1; capped by the target)")
    parser.add_argument("--sampler", default="tpe", help="tpe (default), random, grid or cmaes")
    parser.add_argument("--early-stop", default="none", help="median, bandit:slack=0.1, hyperband or none (default)")
    parser.add_argument("--seed", type=int, help="the sampler's seed")
