"""A %%train cell as a standalone entry script (see the package docstring)."""

from __future__ import annotations

import ast
import builtins
import io
import pickle
import time
import types
from collections.abc import Callable, Mapping
from typing import Any

from IPython.core.inputtransformer2 import TransformerManager

from jupyter_mltrain.engine.capture.captured import (
    _IDENTIFIER,
    _KERNEL_NAMES,
    MAX_VALUE_BYTES,
    VALUES_DIR,
    Captured,
    CaptureError,
    CellScript,
)
from jupyter_mltrain.engine.capture.names import free_names
from jupyter_mltrain.engine.capture.objects import (
    _class_source,
    _defined_in,
    _describe,
    _function_source,
    _import_line,
    _importable_path,
    _is_numpy,
    _is_plain,
    _literal,
    running_cell_count,
)


class _Builder:
    def __init__(
        self, namespace: Mapping[str, Any], shell: Any, cell_bound: set[str], params: Mapping[str, Any]
    ) -> None:
        self.namespace = namespace
        self.shell = shell
        self.cell_bound = cell_bound
        self.params = params
        self.imports: list[str] = []
        self.values: list[str] = []
        self.definitions: list[str] = []
        self.origins: list[dict[str, Any] | None] = []  # per definition: the cell it came from, when known
        self.files: dict[str, bytes] = {}
        self.captured: list[Captured] = []
        self.unresolved: list[str] = []
        self.done: set[str] = set()
        self.needs_loader = False

    def add(self, name: str, used_by: str) -> None:
        if name in self.done or name in self.params or name in _KERNEL_NAMES:
            return
        self.done.add(name)
        if name not in self.namespace:
            if not hasattr(builtins, name):
                self.unresolved.append(name)
            return
        value = self.namespace[name]
        if hasattr(builtins, name) and getattr(builtins, name) is value:
            return
        hidden = getattr(self.shell, "user_ns_hidden", None) or {}
        if hasattr(builtins, name) and hidden.get(name) is value:
            return  # the shell's own wrapper of a builtin (IPython's `open`): the run has the builtin
        if isinstance(value, types.ModuleType):
            line = _import_line(name, value)
            self.imports.append(line)
            self.captured.append(Captured(name, "import", line))
            return
        if getattr(value, "__module__", None) == "__main__":
            wrapped = getattr(value, "__wrapped__", None)  # e.g. @functools.lru_cache: its source has the decorator
            if isinstance(value, (types.FunctionType, type)) or isinstance(wrapped, types.FunctionType):
                self._add_definition(name, value if isinstance(value, (types.FunctionType, type)) else wrapped)
                return
        path = _importable_path(value)
        if path is not None and not _is_plain(value) and not _is_numpy(value):
            module, qualname = path
            top = qualname.split(".")[0]
            line = f"from {module} import {top}" + (f" as {name}" if top != name or "." in qualname else "")
            if "." in qualname:
                line = f"from {module} import {top} as _mltrain_{top}\n{name} = _mltrain_{qualname}"
            self.imports.append(line)
            self.captured.append(Captured(name, "import", line.splitlines()[0]))
            return
        self._add_value(name, value, used_by)

    def _add_definition(self, name: str, value: Any) -> None:
        if isinstance(value, type):
            source = _class_source(value, self.shell)
            kind, real = "class", value.__name__
        else:
            if value.__closure__:
                raise CaptureError(
                    name,
                    f"cannot capture function {name!r}: it is a closure made inside another function. "
                    "Define it at the top level of a cell, or inside the %%train cell.",
                )
            source = _function_source(value)
            kind, real = "function", value.__name__
        if source is None:
            raise CaptureError(
                name,
                f"cannot find the source of {kind} {name!r} (defined with exec, or its cell is gone). "
                "Run the cell that defines it again, or define it inside the %%train cell.",
            )
        if real == "<lambda>":
            source = f"{name} = {source}"
            real = name
        try:
            used, bound = free_names(source, f"<{kind} {name}>")
        except SyntaxError as exc:
            raise CaptureError(name, f"cannot parse the source of {kind} {name!r}: {exc}") from None
        for dep in used:
            if dep != real and dep not in self.cell_bound:
                self.add(dep, used_by=name)
        self.definitions.append(source.rstrip() + "\n")
        where = _defined_in(value, self.shell)
        if where is not None and where[0] is not None:
            self.origins.append({"execution_count": where[0], "cell_line": where[1], "what": f"{kind} {real}"})
        else:
            self.origins.append(None)
        if real != name:
            self.add(real, used_by=name)
            self.definitions.append(f"{name} = {real}\n")
            self.origins.append(None)
        self.captured.append(Captured(name, kind, f"{kind} {real}" + (f" as {name}" if real != name else "")))

    def _add_value(self, name: str, value: Any, used_by: str) -> None:
        where = f" (used by {used_by})" if used_by != "<cell>" else ""
        if _is_numpy(value):
            nbytes = int(getattr(value, "nbytes", 0))
            if nbytes > MAX_VALUE_BYTES or getattr(value, "dtype", None) is not None and value.dtype.hasobject:
                raise self._refuse(name, value, where)
            import numpy

            buf = io.BytesIO()
            numpy.save(buf, value, allow_pickle=False)
            self.files[f"{VALUES_DIR}/{name}.npy"] = buf.getvalue()
            self.needs_loader = True
            self.values.append(f"{name} = _mltrain_value({name!r}, 'npy')")
            self.captured.append(Captured(name, "value", f"numpy {getattr(value, 'shape', ())} {value.dtype}"))
            return
        if not _is_plain(value):
            raise self._refuse(name, value, where)
        literal = _literal(value)
        if literal is not None:
            self.values.append(f"{name} = {literal}")
            self.captured.append(
                Captured(
                    name, "value", f"{type(value).__name__} = {literal if len(literal) < 60 else literal[:57] + '...'}"
                )
            )
            return
        data = pickle.dumps(value, protocol=4)
        if len(data) > MAX_VALUE_BYTES:
            raise self._refuse(name, value, where)
        self.files[f"{VALUES_DIR}/{name}.pkl"] = data
        self.needs_loader = True
        self.values.append(f"{name} = _mltrain_value({name!r}, 'pkl')")
        self.captured.append(Captured(name, "value", f"{type(value).__name__}, {len(data)} bytes"))

    def _refuse(self, name: str, value: Any, where: str) -> CaptureError:
        return CaptureError(
            name,
            f"cannot carry variable {name!r} ({_describe(value)}){where} into the run: only modules, "
            "notebook functions/classes and small plain values travel. Create it inside the %%train cell, "
            f"pass it with --param {name}=VALUE, or save it to a file and pass --input {name}=PATH.",
        )


_LOADER = '''\
def _mltrain_value(name, kind):
    """Load a value captured from the notebook's kernel (saved beside this script)."""
    import os
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "{dir}", name + "." + kind)
    if kind == "npy":
        import numpy
        return numpy.load(path, allow_pickle=False)
    import pickle
    with open(path, "rb") as fh:
        return pickle.load(fh)
'''


def check_cell_syntax(cell: str, first_line: int = 1) -> None:
    """Refuse IPython-only syntax (magics, shell escapes) that cannot run in a rank, naming its line.

    IPython's own reader finds it, so a ``%`` or ``!`` inside a string is text. ``first_line`` is the
    number the cell's first line has where the user sees it (2 below a ``%%train`` line).
    """
    lines = cell.splitlines()
    try:
        ast.parse(cell)
    except SyntaxError:
        transformed = TransformerManager().transform_cell(cell)
        if transformed.count("\n") == cell.rstrip("\n").count("\n") + 1:  # same lines, IPython syntax replaced
            for number, (before, after) in enumerate(zip(lines, transformed.splitlines(), strict=False)):
                if before != after and "get_ipython()" in after:
                    text = before.strip()
                    token = next((t for t in text.split() if t.startswith(("%", "!"))), text.split()[0])
                    raise CaptureError(
                        "",
                        f"line {number + first_line} of the cell ({text!r}) is IPython syntax ({token!r}), "
                        "which cannot run in a rank: remove it or write it as Python "
                        "(e.g. subprocess.run for shell commands).",
                    )
        try:
            ast.parse(transformed)
        except SyntaxError as exc:
            line = (exc.lineno or 1) + first_line - 1
            raise CaptureError("", f"the cell has a syntax error on line {line}: {exc.msg}") from None
        raise CaptureError("", "the cell uses IPython syntax, which cannot run in a rank: write it as Python") from None


def capture_cell(
    cell: str,
    namespace: Mapping[str, Any],
    *,
    params: Mapping[str, Any] | None = None,
    swept: tuple[str, ...] = (),
    shell: Any = None,
    origin: str = "a notebook cell",
    clock: Callable[[], float] = time.time,
    first_line: int = 1,
) -> CellScript:
    """Build the entry script for ``cell`` using what ``namespace`` (the kernel's globals) holds.

    ``params`` are set in the script as literals; ``swept`` names (a sweep's) are read when it runs, from
    ``jupyter_mltrain.params()``, since each trial has its own values.
    """
    params = dict(params or {})
    for key in [*params, *swept]:
        if not _IDENTIFIER.match(key):
            raise CaptureError(key, f"--param {key}=…: {key!r} is not a Python variable name")
    check_cell_syntax(cell, first_line)
    used, bound = free_names(cell)
    builder = _Builder(namespace, shell, bound, {**params, **dict.fromkeys(swept)})
    for name in used:
        builder.add(name, used_by="<cell>")
    stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(clock()))
    parts = [
        f"# main.py: generated by jupyter_mltrain from {origin} ({stamp}).\n"
        "# Edit the notebook, not this file: it is made again on every submit.\n"
    ]
    if builder.imports:
        parts.append(
            "# imports the cell uses, as the kernel had them\n" + "\n".join(dict.fromkeys(builder.imports)) + "\n"
        )
    if builder.needs_loader:
        parts.append(_LOADER.format(dir=VALUES_DIR))
    if builder.values:
        parts.append("# values from the kernel\n" + "\n".join(builder.values) + "\n")
    if params:
        lines = [f"{k} = {_literal(v) if _literal(v) is not None else repr(v)}" for k, v in params.items()]
        parts.append("# parameters (--param)\n" + "\n".join(lines) + "\n")
        builder.captured += [Captured(k, "param", repr(v)) for k, v in params.items()]
    if swept:
        lines = ["from jupyter_mltrain import params as _mltrain_params", ""]
        lines += [f"{k} = _mltrain_params()[{k!r}]" for k in swept]
        parts.append("# swept parameters (--sweep): this trial's values\n" + "\n".join(lines) + "\n")
        builder.captured += [Captured(k, "param", "swept") for k in swept]
    line_map: list[dict[str, Any]] = []
    if builder.definitions:
        line = "\n".join(parts).count("\n") + 3  # the parts, the blank line joining them, then the header
        for text, where in zip(builder.definitions, builder.origins, strict=True):
            if where is not None:
                line_map.append({"start": line, "end": line + text.count("\n") - 1, **where})
            line += text.count("\n") + 2  # the definitions are joined by two blank lines
        parts.append("# definitions from earlier cells\n" + "\n\n".join(builder.definitions))
    cell_line = "\n".join(parts).count("\n") + 3  # the parts, the blank line joining them, then the banner
    parts.append("# ---- the cell ----\n" + cell.rstrip() + "\n")
    script = "\n".join(parts)
    line_map.append(
        {
            "start": cell_line,
            "end": cell_line + cell.rstrip().count("\n"),
            "execution_count": running_cell_count(shell),
            "cell_line": first_line,
            "what": "the %%train cell",
        }
    )
    for entry in line_map:
        entry["cell"] = f"cell [{entry['execution_count']}]" if entry["execution_count"] is not None else "this cell"
    try:
        compile(script, "main.py", "exec")
    except SyntaxError as exc:  # a bug of ours, never the user's: say so plainly
        raise CaptureError("", f"internal error: the generated script does not compile ({exc})") from None
    return CellScript(script, builder.files, builder.captured, builder.unresolved, cell_line, line_map)
