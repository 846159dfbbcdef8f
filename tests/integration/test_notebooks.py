"""The notebooks in notebooks/ run end to end (code cells in order, in a fresh interpreter)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"


@pytest.mark.timeout(240)
def test_getting_started_notebook_trains_and_downloads_the_model(home, tmp_path) -> None:
    nb = json.loads((NOTEBOOKS / "getting-started.ipynb").read_text())
    code = "\n\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=220)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "rank 0 step 40" in out.stdout
    assert "Completed" in out.stdout
    assert (tmp_path / "digits.pt").stat().st_size > 1000


MAGIC_NOTEBOOKS = ["quickstart.ipynb", "tensorflow.ipynb", "horovod.ipynb", "mpi.ipynb"]


@pytest.mark.timeout(600)
@pytest.mark.parametrize("name", MAGIC_NOTEBOOKS)
def test_notebook_runs_in_a_real_kernel_and_saves_the_final_widget_state(name: str, home, tmp_path) -> None:
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    client = NotebookClient(
        nb, timeout=500, kernel_name="python3", store_widget_state=True, resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()  # raises CellExecutionError on any error, e.g. a run that did not complete under --wait
    state = nb.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    runs = [model["state"] for model in state.values() if model["state"].get("run_id")]
    assert len(runs) == 1, runs
    widget = runs[0]
    assert widget["status"] == "Completed"
    assert widget["history"]["series"], "no metric points in the saved widget state"
    assert any(widget["history"]["logs"].values()), "no log lines in the saved widget state"
    assert all(points[0] for per_rank in widget["history"]["series"].values() for points in per_rank.values())
    assert widget["last_metrics"] and widget["progress"].get("total")
    displayed = [
        out
        for cell in nb.cells
        if cell.cell_type == "code"
        for out in cell.get("outputs", [])
        if out.get("metadata", {}).get("jupyter_mltrain")
    ]
    assert displayed and displayed[0]["metadata"]["jupyter_mltrain"]["run_id"] == widget["run_id"]
    assert "Completed" in displayed[-1]["data"]["text/html"]  # what nbconvert and viewers without widgets show


@pytest.mark.timeout(600)
def test_remote_cluster_notebook_trains_on_two_ssh_hosts(sshd, home, tmp_path) -> None:
    import nbformat
    from nbclient import NotebookClient
    from test_ssh_runs import cluster_toml

    (tmp_path / "mltrain.toml").write_text(cluster_toml(sshd, tmp_path / "remote-work"))
    nb = nbformat.read(NOTEBOOKS / "remote-cluster.ipynb", as_version=4)
    NotebookClient(
        nb, timeout=500, kernel_name="python3", store_widget_state=True, resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    check = "".join(o.get("text", "") for c in nb.cells for o in c.get("outputs", []) if "targets" in c.source)
    assert "127.0.0.2" in check and "127.0.0.3" in check and "ok" in check
    state = nb.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    (widget,) = [m["state"] for m in state.values() if m["state"].get("run_id")]
    assert widget["status"] == "Completed" and widget["target"] == "cluster" and widget["ranks"] == 4
    assert set(widget["history"]["series"]["loss"]) == {"0", "1", "2", "3"}
