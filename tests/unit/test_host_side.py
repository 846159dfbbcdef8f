"""The host side is what travels to every compute host: the standard library and itself, nothing else."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from jupyter_mltrain.engine.staging import host_side_files, write_host_side


def _imported_modules(source: bytes, filename: str) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(source, filename)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


# Imported only inside functions that training code calls when it uses that framework.
FRAMEWORKS = {"torch", "tensorflow", "tf_keras", "keras"}


def test_every_host_side_module_imports_only_the_standard_library_and_the_host_side() -> None:
    files = host_side_files()
    assert "hostside/rank.py" in files and "hostside/runtime.py" in files and "integrations/torch.py" in files
    for rel, data in files.items():
        for name in _imported_modules(data, rel):
            top = name.split(".")[0]
            if top == "jupyter_mltrain":
                assert name == "jupyter_mltrain" or name.startswith("jupyter_mltrain.hostside"), (rel, name)
            else:
                assert top in sys.stdlib_module_names or top in FRAMEWORKS, f"{rel} imports {name}"


def test_the_staged_folder_runs_the_rank_agent_and_the_runtime_without_site_packages(tmp_path: Path) -> None:
    digest = write_host_side(tmp_path)
    assert len(digest) == 16 and digest == write_host_side(tmp_path.parent / f"{tmp_path.name}-again")
    staged = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.py"))
    assert staged == sorted(f"jupyter_mltrain/{rel}" for rel in host_side_files())
    program = (
        "import sys; sys.path.insert(0, sys.argv[1]);"
        "from jupyter_mltrain import log, progress, rank;"
        "import jupyter_mltrain.hostside.rank, jupyter_mltrain.hostside.remote, jupyter_mltrain.hostside.collector;"
        "import jupyter_mltrain.hostside.watch, jupyter_mltrain.integrations.torch;"
        "print(rank(), sorted(m for m in sys.modules if m.split('.')[0] in "
        "('jupyter_core', 'traitlets', 'ipywidgets', 'sqlite3', 'IPython', 'torch')))"
    )
    out = subprocess.run([sys.executable, "-S", "-E", "-c", program, str(tmp_path)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "0 []"
