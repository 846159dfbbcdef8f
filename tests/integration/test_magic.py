"""``%%train`` in a real IPython shell: every capture case is checked by running the packaged main.py for real."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from conftest import assert_no_process_left
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell

from jupyter_mltrain.api import Run
from jupyter_mltrain.engine.store import Store
from jupyter_mltrain.hostside.errors import RunFailed


@pytest.fixture
def ip(home: Path, project: Path, monkeypatch: pytest.MonkeyPatch) -> InteractiveShell:
    monkeypatch.chdir(project)
    shell = InteractiveShell.instance()
    shell.reset(new_session=False)
    shell.run_line_magic("load_ext", "jupyter_mltrain")
    return shell


def magics(shell: InteractiveShell):
    return shell.magics_manager.registry["TrainMagics"]


def run_cell(shell: InteractiveShell, source: str):
    result = shell.run_cell(source)
    return result.error_before_exec or result.error_in_exec


def last_run(shell: InteractiveShell) -> Run:
    return Run(magics(shell).last_run_id, Store())


def test_cell_runs_with_the_notebook_code_it_uses(ip: InteractiveShell, home: Path) -> None:
    setup = """
import numpy as np
import collections.abc as cabc
from collections import OrderedDict as OD
from os import path as osp
SCALE = 3
nan = float("nan")
data = {"a": [1, 2], "b": (3.5, "x")}
arr = np.arange(6).reshape(2, 3)
x = 100
def helper(v):
    return v * SCALE
def uses_helper(v):
    return helper(v) + 1
class Base:
    k = 2
    def base(self):
        return "base"
class Net(Base):
    def forward(self, v):
        return uses_helper(v) * self.k
sq = lambda v: v * v
"""
    assert run_cell(ip, setup) is None
    cell = """%%train --wait --np 2
import jupyter_mltrain as mt
x = 1
print("net", Net().forward(x), Net().base())
print("sq", sq(4), "arr", arr.sum(), arr.shape, "data", data["b"][1], "nan", nan != nan)
print("aliases", OD.__name__, osp.join("a", "b"), isinstance([], cabc.Sequence), np.__name__)
print("rank", mt.rank(), "of", mt.world_size())
"""
    assert run_cell(ip, cell) is None
    run = last_run(ip)
    assert run.status == "Completed"
    for rank in (0, 1):
        lines = run.logs(rank).splitlines()
        assert lines == [
            "net 8 base",
            "sq 16 arr 15 (2, 3) data x nan True",
            "aliases OrderedDict a/b True numpy",
            f"rank {rank} of 2",
        ]
    main = (run.folder.path / "snapshot" / "main.py").read_text()
    assert "import numpy as np" in main and "from collections import OrderedDict as OD" in main
    assert "import collections.abc as cabc" in main
    assert "def uses_helper" in main and "class Net(Base)" in main and "sq = lambda v: v * v" in main
    assert "x = 100" not in main  # shadowed inside the cell: not captured
    assert main.index("class Base") < main.index("class Net")
    assert (run.folder.path / "snapshot" / "_mltrain_values" / "arr.npy").is_file()
    assert run.spec().origin["kind"] == "cell"


def test_objects_that_cannot_travel_are_refused_naming_the_variable(ip: InteractiveShell, home: Path) -> None:
    assert (
        run_cell(
            ip,
            "import numpy as np\nbig = np.zeros(3_000_000)\nfh = open(__file__ if '__file__' in dir() else '/etc/hostname')\n"
            "def outer():\n    y = 1\n    def inner():\n        return y\n    return inner\nclosure = outer()\n",
        )
        is None
    )
    for name, pattern in (
        ("big", r"'big' \(numpy.ndarray, 24.0 MB\).*--input big=PATH"),
        ("fh", r"'fh' \(_io.TextIOWrapper\)"),
        ("closure", r"closure"),
    ):
        error = run_cell(ip, f"%%train --np 1\nprint({name})\n")
        assert isinstance(error, UsageError), error
        assert name in str(error)
        import re

        assert re.search(pattern, str(error)), str(error)
    assert Store().list() == []  # nothing was launched, nothing half-made


def test_quoted_values_on_the_line_lose_their_quotes_and_builtins_ipython_wraps_still_work(
    ip: InteractiveShell, project: Path
) -> None:
    (project / "data.txt").write_text("from a file")
    cell = (
        "%%train --wait --name 'my run' --param \"tag=two words\" --env 'GREETING=hello world'\n"
        "import os\nprint(tag, '|', os.environ['GREETING'], '|', open('data.txt').read())\n"
    )
    assert run_cell(ip, cell) is None
    run = last_run(ip)
    assert run.logs(0).splitlines() == ["two words | hello world | from a file"]
    assert run.record.name == "my run"


def test_params_reach_the_script_and_are_recorded(ip: InteractiveShell) -> None:
    assert run_cell(ip, "lr = 0.1\n") is None
    cell = "%%train --wait --param lr=0.5 --param layers=[4,8] --param tag=abc\nprint(lr * 2, layers[1], tag.upper())\n"
    assert run_cell(ip, cell) is None
    run = last_run(ip)
    assert run.logs(0).splitlines() == ["1.0 8 ABC"]
    assert run.record.params == {"lr": 0.5, "layers": [4, 8], "tag": "abc"}
    assert run.spec().params == {"lr": 0.5, "layers": [4, 8], "tag": "abc"}


def test_bad_flags_give_one_line_naming_the_flag_and_launch_nothing(ip: InteractiveShell) -> None:
    for line, expected in (
        ("--np x", "--np"),
        ("--mode nope", "--mode: unknown mode 'nope'"),
        ("--np 0", "--np: must be an integer >= 1, got 0"),
        ("--nodes 0", "--nodes: must be an integer >= 1"),
        ("--hang-timeout -1", "--hang-timeout:"),
        ("--target nowhere", "nowhere"),
        ("--param 1x=2", "1x"),
        ("--env NOEQUALS", "--env"),
        ("--input data=/no/such/file", "/no/such/file"),
        ("--mode tf-ps --workers 2", "tf-ps"),
        ("--bogus", "unrecognized arguments: --bogus"),
        ("--requirements /no/such/requirements.txt", "--requirements"),
    ):
        error = run_cell(ip, f"%%train {line}\nprint(1)\n")
        assert isinstance(error, UsageError), (line, error)
        assert expected in str(error), (line, str(error))
        assert "\n" not in str(error).strip(), (line, str(error))
    assert Store().list() == []


def test_dry_run_shows_the_plan_and_launches_nothing(ip: InteractiveShell, project: Path, capsys) -> None:
    (project / "helper.py").write_text("X = 1\n")
    assert run_cell(ip, "import json\nSEED = 7\n") is None
    capsys.readouterr()
    assert (
        run_cell(
            ip, "%%train --dry-run --np 2 --mode torch --env A=b --secret-env API_TOKEN=hush\nprint(json.dumps(SEED))\n"
        )
        is None
    )
    out = capsys.readouterr().out
    assert "Dry run: nothing was launched" in out
    assert "import   json" in out and "value    SEED" in out
    assert "main.py  (generated)" in out and "helper.py" in out
    assert "MASTER_ADDR=127.0.0.1" in out and "MASTER_PORT=" in out and "Rank 1 (worker)" in out
    assert "A=b" in out and "API_TOKEN=<secret>" in out and "hush" not in out
    assert Store().list() == []


def test_wait_raises_with_the_rank_traceback_on_failure(ip: InteractiveShell) -> None:
    error = run_cell(
        ip,
        "%%train --wait --np 2\nimport jupyter_mltrain as mt\nif mt.rank() == 1:\n"
        "    raise ValueError('bad batch')\nprint('ok')\n",
    )
    assert isinstance(error, RunFailed)
    assert "Failed" in str(error) and "rank 1" in str(error) and "ValueError: bad batch" in str(error)
    assert_no_process_left(magics(ip).last_run_id)


def test_widget_state_after_wait_has_status_logs_metrics_and_progress(ip: InteractiveShell) -> None:
    cell = """%%train --wait --np 2
import sys, time
import jupyter_mltrain as mt
for step in range(1, 4):
    sys.stdout.write(f"\\rbatch {step}/3")
    sys.stdout.flush()
    mt.log("loss", 1.0 / step, step=step)
    mt.progress(step, 3)
    time.sleep(0.05)
print()
print("\\x1b[32mdone\\x1b[0m")
"""
    assert run_cell(ip, cell) is None
    widget = magics(ip).widgets[magics(ip).last_run_id]
    assert widget.status == "Completed"
    assert widget.history["logs"]["0"] == ["batch 3/3", "\x1b[32mdone\x1b[0m"]  # \r redraws collapsed
    xs, ys = widget.history["series"]["loss"]["1"]
    assert xs == [1.0, 2.0, 3.0] and ys == [1.0, 0.5, 1.0 / 3]
    assert widget.history["x_kind"]["loss"] == "step"
    assert widget.last_metrics["loss"] == {"0": 1.0 / 3, "1": 1.0 / 3}
    assert widget.progress["step"] == 3 and widget.progress["total"] == 3
    assert set(widget.stages) >= {"Queued", "Preparing", "Running", "Completed"}
    bundle = widget._repr_mimebundle_()
    data = bundle[0] if isinstance(bundle, tuple) else bundle
    assert "Completed" in data["text/html"] and "loss" in data["text/html"]
    assert "application/vnd.jupyter.widget-view+json" in data


def test_without_wait_the_cell_returns_at_once_and_the_loop_keeps_the_widget_live(ip: InteractiveShell) -> None:
    start = time.monotonic()
    assert (
        run_cell(ip, "%%train\nimport time\nfor i in range(30):\n    print(i, flush=True)\n    time.sleep(0.1)\n")
        is None
    )
    assert time.monotonic() - start < 2.5
    widget = magics(ip).widgets[magics(ip).last_run_id]
    assert widget.status in ("Queued", "Preparing", "Running")
    sent = []
    widget.send = lambda msg, buffers=None: sent.append(msg)  # count the deltas the loop pushes
    asyncio.get_event_loop().run_until_complete(widget._task)  # the kernel's loop, as the idle kernel runs it
    assert widget.status == "Completed"
    assert widget.feed.lines_read(0) == 30
    assert [m["seq"] for m in sent] == list(range(1, len(sent) + 1))
    assert sum(len(m["logs"].get("0", [])) for m in sent) == 30
    duration = widget.stages["Completed"] - widget.stages["Running"]
    assert len(sent) <= duration / 0.25 + 3  # coalesced: at most ~4 deltas a second


def test_runs_table_and_attach_with_full_history(ip: InteractiveShell, capsys) -> None:
    assert run_cell(ip, "%%train --wait --name first\nfor i in range(500):\n    print('line', i)\n") is None
    run_id = magics(ip).last_run_id
    capsys.readouterr()
    assert run_cell(ip, "%train_runs") is None
    out = capsys.readouterr().out
    assert run_id in out and "first" in out and "Completed" in out
    magics(ip).widgets.clear()
    assert run_cell(ip, f"%train_attach {run_id} --wait") is None
    widget = magics(ip).widgets[run_id]
    assert widget.feed.lines_read(0) == 500
    assert widget.history["logs"]["0"][0] == "line 0" and widget.history["logs"]["0"][-1] == "line 499"
    error = run_cell(ip, "%train_attach 20990101-000000-ffffff")
    assert isinstance(error, UsageError) and "20990101-000000-ffffff" in str(error)


def test_a_warning_is_one_plain_line_without_ipythons_file_path(ip: InteractiveShell, capfd) -> None:
    assert run_cell(ip, "%%train --wait\ntry:\n    print(undefined_here)\nexcept NameError:\n    print('ok')\n") is None
    err = capfd.readouterr().err
    assert "mltrain: the cell uses names defined nowhere: undefined_here" in err, err
    assert "IPython" not in err and "site-packages" not in err and "LaunchWarning" not in err, err


def test_ipython_syntax_in_the_cell_is_refused_naming_its_line_as_the_user_sees_it(ip: InteractiveShell) -> None:
    error = run_cell(ip, '%%train\nnote = """\n!this is text\n"""\nfiles = !ls\nprint(files)\n')
    assert isinstance(error, UsageError)
    assert "line 5 of the cell ('files = !ls') is IPython syntax ('!ls')" in str(error), str(error)
    assert Store().list() == []


def test_a_failing_cell_points_its_traceback_at_the_cells_own_lines(ip: InteractiveShell) -> None:
    error = run_cell(ip, "%%train --wait\nx = 1\nraise ValueError(f'boom {x}')\n")
    assert error is not None
    cause = last_run(ip).record.root_cause
    assert cause is not None and cause.error == "ValueError: boom 1"
    import re

    assert re.search(r'main\.py", line \d+ \(cell \[\d+\], line 3\), in <module>', cause.traceback or ""), (
        cause.traceback
    )


def test_train_register_makes_a_version_of_the_last_runs_model(ip: InteractiveShell, capsys) -> None:
    cell = (
        "%%train --wait\nimport jupyter_mltrain as mt\n(mt.outputs_dir() / 'model.onnx').write_bytes(b'onnx bytes')\n"
    )
    assert run_cell(ip, cell) is None
    assert run_cell(ip, "%train_register tiny --path outputs/model.onnx --alias prod") is None
    assert "registered tiny version 1 (onnx)" in capsys.readouterr().out
    from jupyter_mltrain.models import Model

    assert Model.get("tiny", alias="prod").run_id == magics(ip).last_run_id
    error = run_cell(ip, "%train_register tiny --path outputs/missing")
    assert isinstance(error, UsageError) and "no file 'outputs/missing'" in str(error)
