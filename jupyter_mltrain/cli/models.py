"""``mltrain register`` and ``mltrain models ls|show|download|alias|rm``: the model registry from a terminal."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from jupyter_mltrain.cli.tables import fmt_time, print_table
from jupyter_mltrain.hostside.errors import MLTrainError

EXIT_OK = 0


def add_model_commands(sub: Any) -> None:
    """Add ``register`` and ``models`` to ``mltrain``'s sub-commands."""
    p = sub.add_parser(
        "register",
        help="register a run's model as the next version of NAME",
        description="Register a file or folder of an ended run (default outputs/model) as the next version of "
        "model NAME; prints the version.",
    )
    p.add_argument("run", help="the run id (`mltrain runs` lists them)")
    p.add_argument("name", help="the model's name")
    p.add_argument("--path", default="outputs/model", help="the file or folder in the run (default outputs/model)")
    p.add_argument("--alias", help="point this alias (e.g. champion) at the new version")
    p.add_argument("--tag", action="append", default=[], metavar="K=V", help="a tag (repeatable)")
    p.add_argument("--description", default="", help="a description")
    p.add_argument("--framework", help="torchscript, torch, keras, tensorflow or onnx (default: detected)")
    p.add_argument("--json", action="store_true", help="print the version's record as JSON")

    p = sub.add_parser(
        "models",
        help="registered models: ls, show, download, alias, rm, export",
        description="MODEL is NAME (the newest version), NAME:VERSION or NAME@ALIAS.",
    )
    p.add_argument("action", choices=["ls", "show", "download", "alias", "rm", "export"])
    p.add_argument("model", nargs="?", help="NAME, NAME:VERSION or NAME@ALIAS (show, download, alias, rm, export)")
    p.add_argument("alias", nargs="?", help="alias: the alias to point at MODEL; export: the directory to write")
    p.add_argument("--format", default="mlflow", choices=["mlflow"], help="export: the format (mlflow)")
    p.add_argument("--to", default=".", help="download: the destination folder (default .)")
    p.add_argument("--json", action="store_true")


def models_command(args: argparse.Namespace) -> int:
    """``mltrain register`` and ``mltrain models …``."""
    from jupyter_mltrain.api import Run
    from jupyter_mltrain.engine.spec import parse_assignments
    from jupyter_mltrain.engine.store import Store
    from jupyter_mltrain.models import Model, Registry
    from jupyter_mltrain.models.registry import parse_ref

    store = Store()
    if args.command == "register":
        model = Run(args.run, store).register_model(
            args.name,
            path=args.path,
            framework=args.framework,
            tags=parse_assignments(args.tag, "--tag"),
            description=args.description,
            alias=args.alias,
        )
        print(json.dumps(model.to_dict()) if args.json else model.version)
        return EXIT_OK
    registry = Registry(store.home)
    if args.action == "ls":
        models: list[Model] = registry.list()
        if args.json:
            print(json.dumps([m.to_dict() for m in models]))
        else:
            rows = [
                [m.name, str(m.version), ",".join(m.aliases), m.framework or "-", m.run_id or "-", fmt_time(m.created)]
                for m in models
            ]
            print_table(rows, ["NAME", "VERSION", "ALIASES", "FRAMEWORK", "RUN", "CREATED"])
        return EXIT_OK
    name, version, alias = parse_ref(args.model)
    model = registry.get(name, version=version, alias=alias)
    if args.action == "show":
        data = model.to_dict()
        if args.json:
            print(json.dumps(data))
        else:
            for key in ("name", "version", "aliases", "framework", "framework_version", "run_id", "tags", "size"):
                print(f"{key:18} {data[key]}")
            print(f"{'files':18} {', '.join(sorted(model.files))}")
        return EXIT_OK
    if args.action == "download":
        print(registry.download(model, Path(args.to)))
        return EXIT_OK
    if args.action == "alias":
        if not args.alias:
            raise MLTrainError("models alias NAME:VERSION ALIAS: which alias?")
        registry.set_alias(model.name, args.alias, model.version)
        print(f"{model.name}@{args.alias} -> version {model.version}")
        return EXIT_OK
    if args.action == "export":
        from jupyter_mltrain.models.mlflow_export import export_mlflow

        if not args.alias:
            raise MLTrainError("models export NAME[:VERSION] --format mlflow DIR: which directory?")
        print(export_mlflow(registry, model, Path(args.alias)))
        return EXIT_OK
    registry.delete(model.name, model.version)
    print(f"removed {model.name} version {model.version}")
    return EXIT_OK
