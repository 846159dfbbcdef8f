"""Turns a notebook cell into a standalone entry script (``main.py``).

A ``%%train`` cell usually uses names defined in earlier cells. ``capture_cell`` finds
the cell's free names and, for each one bound in the kernel, writes what recreates it:

- a module becomes its import statement (with its alias);
- a function or class defined in the notebook becomes its source, together with the
  notebook names that source uses (recursively, dependencies first);
- a function or class from an importable module becomes ``from module import name``;
- a small plain value (numbers, strings, lists/dicts of them, small numpy arrays) is
  written into the script, or beside it when large;
- anything else (an open file, a big tensor, a live model) is refused with an error
  naming the variable.

Ranks are new processes: nothing of the kernel's state travels but what is written here.
"""

from __future__ import annotations

import ast
import builtins
import importlib
import inspect
import io
import linecache
import math
import pickle
import re
import sys
import textwrap
import time
import types
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from jupyter_mltrain.errors import MLTrainError

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


# ---------------------------------------------------------------------------------------
# Free names


class _OrderedNames(ast.NodeVisitor):
    """Walks module-level code in execution order; records names read before being bound.

    Function and lambda bodies run later, so they are skipped here (symtable covers them);
    class bodies and comprehensions run at once and are walked.
    """

    def __init__(self) -> None:
        self.scopes: list[set[str]] = [set()]
        self.free: dict[str, None] = {}

    def _bound(self, name: str) -> bool:
        return any(name in scope for scope in self.scopes)

    def _bind(self, name: str) -> None:
        self.scopes[-1].add(name)

    def visit_Name(self, node: ast.Name) -> None:
        if isinstance(node.ctx, ast.Load):
            if not self._bound(node.id):
                self.free.setdefault(node.id, None)
        else:
            self._bind(node.id)

    def visit_Assign(self, node: ast.Assign) -> None:
        self.visit(node.value)
        for target in node.targets:
            self.visit(target)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        if node.value is not None:
            self.visit(node.value)
        self.visit(node.annotation)
        self.visit(node.target)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        self.visit(node.value)
        if isinstance(node.target, ast.Name):
            if not self._bound(node.target.id):
                self.free.setdefault(node.target.id, None)
            self._bind(node.target.id)
        else:
            self.visit(node.target)

    def visit_NamedExpr(self, node: ast.NamedExpr) -> None:
        self.visit(node.value)
        # a walrus inside a comprehension binds in the enclosing scope
        (self.scopes[0] if len(self.scopes) > 1 else self.scopes[-1]).add(node.target.id)

    def visit_For(self, node: ast.For | ast.AsyncFor) -> None:
        self.visit(node.iter)
        self.visit(node.target)
        for stmt in node.body + node.orelse:
            self.visit(stmt)

    visit_AsyncFor = visit_For

    def visit_Import(self, node: ast.Import | ast.ImportFrom) -> None:
        for alias in node.names:
            if alias.name != "*":
                self._bind(alias.asname or alias.name.split(".")[0])

    visit_ImportFrom = visit_Import

    def _visit_function_header(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> None:
        args = node.args
        for default in args.defaults + [d for d in args.kw_defaults if d is not None]:
            self.visit(default)
        if not isinstance(node, ast.Lambda):
            for dec in node.decorator_list:
                self.visit(dec)
            for arg in args.posonlyargs + args.args + args.kwonlyargs + [args.vararg, args.kwarg]:
                if arg is not None and arg.annotation is not None:
                    self.visit(arg.annotation)
            if node.returns is not None:
                self.visit(node.returns)

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        self._visit_function_header(node)
        self._bind(node.name)

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Lambda(self, node: ast.Lambda) -> None:
        self._visit_function_header(node)

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        for dec in node.decorator_list:
            self.visit(dec)
        for base in node.bases:
            self.visit(base)
        for kw in node.keywords:
            self.visit(kw.value)
        self.scopes.append(set())
        for stmt in node.body:
            self.visit(stmt)
        self.scopes.pop()
        self._bind(node.name)

    def _visit_comprehension(self, node: ast.ListComp | ast.SetComp | ast.GeneratorExp | ast.DictComp) -> None:
        self.scopes.append(set())
        for gen in node.generators:
            self.visit(gen.iter)
            self.visit(gen.target)
            for cond in gen.ifs:
                self.visit(cond)
        if isinstance(node, ast.DictComp):
            self.visit(node.key)
            self.visit(node.value)
        else:
            self.visit(node.elt)
        self.scopes.pop()

    visit_ListComp = visit_SetComp = visit_GeneratorExp = visit_DictComp = _visit_comprehension

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> None:
        if node.type is not None:
            self.visit(node.type)
        if node.name:
            self._bind(node.name)
        for stmt in node.body:
            self.visit(stmt)

    def visit_Global(self, node: ast.Global) -> None:
        for name in node.names:
            self._bind(name)

    def visit_MatchAs(self, node: ast.MatchAs) -> None:
        if node.pattern is not None:
            self.visit(node.pattern)
        if node.name:
            self._bind(node.name)

    def visit_MatchStar(self, node: ast.MatchStar) -> None:
        if node.name:
            self._bind(node.name)

    def visit_MatchMapping(self, node: ast.MatchMapping) -> None:
        self.generic_visit(node)
        if node.rest:
            self._bind(node.rest)


def _deferred_globals(table: Any, out: dict[str, None]) -> None:
    """Global names read inside function bodies (run later, when called)."""
    for child in table.get_children():
        if child.get_type() == "function":
            for sym in child.get_symbols():
                if sym.is_global() and sym.is_referenced():
                    out.setdefault(sym.get_name(), None)
        elif child.get_type() == "class":
            pass  # class bodies run at once: the ordered walk saw them
        _deferred_globals(child, out)


def free_names(source: str, filename: str = "<cell>") -> tuple[list[str], set[str]]:
    """The names ``source`` reads without binding them first, in order of first use,
    and the set of names it binds at module level."""
    import symtable

    tree = ast.parse(source, filename)
    walker = _OrderedNames()
    for stmt in tree.body:
        walker.visit(stmt)
    bound = set(walker.scopes[0])
    table = symtable.symtable(source, filename, "exec")
    for sym in table.get_symbols():
        if sym.is_assigned() or sym.is_imported() or sym.is_namespace():
            bound.add(sym.get_name())
    deferred: dict[str, None] = {}
    _deferred_globals(table, deferred)
    names = list(walker.free)
    names += [n for n in deferred if n not in bound and n not in walker.free]
    return names, bound


# ---------------------------------------------------------------------------------------
# What each kernel object becomes


def _importable_path(obj: Any) -> tuple[str, str] | None:
    """``(module, qualname)`` from which ``obj`` can be imported as the same object, or None."""
    module = getattr(obj, "__module__", None)
    qualname = getattr(obj, "__qualname__", None) or getattr(obj, "__name__", None)
    if not isinstance(module, str) or not isinstance(qualname, str) or module == "__main__" or "<" in qualname:
        return None
    parts = module.split(".")
    # prefer the shortest public path that gives the same object (sklearn.datasets, not sklearn.datasets._base)
    candidates = [".".join(parts[:i]) for i in range(1, len(parts))]
    candidates = [c for c in candidates if c in sys.modules and not any(p.startswith("_") for p in c.split("."))]
    for candidate in candidates + [module]:
        try:
            target: Any = sys.modules.get(candidate) or importlib.import_module(candidate)
            for part in qualname.split("."):
                target = getattr(target, part)
        except Exception:
            continue
        if target is obj:
            return candidate, qualname
    return None


def _import_line(name: str, module: types.ModuleType) -> str:
    real = module.__name__
    if real == name:
        return f"import {name}"
    if "." in real:
        parent, _, last = real.rpartition(".")
        if last == name:
            return f"from {parent} import {name}"
    return f"import {real} as {name}"


def _is_plain(value: Any, depth: int = 0) -> bool:
    if depth > 20:
        return False
    if value is None or type(value) in (bool, int, float, complex, str, bytes):
        return True
    if type(value) in (list, tuple, set, frozenset):
        return all(_is_plain(v, depth + 1) for v in value)
    if type(value) is dict:
        return all(_is_plain(k, depth + 1) and _is_plain(v, depth + 1) for k, v in value.items())
    return False


def _literal(value: Any) -> str | None:
    """Source text that evaluates to ``value``, if a plain literal does."""
    text = repr(value)
    if len(text) > INLINE_VALUE_CHARS:
        return None
    try:
        back = ast.literal_eval(text)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return None
    same = back == value or (isinstance(value, float) and math.isnan(value) and math.isnan(back))
    return text if same and type(back) is type(value) else None


def _is_numpy(value: Any) -> bool:
    module = type(value).__module__ or ""
    return module == "numpy" and (type(value).__name__ == "ndarray" or hasattr(value, "dtype"))


def _describe(value: Any) -> str:
    kind = type(value)
    text = f"{kind.__module__}.{kind.__qualname__}" if kind.__module__ != "builtins" else kind.__qualname__
    nbytes = getattr(value, "nbytes", None)
    if isinstance(nbytes, int):
        text += f", {nbytes / 1e6:.1f} MB"
    return text


def _cell_files(shell: Any) -> list[str]:
    """Filenames of the kernel's executed cells, oldest first (as linecache knows them)."""
    names = getattr(getattr(shell, "compile", None), "_filename_map", None)
    if isinstance(names, dict):
        return [f for f, _ in sorted(names.items(), key=lambda item: item[1] or 0)]
    return [f for f in linecache.cache if f.startswith("<ipython-input-")]


def _code_objects(cls: type) -> list[types.CodeType]:
    out = []
    for value in vars(cls).values():
        func = value
        if isinstance(func, (staticmethod, classmethod)):
            func = func.__func__
        if isinstance(func, property):
            func = func.fget
        code = getattr(func, "__code__", None)
        if isinstance(code, types.CodeType) and code.co_filename in linecache.cache:
            out.append(code)
    return out


def _parse(text: str) -> ast.Module | None:
    try:
        return ast.parse(text)
    except SyntaxError:
        return None


def _find_def(filename: str, name: str, line: int | None, node_type: type) -> str | None:
    lines = linecache.getlines(filename)
    tree = _parse("".join(lines)) if lines else None
    if tree is None:
        return None
    found = None
    for node in tree.body:
        if isinstance(node, node_type) and node.name == name:
            start = min([node.lineno] + [d.lineno for d in node.decorator_list])
            if line is None or start <= line <= (node.end_lineno or node.lineno):
                found = "".join(lines[start - 1 : node.end_lineno])
    return found


def _class_source(cls: type, shell: Any) -> str | None:
    for code in _code_objects(cls):
        found = _find_def(code.co_filename, cls.__name__, code.co_firstlineno, ast.ClassDef)
        if found:
            return found
    for filename in reversed(_cell_files(shell)):
        found = _find_def(filename, cls.__name__, None, ast.ClassDef)
        if found:
            return found
    return None


def _lambda_source(func: types.FunctionType) -> str | None:
    try:
        lines, start = inspect.findsource(func)
    except (OSError, TypeError):
        return None
    text = "".join(lines)
    tree = _parse(text)
    if tree is None:
        return None
    lambdas = [n for n in ast.walk(tree) if isinstance(n, ast.Lambda) and n.lineno == func.__code__.co_firstlineno]
    if len(lambdas) != 1:
        return None
    return ast.get_source_segment(text, lambdas[0])


def _function_source(func: types.FunctionType) -> str | None:
    if func.__name__ == "<lambda>":
        return _lambda_source(func)
    try:
        return textwrap.dedent(inspect.getsource(func))
    except (OSError, TypeError):
        return None


# ---------------------------------------------------------------------------------------
# The script


class _Builder:
    def __init__(self, namespace: Mapping[str, Any], shell: Any, cell_bound: set[str], params: Mapping[str, Any]) -> None:
        self.namespace = namespace
        self.shell = shell
        self.cell_bound = cell_bound
        self.params = params
        self.imports: list[str] = []
        self.values: list[str] = []
        self.definitions: list[str] = []
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
        if real != name:
            self.add(real, used_by=name)
            self.definitions.append(f"{name} = {real}\n")
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
            self.captured.append(Captured(name, "value", f"{type(value).__name__} = {literal if len(literal) < 60 else literal[:57] + '...'}"))
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


def check_cell_syntax(cell: str) -> None:
    """Refuse IPython-only syntax (magics, shell escapes) that cannot run in a rank."""
    for number, line in enumerate(cell.splitlines(), start=1):
        stripped = line.lstrip()
        if stripped.startswith(("%", "!")) and not stripped.startswith("!="):
            raise CaptureError(
                "",
                f"line {number} of the cell is IPython syntax ({stripped.split()[0]!r}), which cannot run in a rank: "
                "remove it or write it as Python (e.g. subprocess.run for shell commands).",
            )
    try:
        ast.parse(cell)
    except SyntaxError as exc:
        raise CaptureError("", f"the cell has a syntax error on line {exc.lineno}: {exc.msg}") from None


def capture_cell(
    cell: str,
    namespace: Mapping[str, Any],
    *,
    params: Mapping[str, Any] | None = None,
    shell: Any = None,
    origin: str = "a notebook cell",
    clock: Callable[[], float] = time.time,
) -> CellScript:
    """Build the entry script for ``cell`` using what ``namespace`` (the kernel's globals) holds."""
    params = dict(params or {})
    for key in params:
        if not _IDENTIFIER.match(key):
            raise CaptureError(key, f"--param {key}=…: {key!r} is not a Python variable name")
    check_cell_syntax(cell)
    used, bound = free_names(cell)
    builder = _Builder(namespace, shell, bound, params)
    for name in used:
        builder.add(name, used_by="<cell>")
    stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(clock()))
    parts = [
        f"# main.py: generated by jupyter_mltrain from {origin} ({stamp}).\n"
        "# Edit the notebook, not this file: it is made again on every submit.\n"
    ]
    if builder.imports:
        parts.append("# imports the cell uses, as the kernel had them\n" + "\n".join(dict.fromkeys(builder.imports)) + "\n")
    if builder.needs_loader:
        parts.append(_LOADER.format(dir=VALUES_DIR))
    if builder.values:
        parts.append("# values from the kernel\n" + "\n".join(builder.values) + "\n")
    if params:
        lines = [f"{k} = {_literal(v) if _literal(v) is not None else repr(v)}" for k, v in params.items()]
        parts.append("# parameters (--param)\n" + "\n".join(lines) + "\n")
        builder.captured += [Captured(k, "param", repr(v)) for k, v in params.items()]
    if builder.definitions:
        parts.append("# definitions from earlier cells\n" + "\n\n".join(builder.definitions))
    parts.append("# ---- the cell ----\n" + cell.rstrip() + "\n")
    script = "\n".join(parts)
    try:
        compile(script, "main.py", "exec")
    except SyntaxError as exc:  # a bug of ours, never the user's: say so plainly
        raise CaptureError("", f"internal error: the generated script does not compile ({exc})") from None
    return CellScript(script, builder.files, builder.captured, builder.unresolved)



# ---------------------------------------------------------------------------------------
# A whole notebook as one script ("Train this notebook")

_QUIET_MAGICS = frozenset({"load_ext", "reload_ext", "unload_ext", "matplotlib", "config", "autoreload", "aimport",
                           "train_attach", "train_runs", "precision", "pprint", "colors", "xmode", "who", "whos"})
_BODY_CELL_MAGICS = frozenset({"train", "time", "capture", "prun"})
_LINE_MAGIC = re.compile(r"^(\s*)%(\w+)\s*(.*)$")
_SHELL_LINE = re.compile(r"^(\s*)(?:[A-Za-z_][\w, ]*=\s*)?!(.*)$")
_HELP_LINE = re.compile(r"^\s*\??[\w.]+\?\??\s*$")


def _cell_source(cell: Mapping[str, Any]) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


def _translate_line(line: str, where: str, warnings: list[str]) -> str | None:
    """One line of IPython syntax as plain Python (None: dropped)."""
    if _HELP_LINE.match(line):
        return None
    shell = _SHELL_LINE.match(line)
    if shell and not line.lstrip().startswith(("!=",)):
        warnings.append(f"{where}: shell command dropped: !{shell.group(2).strip()} (use subprocess.run in code)")
        return None
    magic = _LINE_MAGIC.match(line)
    if not magic:
        return line
    indent, name, rest = magic.groups()
    rest = rest.strip()
    if name == "load_ext" and rest == "jupyter_mltrain":
        return None
    if name in _QUIET_MAGICS:
        warnings.append(f"{where}: %{name} dropped (it only affects the kernel)")
        return None
    if name == "env" and rest:
        key, _, value = rest.partition("=") if "=" in rest else rest.partition(" ")
        return f"{indent}__import__('os').environ[{key.strip()!r}] = {value.strip()!r}"
    if name == "cd" and rest:
        return f"{indent}__import__('os').chdir({rest!r})"
    if name in ("time", "timeit") and rest:
        warnings.append(f"{where}: %{name} removed, its statement kept")
        return f"{indent}{rest}"
    if name in ("pip", "conda"):
        warnings.append(f"{where}: %{name} {rest} dropped: pass a requirements file (--requirements) instead")
        return None
    warnings.append(f"{where}: %{name} dropped (no equivalent outside IPython)")
    return None


def _translate_cell(source: str, where: str, warnings: list[str]) -> str | None:
    lines = source.splitlines()
    if lines and lines[0].lstrip().startswith("%%"):
        head = lines[0].strip()[2:].split()
        name = head[0] if head else ""
        body = "\n".join(lines[1:])
        if name in _BODY_CELL_MAGICS:
            if name == "train" and len(head) > 1:
                warnings.append(f"{where}: the %%train options ({' '.join(head[1:])}) are replaced by the form's")
            elif name != "train":
                warnings.append(f"{where}: %%{name} removed, the cell's code kept")
            return _translate_cell(body, where, warnings)
        if name == "writefile" and len(head) > 1:
            path = head[-1]
            return f"__import__('pathlib').Path({path!r}).write_text({body + chr(10)!r})"
        warnings.append(f"{where}: %%{name} cell dropped (no equivalent outside IPython)")
        return None
    out: list[str] = []
    for line in lines:
        translated = _translate_line(line, where, warnings)
        if translated is None:
            indent = line[: len(line) - len(line.lstrip())]
            out.append(f"{indent}pass" if indent else "")  # a block must not be left empty
        else:
            out.append(translated)
    return "\n".join(out)


def notebook_script(notebook: Mapping[str, Any], origin: str) -> tuple[str, list[str]]:
    """The code cells of ``notebook`` joined into one script, IPython syntax translated where it
    has a Python equivalent and dropped otherwise; returns the script and one warning per change."""
    warnings: list[str] = []
    parts = [f"# main.py: generated by jupyter_mltrain from {origin}.\n"
             "# Edit the notebook, not this file: it is made again on every submit.\n"]
    cells = notebook.get("cells") if isinstance(notebook, Mapping) else None
    if not isinstance(cells, list):
        raise CaptureError("", "not a notebook: it has no list of cells")
    number = 0
    for cell in cells:
        if not isinstance(cell, Mapping) or cell.get("cell_type") != "code":
            continue
        number += 1
        source = _cell_source(cell)
        if not source.strip():
            continue
        where = f"code cell {number}"
        text = _translate_cell(source, where, warnings)
        if text is None or not text.strip():
            continue
        try:
            ast.parse(text)
        except SyntaxError as exc:
            raise CaptureError("", f"{where} has a syntax error on its line {exc.lineno}: {exc.msg}") from None
        parts.append(f"# ---- {where} ----\n{text.rstrip()}\n")
    if number == 0:
        raise CaptureError("", "the notebook has no code cells")
    return "\n".join(parts), warnings
