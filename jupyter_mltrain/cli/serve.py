"""``mltrain serve`` and ``mltrain services ls|stop``: registered models answering HTTP requests."""

from __future__ import annotations

import argparse
import json
import os
from typing import Any

from jupyter_mltrain.cli.tables import fmt_time, print_table
from jupyter_mltrain.hostside.errors import MLTrainError

EXIT_OK, EXIT_BAD_INPUT = 0, 2

SERVE_EPILOG = """\
protocols (both on one port):
  TensorFlow Serving REST  GET /v1/models/NAME[/versions/V][/metadata]
                           POST /v1/models/NAME[/versions/V]:predict  {"instances": [...]} or {"inputs": ...}
  KServe v2 (Open Inference Protocol, as KServe, Triton and MLServer speak it)
                           GET /v2/health/live|ready, GET /v2/models/NAME[/versions/V][/ready]
                           POST /v2/models/NAME[/versions/V]/infer  {"inputs": [{"name", "shape", "datatype", "data"}]}
  GET /metrics             Prometheus: requests, latency, batch sizes, model-call time

Requests are checked against the model's signature (signature.json, written by jupyter_mltrain.export);
a wrong shape or type, bad JSON or a body over --max-body-mb is answered 400/413 naming what the model takes.
The token may also come from the environment variable MLTRAIN_SERVE_TOKEN (kept off the command line).
"""


def add_serve_commands(sub: Any) -> None:
    """Add ``serve`` and ``services`` to ``mltrain``'s sub-commands."""
    p = sub.add_parser(
        "serve",
        help="serve registered models over HTTP (TF Serving REST and KServe v2)",
        description="Serve MODEL ... (NAME, NAME:VERSION or NAME@ALIAS) until Ctrl-C.",
        epilog=SERVE_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("models", nargs="+", metavar="MODEL", help="NAME, NAME:VERSION or NAME@ALIAS")
    p.add_argument(
        "--host", default="127.0.0.1", help="the address to listen on (default 127.0.0.1: this machine only)"
    )
    p.add_argument("--port", type=int, default=8501, help="the port (default 8501, TF Serving's; 0: any free port)")
    p.add_argument("--token", help="require 'Authorization: Bearer TOKEN' on every request")
    p.add_argument("--max-batch", type=int, default=32, help="most rows per model call (default 32)")
    p.add_argument(
        "--batch-wait", type=float, default=0.0, metavar="MS",
        help="wait up to MS milliseconds for a batch to fill (default 0: run at once when the model is idle)",
    )  # fmt: skip
    p.add_argument(
        "--workers", type=int, default=1,
        help="model calls at once (default 1: on the server's own thread, fastest for calls of milliseconds; "
        "more: on that many threads, for big models whose runtime releases the GIL)",
    )  # fmt: skip
    p.add_argument(
        "--threads", type=int, default=1,
        help="threads per model call, torch and ONNX (default 1: fastest for small models; more for big ones)",
    )  # fmt: skip
    p.add_argument("--max-body-mb", type=int, default=64, help="largest request body in MB (default 64)")
    p.add_argument("--service-id", help=argparse.SUPPRESS)

    p = sub.add_parser("services", help="running model servers: ls, stop", description="Model servers that run now.")
    p.add_argument("action", choices=["ls", "stop"])
    p.add_argument("service", nargs="?", help="stop: the service id (`mltrain services ls` lists them)")
    p.add_argument("--json", action="store_true")


def serve_command(args: argparse.Namespace) -> int:
    """``mltrain serve`` and ``mltrain services …``."""
    from jupyter_mltrain.engine.store import default_home
    from jupyter_mltrain.models.serving import services

    if args.command == "services":
        if args.action == "ls":
            running = services.running()
            if args.json:
                print(json.dumps([s.to_dict() for s in running]))
            else:
                rows = [[s.id, ",".join(s.models), s.url, str(s.pid), fmt_time(s.started)] for s in running]
                print_table(rows, ["ID", "MODELS", "URL", "PID", "STARTED"])
            return EXIT_OK
        if not args.service:
            raise MLTrainError("services stop ID: which service? (`mltrain services ls` lists them)")
        services.get(args.service).stop()
        print(f"stopped {args.service}")
        return EXIT_OK

    from jupyter_mltrain.models.serving.server import ServeConfig, serve

    for flag, value in (
        ("--max-batch", args.max_batch),
        ("--workers", args.workers),
        ("--max-body-mb", args.max_body_mb),
    ):
        if value < 1:
            raise MLTrainError(f"{flag} must be at least 1, got {value}")
    if args.batch_wait < 0 or not 0 <= args.port < 65536:
        raise MLTrainError("--batch-wait must be >= 0 and --port between 0 and 65535")
    config = ServeConfig(
        refs=args.models,
        host=args.host,
        port=args.port,
        token=args.token or os.environ.get(services.TOKEN_ENV) or None,
        max_batch=args.max_batch,
        batch_wait_ms=args.batch_wait,
        workers=args.workers,
        threads=args.threads,
        max_body_mb=args.max_body_mb,
        service_id=args.service_id,
    )
    return serve(config, default_home())
