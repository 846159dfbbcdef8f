"""A whole notebook as one script ("Train this notebook"): magics translated or dropped with a warning.

IPython's own ``TransformerManager`` reads each cell (so a ``%`` or ``!`` inside a string stays
text); every ``get_ipython()`` call it produces is then replaced by plain Python where there is
an equivalent (``%env``, ``%cd``, ``%time``, ``%%writefile``, ``%%train``) and dropped, with a
warning, where there is none. Lines without IPython syntax are kept as written, comments included.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from typing import Any

from IPython.core.inputtransformer2 import TransformerManager

from jupyter_mltrain.engine.capture.captured import CaptureError

_QUIET_MAGICS = frozenset(
    {
        "load_ext",
        "reload_ext",
        "unload_ext",
        "matplotlib",
        "config",
        "autoreload",
        "aimport",
        "train_attach",
        "train_runs",
        "precision",
        "pprint",
        "colors",
        "xmode",
        "who",
        "whos",
    }
)
_HELP_MAGICS = frozenset({"pinfo", "pinfo2", "psearch"})
_BODY_CELL_MAGICS = frozenset({"train", "time", "capture", "prun"})
_SHELL_CALLS = frozenset({"system", "getoutput"})
# Names that read runs from the kernel: a cell using one has no meaning inside a run (it is left out).
_KERNEL_ONLY_NAMES = frozenset({"last_run", "Experiment", "submit", "RunWidget", "display"})


def _cell_source(cell: Mapping[str, Any]) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


def _ipython_call(node: ast.AST) -> tuple[str, list[str]] | None:
    """``("run_line_magic", ["env", "A=1"])`` for ``get_ipython().run_line_magic('env', 'A=1')``, else None."""
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
        return None
    owner = node.func.value
    if not (isinstance(owner, ast.Call) and isinstance(owner.func, ast.Name) and owner.func.id == "get_ipython"):
        return None
    args = [a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
    return node.func.attr, args


def _line_magic(name: str, rest: str, where: str, warnings: list[str]) -> str | None:
    """One line magic as plain Python (None: dropped)."""
    rest = rest.strip()
    if name in _HELP_MAGICS or (name == "load_ext" and rest == "jupyter_mltrain"):
        return None
    if name in _QUIET_MAGICS:
        warnings.append(f"{where}: %{name} dropped (it only affects the kernel)")
        return None
    if name == "env" and rest:
        key, _, value = rest.partition("=") if "=" in rest else rest.partition(" ")
        return f"__import__('os').environ[{key.strip()!r}] = {value.strip()!r}"
    if name == "cd" and rest:
        return f"__import__('os').chdir({rest!r})"
    if name in ("time", "timeit") and rest:
        warnings.append(f"{where}: %{name} removed, its statement kept")
        return rest
    if name in ("pip", "conda"):
        warnings.append(f"{where}: %{name} {rest} dropped: pass a requirements file (--requirements) instead")
        return None
    warnings.append(f"{where}: %{name} dropped (no equivalent outside IPython)")
    return None


def _statement(node: ast.stmt, where: str, warnings: list[str]) -> str | None:
    """The replacement of a simple statement that calls IPython (None: keep it as written)."""
    calls = [found for sub in ast.walk(node) if (found := _ipython_call(sub)) is not None]
    if not calls:
        return None
    kind, args = calls[0]
    whole = isinstance(node, ast.Expr) and _ipython_call(node.value) is not None
    if kind in _SHELL_CALLS:
        command = args[0] if args else ""
        warnings.append(f"{where}: shell command dropped: !{command.strip()} (use subprocess.run in code)")
        return "pass"
    if kind == "run_line_magic" and args:
        translated = _line_magic(args[0], args[1] if len(args) > 1 else "", where, warnings)
        if translated is not None and whole:
            return translated
        if translated is not None:
            warnings.append(f"{where}: the value of %{args[0]} is not available outside IPython; line dropped")
        return "pass"
    warnings.append(f"{where}: IPython call get_ipython().{kind}(…) dropped (no equivalent outside IPython)")
    return "pass"


def _translate_cell(source: str, where: str, warnings: list[str]) -> str | None:
    """A cell's IPython syntax as plain Python (None: the whole cell is dropped)."""
    text = TransformerManager().transform_cell(source)
    try:
        tree = ast.parse(text)
    except SyntaxError as exc:
        raise CaptureError("", f"{where} has a syntax error on its line {exc.lineno}: {exc.msg}") from None
    if len(tree.body) == 1 and isinstance(tree.body[0], ast.Expr):
        call = _ipython_call(tree.body[0].value)
        if call is not None and call[0] == "run_cell_magic" and len(call[1]) == 3:
            return _cell_magic(*call[1], where=where, warnings=warnings)
    lines = text.splitlines()
    edits: list[tuple[int, int, str, str]] = []
    simple = [n for n in ast.walk(tree) if isinstance(n, ast.stmt) and not hasattr(n, "body")]
    for node in sorted(simple, key=lambda n: n.lineno):  # compound statements: their simple ones, in line order
        replacement = _statement(node, where, warnings)
        if replacement is not None:
            first = lines[node.lineno - 1]
            indent = first[: len(first) - len(first.lstrip())]
            if replacement == "pass" and not indent:
                replacement = ""  # a dropped top-level line leaves a blank; a block must not be left empty
            edits.append((node.lineno, node.end_lineno or node.lineno, indent, replacement))
    for start, end, indent, replacement in sorted(edits, reverse=True):
        lines[start - 1 : end] = [indent + line for line in replacement.splitlines()] or [""]
    return "\n".join(lines)


def _cell_magic(name: str, line: str, body: str, *, where: str, warnings: list[str]) -> str | None:
    if name in _BODY_CELL_MAGICS:
        if name == "train" and line.strip():
            warnings.append(
                f"{where}: the %%train options ({line.strip()}) are taken from the form, which starts from them"
            )
        elif name != "train":
            warnings.append(f"{where}: %%{name} removed, the cell's code kept")
        return _translate_cell(body, where, warnings)
    if name == "writefile" and line.split():
        path = line.split()[-1]
        return f"__import__('pathlib').Path({path!r}).write_text({body!r})"
    warnings.append(f"{where}: %%{name} cell dropped (no equivalent outside IPython)")
    return None


def _kernel_only(text: str) -> str | None:
    """The name that makes a cell meaningful only in the kernel (``last_run`` …), or None."""
    tree = ast.parse(text)
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id in _KERNEL_ONLY_NAMES:
            return node.id
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("jupyter_mltrain"):
            for alias in node.names:
                if alias.name in _KERNEL_ONLY_NAMES:
                    return alias.name
    return None


def train_line(notebook: Mapping[str, Any]) -> str | None:
    """The options of the notebook's first ``%%train`` cell (the text after ``%%train``), or None."""
    cells = notebook.get("cells") if isinstance(notebook, Mapping) else None
    for cell in cells if isinstance(cells, list) else []:
        if isinstance(cell, Mapping) and cell.get("cell_type") == "code":
            first = _cell_source(cell).lstrip().split("\n", 1)[0]
            if first.startswith("%%train") and first[7:8] in ("", " ", "\t"):
                return first[7:].strip()
    return None


def notebook_script(
    notebook: Mapping[str, Any], origin: str, params: Mapping[str, Any] | None = None
) -> tuple[str, list[str]]:
    """The code cells of ``notebook`` as one script, with one warning per change.

    IPython syntax is translated where it has a Python equivalent and dropped otherwise; cells that
    only make sense in the kernel (``last_run()`` …) are left out; ``params`` become variables.
    """
    warnings: list[str] = []
    parts = [
        f"# main.py: generated by jupyter_mltrain from {origin}.\n"
        "# Edit the notebook, not this file: it is made again on every submit.\n"
    ]
    if params:
        parts.append("# parameters (--param)\n" + "".join(f"{k} = {v!r}\n" for k, v in params.items()))
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
        name = _kernel_only(text)
        if name is not None:
            warnings.append(f"{where} left out: it uses {name}, which only works in the notebook's kernel")
            continue
        parts.append(f"# ---- {where} ----\n{text.rstrip()}\n")
    if number == 0:
        raise CaptureError("", "the notebook has no code cells")
    return "\n".join(parts), warnings
