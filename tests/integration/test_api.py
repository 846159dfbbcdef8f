"""The Python API: Experiment, Run.get, wait with output, following logs, downloads."""

from __future__ import annotations

import io
import textwrap

import pytest

from jupyter_mltrain.api import Experiment, Run
from jupyter_mltrain.engine.spec import Distribution, Environment, RunSpec
from jupyter_mltrain.hostside.errors import MLTrainError, RunNotFound


@pytest.mark.timeout(120)
def test_experiment_submit_wait_follow_and_download(store, project, tmp_path) -> None:
    (project / "train.py").write_text(
        textwrap.dedent("""
        import time
        from jupyter_mltrain import log, outputs_dir, progress
        for i in range(5):
            print(f"tick {i}", flush=True)
            log("x", i, step=i)
            progress(i + 1, 5)
            time.sleep(0.1)
        (outputs_dir() / "sub").mkdir()
        (outputs_dir() / "sub" / "a.txt").write_text("A")
    """)
    )
    exp = Experiment("api-test", store)
    run = exp.submit(RunSpec(entry="train.py", source=str(project), distribution=Distribution(processes_per_node=2)))
    followed = "".join(run.logs(follow=True))
    assert [line for line in followed.splitlines() if line.startswith("tick")] == [f"tick {i}" for i in range(5)]
    buf = io.StringIO()
    record = run.wait(show_output="all", stream=buf)
    assert record.status == "Completed"
    assert "[rank 1] tick 4" in buf.getvalue() and "Completed" in buf.getvalue()
    assert [r.id for r in exp.runs()] == [run.id]
    again = Run.get(run.id, store)
    assert again.status == "Completed" and again.spec().distribution.processes_per_node == 2
    assert sorted(m["value"] for m in again.metrics() if m["rank"] == 0 and m["name"] == "x") == [0, 1, 2, 3, 4]
    dest = run.download("outputs/sub", tmp_path / "dl")
    assert (dest / "a.txt").read_text() == "A"
    with pytest.raises(MLTrainError, match="outside the run folder|not inside"):
        run.download("../../../etc/passwd", tmp_path)
    assert run.cancel() is False


def test_unknown_run_id(store) -> None:
    with pytest.raises(RunNotFound, match="no run"):
        Run.get("20990101-000000-000000", store)


@pytest.mark.timeout(60)
def test_a_store_inside_the_source_folder_is_not_packaged(tmp_path) -> None:
    from jupyter_mltrain.engine.store import Store

    store = Store(tmp_path / "mltrain-home")
    (tmp_path / "train.py").write_text("print('hi')\n")
    run = Experiment("e", store).submit(RunSpec(entry="train.py", source=str(tmp_path)))
    run.wait(timeout=50)
    snapshot = run.folder.path / "snapshot"
    assert (snapshot / "train.py").exists()
    assert not (snapshot / "mltrain-home").exists()
    store.close()


def test_tf_mode_without_tf_keras_warns_before_launch(store, project, tmp_path) -> None:
    import subprocess
    import sys

    from jupyter_mltrain.hostside.errors import LaunchWarning

    bare = tmp_path / "bare-venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(bare)], check=True, timeout=60)
    (project / "train.py").write_text("print('no tf here')\n")
    spec = RunSpec(
        entry="train.py",
        source=str(project),
        distribution=Distribution(mode="tf", processes_per_node=1),
        environment=Environment(python=str(bare / "bin" / "python")),
    )
    with pytest.warns(LaunchWarning, match="tf-keras is not installed"):
        run = Experiment("w", store).submit(spec)
    run.wait(timeout=50, raise_on_error=False)
