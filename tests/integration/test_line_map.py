"""``%%train`` in a real IPython shell records which lines of the generated main.py come from which notebook
cell (the spec's ``origin.line_map``), and a failure inside a definition carried from an earlier cell points at
that cell's own line."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from IPython.core.interactiveshell import InteractiveShell

from jupyter_mltrain.api import Run
from jupyter_mltrain.engine.store import Store


@pytest.fixture
def ip(home: Path, project: Path, monkeypatch: pytest.MonkeyPatch) -> InteractiveShell:
    monkeypatch.chdir(project)
    shell = InteractiveShell.instance()
    shell.reset(new_session=False)
    shell.run_line_magic("load_ext", "jupyter_mltrain")
    return shell


def last_run(shell: InteractiveShell) -> Run:
    return Run(shell.magics_manager.registry["TrainMagics"].last_run_id, Store())


def run_cell(shell: InteractiveShell, source: str) -> tuple[int, bool]:
    """Run ``source`` as a notebook does (numbered, in the history): its execution count and success."""
    count = shell.execution_count
    return count, shell.run_cell(source, store_history=True).success


def lines_of(script: str, span: dict[str, object]) -> list[str]:
    return script.splitlines()[int(span["start"]) - 1 : int(span["end"])]  # type: ignore[call-overload]


def test_the_line_map_names_the_cell_of_every_definition_and_of_the_train_cell(ip: InteractiveShell) -> None:
    helper_count, ok = run_cell(ip, "SCALE = 3\n\ndef helper(v):\n    return v * SCALE\n")
    assert ok
    net_count, ok = run_cell(
        ip, "x = 0\nclass Net:\n    k = 2\n\n    def forward(self, v):\n        return helper(v) * self.k\n"
    )
    assert ok and net_count == helper_count + 1
    train_count, ok = run_cell(ip, "%%train --wait\nprint('out', Net().forward(2))\nprint('done')\n")
    assert ok
    run = last_run(ip)
    assert run.status == "Completed" and run.logs(0).splitlines() == ["out 12", "done"]
    origin = run.folder.spec_dict()["origin"]
    spans = origin["line_map"]
    script = (run.folder.path / "snapshot" / "main.py").read_text()
    by_what = {s["what"]: s for s in spans}
    assert set(by_what) == {"function helper", "class Net", "the %%train cell"}
    helper, net, cell = by_what["function helper"], by_what["class Net"], by_what["the %%train cell"]
    assert (helper["execution_count"], helper["cell"], helper["cell_line"]) == (
        helper_count,
        f"cell [{helper_count}]",
        3,
    )
    assert lines_of(script, helper) == ["def helper(v):", "    return v * SCALE"]
    assert (net["execution_count"], net["cell_line"]) == (net_count, 2)
    assert lines_of(script, net) == [
        "class Net:",
        "    k = 2",
        "",
        "    def forward(self, v):",
        "        return helper(v) * self.k",
    ]
    assert (cell["execution_count"], cell["cell"], cell["cell_line"]) == (train_count, f"cell [{train_count}]", 2)
    assert lines_of(script, cell) == ["print('out', Net().forward(2))", "print('done')"]
    assert cell["start"] == origin["script_line"] and spans[-1] is cell  # the traceback mapping's own start


def test_a_failure_in_an_earlier_cells_function_points_at_that_cell(ip: InteractiveShell) -> None:
    helper_count, ok = run_cell(ip, "def explode(v):\n    y = v + 1\n    raise ValueError(f'boom {y}')\n")
    assert ok
    train_count, ok = run_cell(ip, "%%train --wait\nx = 1\nexplode(x)\n")
    assert not ok
    cause = last_run(ip).record.root_cause
    assert cause is not None and cause.error == "ValueError: boom 2"
    trace = cause.traceback or ""
    assert re.search(rf'main\.py", line \d+ \(cell \[{train_count}\], line 3\), in <module>', trace), trace
    assert re.search(rf'main\.py", line \d+ \(cell \[{helper_count}\], line 3\), in explode', trace), trace
