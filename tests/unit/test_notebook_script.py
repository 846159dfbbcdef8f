"""A whole notebook as one script: IPython syntax read by IPython itself, translated or dropped with a warning."""

from __future__ import annotations

import pytest

from jupyter_mltrain.engine.capture import CaptureError, notebook_script, train_line


def _script(*cells: str) -> tuple[str, list[str]]:
    return notebook_script({"cells": [{"cell_type": "code", "source": c} for c in cells]}, "test")


def test_lines_inside_a_triple_quoted_string_that_start_with_percent_or_bang_are_kept() -> None:
    script, warnings = _script('usage = """\n%run this\n!and this\n"""\nprint(usage)')
    namespace: dict[str, object] = {}
    exec(compile(script, "main.py", "exec"), namespace)
    assert namespace["usage"] == "\n%run this\n!and this\n"
    assert warnings == []


def test_magics_with_an_equivalent_are_translated_and_the_rest_dropped_with_a_warning(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    script, warnings = _script(
        "%load_ext jupyter_mltrain\n%matplotlib inline\n# kept\n%env MLTRAIN_T=1\n%time x = 2\nfiles = !ls\n"
        "if x:\n    !echo hi\nx?",
        "%%writefile out.txt\nhello\n",
        "%%train --np 2\ny = x + 1\n%pip install nothing",
        "%%bash\necho dropped",
    )
    assert "# kept" in script and "load_ext" not in script and "matplotlib" not in script
    namespace: dict[str, object] = {}
    exec(compile(script, "main.py", "exec"), namespace)
    assert namespace["x"] == 2 and namespace["y"] == 3
    assert (tmp_path / "out.txt").read_text() == "hello\n"
    import os

    assert os.environ.pop("MLTRAIN_T") == "1"
    assert warnings == [
        "code cell 1: %matplotlib dropped (it only affects the kernel)",
        "code cell 1: %time removed, its statement kept",
        "code cell 1: shell command dropped: !ls (use subprocess.run in code)",
        "code cell 1: shell command dropped: !echo hi (use subprocess.run in code)",
        "code cell 3: the %%train options (--np 2) are taken from the form, which starts from them",
        "code cell 3: %pip install nothing dropped: pass a requirements file (--requirements) instead",
        "code cell 4: %%bash cell dropped (no equivalent outside IPython)",
    ]


def test_a_cell_with_a_syntax_error_is_named() -> None:
    with pytest.raises(CaptureError, match="code cell 2 has a syntax error on its line 1"):
        _script("a = 1", "def broken(:")


def test_a_notebook_without_code_cells_is_refused() -> None:
    with pytest.raises(CaptureError, match="no code cells"):
        notebook_script({"cells": [{"cell_type": "markdown", "source": "# hi"}]}, "test")


def test_params_become_variables_and_kernel_only_cells_are_left_out_with_a_warning() -> None:
    nb = {
        "cells": [
            {"cell_type": "code", "source": "%%train --np 2 --param lr=0.5\nprint(lr * 2)"},
            {"cell_type": "code", "source": "from jupyter_mltrain import last_run\nrun = last_run()\nrun.wait()"},
        ]
    }
    script, warnings = notebook_script(nb, "test", {"lr": 0.5, "tag": "x"})
    namespace: dict[str, object] = {}
    exec(compile(script, "main.py", "exec"), namespace)
    assert namespace["lr"] == 0.5 and namespace["tag"] == "x" and "last_run" not in script
    assert "code cell 2 left out: it uses last_run, which only works in the notebook's kernel" in warnings
    assert train_line(nb) == "--np 2 --param lr=0.5"
    assert train_line({"cells": [{"cell_type": "code", "source": "%%trainer\nx"}]}) is None
