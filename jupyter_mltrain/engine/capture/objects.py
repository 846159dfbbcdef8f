"""What each kernel object becomes in the script: an import, its source or a literal."""

from __future__ import annotations

import ast
import importlib
import inspect
import linecache
import math
import sys
import textwrap
import types
from typing import Any

from jupyter_mltrain.engine.capture.captured import INLINE_VALUE_CHARS


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


def _def_lines(filename: str, name: str, line: int | None, node_type: type) -> tuple[int, int] | None:
    """The first and last line (decorators included) of the top-level definition ``name`` in ``filename``."""
    lines = linecache.getlines(filename)
    tree = _parse("".join(lines)) if lines else None
    if tree is None:
        return None
    found = None
    for node in tree.body:
        if (
            isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
            and isinstance(node, node_type)
            and node.name == name
        ):
            start = min([node.lineno] + [d.lineno for d in node.decorator_list])
            if line is None or start <= line <= (node.end_lineno or node.lineno):
                found = (start, node.end_lineno or node.lineno)
    return found


def _find_def(filename: str, name: str, line: int | None, node_type: type) -> str | None:
    span = _def_lines(filename, name, line, node_type)
    return "".join(linecache.getlines(filename)[span[0] - 1 : span[1]]) if span else None


def _class_file(cls: type, shell: Any) -> tuple[str, int] | None:
    """The cell file where ``cls`` is defined and its first line there."""
    for code in _code_objects(cls):
        span = _def_lines(code.co_filename, cls.__name__, code.co_firstlineno, ast.ClassDef)
        if span:
            return code.co_filename, span[0]
    for filename in reversed(_cell_files(shell)):
        span = _def_lines(filename, cls.__name__, None, ast.ClassDef)
        if span:
            return filename, span[0]
    return None


def _class_source(cls: type, shell: Any) -> str | None:
    found = _class_file(cls, shell)
    return _find_def(found[0], cls.__name__, found[1], ast.ClassDef) if found else None


def running_cell_count(shell: Any) -> int | None:
    """The execution count of the cell the kernel is running (shown as ``[12]`` beside it), or None.

    The cell's code was cached under its count before it ran; IPython 9 has already moved
    ``execution_count`` on to the next cell by then, older versions have not.
    """
    names = getattr(getattr(shell, "compile", None), "_filename_map", None)
    counts = [n for n in names.values() if isinstance(n, int)] if isinstance(names, dict) else []
    if counts:
        return max(counts)
    count = getattr(shell, "execution_count", None)
    return count if isinstance(count, int) else None


def _defined_in(value: Any, shell: Any) -> tuple[int | None, int] | None:
    """``(execution count, line)``: the notebook cell a function or class was defined in, and its first line
    there; None when not known (the count is None when the kernel does not say which cell the file was)."""
    if isinstance(value, type):
        found = _class_file(value, shell)
    else:
        code = getattr(value, "__code__", None)
        found = (code.co_filename, code.co_firstlineno) if isinstance(code, types.CodeType) else None
    if found is None:
        return None
    names = getattr(getattr(shell, "compile", None), "_filename_map", None)
    count = names.get(found[0]) if isinstance(names, dict) else None
    return (count if isinstance(count, int) else None), found[1]


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
