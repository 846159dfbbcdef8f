"""Free-name analysis of a cell: what it reads from the kernel and what it binds itself."""

from __future__ import annotations

import pytest

from jupyter_mltrain.engine.capture import CaptureError, check_cell_syntax, free_names


def names(src: str) -> list[str]:
    return free_names(src)[0]


def test_reads_before_binding_are_free_and_shadowed_names_are_not() -> None:
    assert names("y = x + 1\nprint(y)") == ["x", "print"]
    assert names("x = 5\nprint(x)") == ["print"]
    assert names("x = x + 1") == ["x"]
    assert names("x += 1") == ["x"]


def test_function_bodies_count_unless_the_cell_binds_the_name() -> None:
    src = "def f():\n    return model(data)\nmodel = make()\nf()"
    assert names(src) == ["make", "data"]


def test_defaults_decorators_bases_and_comprehensions_run_at_once() -> None:
    assert names("def f(a=default):\n    pass") == ["default"]
    assert names("@deco\ndef f():\n    pass") == ["deco"]
    assert names("class C(Base):\n    k = K\n    def m(self):\n        return G") == ["Base", "K", "G"]
    assert names("z = [i * scale for i in items]") == ["items", "scale"]
    assert names("z = [i for i in range(3)]\nprint(i)") == ["range", "print", "i"]


def test_loops_with_and_except_bind_in_order() -> None:
    assert names("for i in data:\n    y = i\n    print(y)") == ["data", "print"]
    assert names("with open(p) as fh:\n    fh.read()") == ["open", "p"]
    assert names("try:\n    pass\nexcept ValueError as e:\n    print(e)") == ["ValueError", "print"]
    assert names("import numpy as np\nnp.zeros(3)") == []
    assert names("lam = lambda v: v * w\nlam(1)") == ["w"]


def test_ipython_syntax_and_syntax_errors_are_refused_naming_the_line() -> None:
    with pytest.raises(CaptureError, match=r"line 2 .*'%time'"):
        check_cell_syntax("x = 1\n%time f()\n")
    with pytest.raises(CaptureError, match=r"line 1 .*'!ls'"):
        check_cell_syntax("!ls -l")
    with pytest.raises(CaptureError, match="syntax error on line 2"):
        check_cell_syntax("x = 1\nif x\n")
    check_cell_syntax("a = 1 if 2 != 3 else 0\n")
    check_cell_syntax('usage = """\n%run this\n!and this\n"""\n')  # text in a string, not IPython syntax
    with pytest.raises(CaptureError, match=r"line 3 of the cell \('files = !ls'\) is IPython syntax \('!ls'\)"):
        check_cell_syntax("print(1)\nfiles = !ls\n", first_line=2)  # numbered as the user sees it, below %%train
