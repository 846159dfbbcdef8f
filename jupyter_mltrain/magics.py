"""IPython magics: ``%%train`` runs a cell on N processes; ``%train_attach`` and ``%train_runs``.

    %load_ext jupyter_mltrain

    %%train --np 2 --mode torch
    ...training code...

The cell becomes the run's ``main.py`` together with the notebook code it uses (see
``capture``); the working folder is packaged as for any run. The cell returns as soon as the
run is submitted, and the live widget keeps updating from the kernel's event loop;
``--wait`` blocks until the end and raises if the run did not complete.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shlex
import sys
import warnings
from collections.abc import Iterator
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, cell_magic, line_magic, magics_class
from IPython.core.magic_arguments import MagicArgumentParser

from jupyter_mltrain.api import Preflight, Run, preflight, submit
from jupyter_mltrain.engine.capture import CellScript, capture_cell, running_cell_count
from jupyter_mltrain.engine.store import Store, default_home
from jupyter_mltrain.hostside.errors import LaunchWarning, MLTrainError, RunNotFound, SpecError
from jupyter_mltrain.options import add_run_options, add_sweep_options, in_flag_terms, parse_params, spec_from_options
from jupyter_mltrain.sweeps import parse_space
from jupyter_mltrain.sweeps.sweep import sweep_from_options

ENTRY = "main.py"


def _train_parser() -> MagicArgumentParser:
    parser = MagicArgumentParser(
        prog="%train",
        description="Run this cell as a training job on N processes, locally or on a configured target. The cell "
        "is the entry script; the notebook's imports, functions, classes and small values it uses are packaged "
        "with it, together with the working folder. Returns at once unless --wait.",
        add_help=False,
    )
    add_run_options(parser)
    parser.add_argument("--source", metavar="DIR", help="folder to package (default: the kernel's working folder)")
    add_sweep_options(parser)
    return parser


def _attach_parser() -> MagicArgumentParser:
    parser = MagicArgumentParser(
        prog="train_attach",
        description="Show the live widget of a run again, with its whole history (e.g. after a kernel restart).",
        add_help=False,
    )
    parser.add_argument("run", nargs="?", help="run id (default: the last run of this notebook)")
    parser.add_argument("--wait", action="store_true", help="block until the run ends")
    return parser


def _runs_parser() -> MagicArgumentParser:
    parser = MagicArgumentParser(prog="train_runs", description="A table of runs, newest first.", add_help=False)
    parser.add_argument("--experiment", metavar="E", help="only this experiment's runs")
    parser.add_argument("--status", help="only runs with this status")
    parser.add_argument("--limit", type=int, default=50, help="at most this many rows (default 50)")
    return parser


def parse_line(parser: MagicArgumentParser, line: str) -> argparse.Namespace:
    """A magic's options from its line, split as a POSIX shell splits (quotes removed, nothing expanded).

    IPython's own ``parse_argstring`` keeps the quotes (``--name 'a b'`` would name the run
    ``'a b'`` with its quotes), so the line is split here as ``mltrain submit``'s shell splits it.
    Any mistake is a ``UsageError``.
    """
    try:
        argv = shlex.split(line, posix=True)
    except ValueError as exc:
        raise UsageError(f"{parser.prog}: cannot split the line ({exc}): {line!r}") from None
    return parser.parse_args(argv)


def _register_parser() -> MagicArgumentParser:
    parser = MagicArgumentParser(
        prog="train_register", description="Register the last run's model as the next version of NAME.", add_help=False
    )
    parser.add_argument("name", help="the model's name")
    parser.add_argument("--path", default="outputs/model", help="the file or folder in the run (default outputs/model)")
    parser.add_argument("--alias", help="point this alias (e.g. champion) at the new version")
    parser.add_argument("--run", help="another run than the last one")
    return parser


TRAIN_PARSER = _train_parser()
REGISTER_PARSER = _register_parser()
ATTACH_PARSER = _attach_parser()
RUNS_PARSER = _runs_parser()


def _report(check: Preflight, script: CellScript) -> str:
    lines = ["Captured from the kernel:" if script.captured else "Captured from the kernel: nothing"]
    width = max((len(c.name) for c in script.captured), default=0)
    lines += [f"  {c.kind:<8} {c.name:<{width}}  {c.detail}" for c in script.captured]
    if script.unresolved:
        lines.append("Not defined anywhere (NameError if used): " + ", ".join(script.unresolved))
    return "\n".join(lines) + "\n\n" + check.report()


@contextlib.contextmanager
def _plain_warnings() -> Iterator[None]:
    """Show our LaunchWarnings as one plain stderr line each, without the path of IPython's code that raised them."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", LaunchWarning)
        yield
    for item in caught:
        if issubclass(item.category, LaunchWarning):
            print(f"{item.message}", file=sys.stderr, flush=True)
        else:
            warnings.showwarning(item.message, item.category, item.filename, item.lineno)


@magics_class
class TrainMagics(Magics):
    """``%%train``, ``%train_attach`` and ``%train_runs``."""

    def __init__(self, shell: Any) -> None:
        super().__init__(shell)
        self.last_run_id: str | None = None
        self.widgets: dict[str, Any] = {}
        self._store: Store | None = None

    @property
    def store(self) -> Store:
        """The run store (``MLTRAIN_HOME``)."""
        if self._store is None or self._store.home != default_home():
            self._store = Store()
        return self._store

    def _notebook(self) -> str | None:
        session = self.shell.user_ns.get("__session__") if self.shell is not None else None
        return str(session) if session else None

    @cell_magic
    def train(self, line: str, cell: str) -> None:
        """``%%train [options]``: run this cell as a training run (``%%train --help`` lists the options)."""
        options = parse_line(TRAIN_PARSER, line)
        notebook = self._notebook()
        count = running_cell_count(self.shell)
        origin: dict[str, Any] = {"kind": "cell", "notebook": notebook, "execution_count": count}
        where = f"cell [{count}] of {os.path.basename(notebook)}" if notebook else f"cell [{count}]"
        try:
            assert self.shell is not None  # a magic runs inside a shell
            swept = tuple(parse_space(options.sweep)) if options.sweep else ()
            script = capture_cell(
                cell,
                self.shell.user_ns,
                params=parse_params(options.param),
                swept=swept,
                shell=self.shell,
                origin=where,
                first_line=2,  # below the %%train line
            )
            files = {ENTRY: script.script.encode(), **script.files}
            # where the cell starts in main.py and in the notebook: failures point back at the cell's lines
            origin.update({"script_line": script.cell_line, "cell_line": 2, "line_map": script.line_map})
            spec = spec_from_options(options, entry=ENTRY, source=options.source or os.getcwd(), origin=origin)
            if options.dry_run:
                from IPython.display import display

                display({"text/plain": _report(preflight(spec, self.store, files=files), script)}, raw=True)
                return
            with _plain_warnings():
                if script.unresolved:
                    warnings.warn(
                        f"mltrain: the cell uses names defined nowhere: {', '.join(script.unresolved)}",
                        LaunchWarning,
                        stacklevel=2,
                    )
                if swept:
                    sweep = sweep_from_options(options, spec, files, self.store).submit()
                    run = sweep.parent
                    print(f"sweep {sweep.id}: {sweep.trials} trials; the widget below is its driver")
                else:
                    run = submit(spec, self.store, files=files)
        except SpecError as exc:
            raise UsageError(f"%%train: {in_flag_terms(exc)}") from None
        except MLTrainError as exc:
            raise UsageError(f"%%train: {exc}") from None
        self.last_run_id = run.id
        self._show(run, wait=options.wait, raise_on_error=True)

    def _show(self, run: Run, *, wait: bool, raise_on_error: bool) -> None:
        from jupyter_mltrain.widget import RunWidget

        widget = RunWidget(run)
        self.widgets[run.id] = widget
        widget.show()
        if not wait:
            widget.start()
            return
        try:
            widget.wait(raise_on_error=raise_on_error)
        except KeyboardInterrupt:
            widget.start()
            print(
                f"Stopped waiting; run {run.id} goes on (the widget stays live; cancel it with its button "
                f"or `mltrain cancel {run.id}`)."
            )

    @line_magic
    def train_attach(self, line: str) -> None:
        """``%train_attach RUN_ID``: show the live widget of a run, from its first line."""
        options = parse_line(ATTACH_PARSER, line)
        run_id = options.run or self._default_run()
        try:
            run = Run(run_id, self.store)
        except RunNotFound as exc:
            raise UsageError(f"%train_attach: {exc}") from None
        self.last_run_id = run.id
        self._show(run, wait=options.wait, raise_on_error=False)

    def _default_run(self) -> str:
        notebook = self._notebook()
        if notebook:
            for record in self.store.list(limit=500):
                try:
                    origin = Run(record.id, self.store).folder.spec_dict().get("origin") or {}
                except (OSError, ValueError, MLTrainError):
                    continue
                if origin.get("notebook") == notebook:
                    return record.id
        if self.last_run_id:
            return self.last_run_id
        raise UsageError("%train_attach: no run of this notebook is known; give a run id (see %train_runs)")

    @line_magic
    def train_register(self, line: str) -> None:
        """``%train_register NAME [--path P] [--alias A]``: register the last run's model; prints its version."""
        options = parse_line(REGISTER_PARSER, line)
        try:
            run = Run(options.run or self._default_run(), self.store)
            model = run.register_model(options.name, path=options.path, alias=options.alias)
        except MLTrainError as exc:
            raise UsageError(f"%train_register: {exc}") from None
        print(f"registered {model.name} version {model.version} ({model.framework or 'framework unknown'})")

    @line_magic
    def train_runs(self, line: str) -> None:
        """``%train_runs``: a table of recent runs."""
        options = parse_line(RUNS_PARSER, line)
        from IPython.display import display

        from jupyter_mltrain.widget.summary import runs_table_html, runs_table_text

        records = self.store.list(experiment=options.experiment, status=options.status, limit=options.limit)
        display({"text/html": runs_table_html(records), "text/plain": runs_table_text(records)}, raw=True)


TrainMagics.train.__doc__ = TRAIN_PARSER.format_help()
TrainMagics.train_attach.__doc__ = ATTACH_PARSER.format_help()
TrainMagics.train_runs.__doc__ = RUNS_PARSER.format_help()


def last_run() -> Run:
    """The run the last ``%%train`` (or ``%train_attach``) of this kernel showed."""
    from IPython import get_ipython

    shell = get_ipython()
    magics = shell.magics_manager.registry.get("TrainMagics") if shell is not None else None
    if magics is None or magics.last_run_id is None:
        raise MLTrainError("no %%train run in this kernel yet")
    return Run(magics.last_run_id, magics.store)


def load_ipython_extension(ipython: Any) -> None:
    """Register the magics (``%load_ext jupyter_mltrain``)."""
    ipython.register_magics(TrainMagics)
