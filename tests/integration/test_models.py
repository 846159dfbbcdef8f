"""The model registry with real models from real runs: versions, content-addressed files, aliases, the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import torch

from jupyter_mltrain.api import Run, submit
from jupyter_mltrain.engine.spec import RunSpec
from jupyter_mltrain.models import Model, ModelError, Registry

MLTRAIN = [sys.executable, "-m", "jupyter_mltrain.cli"]

TRAIN = """
import torch
import jupyter_mltrain as mt

torch.manual_seed(0)
model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 1))
opt = torch.optim.SGD(model.parameters(), lr=0.1)
x, y = torch.randn(64, 4), torch.randn(64, 1)
for step in range(20):
    opt.zero_grad()
    loss = torch.nn.functional.mse_loss(model(x), y)
    loss.backward()
    opt.step()
    mt.log("loss", loss.item(), step=step)
folder = mt.outputs_dir() / "model"
folder.mkdir()
torch.jit.save(torch.jit.trace(model, torch.randn(1, 4)), str(folder / "model.pt"))
(folder / "labels.txt").write_text("the same in every version")
torch.save(model.state_dict(), mt.outputs_dir() / "weights.pt")
"""


@pytest.fixture
def trained(store, project) -> Run:
    (project / "train.py").write_text(textwrap.dedent(TRAIN))
    run = submit(RunSpec(entry="train.py", source=str(project), params={"lr": 0.1}), store)
    record = run.wait(timeout=120)
    assert record.status == "Completed"
    return run


@pytest.mark.timeout(180)
def test_a_trained_torchscript_model_is_registered_versioned_and_downloaded_whole(trained, home, tmp_path) -> None:
    first = trained.register_model("digits", tags={"team": "ml"}, alias="champion")
    assert (first.name, first.version, first.framework, first.aliases) == ("digits", 1, "torchscript", ["champion"])
    assert first.framework_version == torch.__version__.split("+")[0] or first.framework_version == torch.__version__
    assert first.run_id == trained.id and first.source["params"] == {"lr": 0.1}
    assert first.source["metrics"]["loss"] < 2 and len(first.source["snapshot"]) == 64
    assert first.source["env"]["packages"]["torch"] and first.tags == {"team": "ml"}
    second = trained.register_model("digits")
    assert second.version == 2 and second.aliases == []
    objects = [p for p in (home / "model-objects").rglob("*") if p.is_file()]
    assert len(objects) == 2, "the same two files in both versions are stored once"
    assert trained.register_model("weights", path="outputs/weights.pt").framework == "torch"

    where = Model.get("digits", alias="champion").download(tmp_path / "got")
    assert where == tmp_path / "got" / "model" and (where / "labels.txt").read_text() == "the same in every version"
    loaded = torch.jit.load(str(where / "model.pt"))
    original = torch.jit.load(str(trained.folder.path / "outputs" / "model" / "model.pt"))
    x = torch.randn(5, 4)
    assert torch.equal(loaded(x), original(x))


@pytest.mark.timeout(180)
def test_aliases_move_deletes_keep_shared_files_and_errors_name_what_exists(trained, home) -> None:
    for _ in range(3):
        trained.register_model("m")
    registry = Registry(home)
    registry.set_alias("m", "champion", 1)
    Model.get("m", version=3).set_alias("champion")
    assert Model.get("m", alias="champion").version == 3 and Model.get("m", version=1).aliases == []
    Model.get("m", version=3).delete()
    assert [m.version for m in Model.list()] == [1, 2]
    assert Model.get("m").download(home / "check").joinpath("model.pt").exists(), "shared files survive the delete"
    with pytest.raises(ModelError, match="model 'm' has no version 3; its versions: 1, 2"):
        Model.get("m", version=3)
    with pytest.raises(ModelError, match="model 'm' has no alias 'champion'; its aliases: none"):
        Model.get("m", alias="champion")
    with pytest.raises(ModelError, match="no model 'nope'; registered models: m"):
        Model.get("nope")
    with pytest.raises(ModelError, match="bad alias '7'"):
        Model.get("m").set_alias("7")


@pytest.mark.timeout(180)
def test_concurrent_registrations_get_distinct_consecutive_versions(trained, home, project) -> None:
    def register(_: int) -> str:
        out = subprocess.run(
            [*MLTRAIN, "register", trained.id, "shared"], cwd=project, capture_output=True, text=True, timeout=120
        )
        assert out.returncode == 0, out.stderr
        return out.stdout.strip()

    with ThreadPoolExecutor(6) as pool:
        versions = sorted(int(v) for v in pool.map(register, range(6)))
    assert versions == [1, 2, 3, 4, 5, 6]


@pytest.mark.timeout(180)
def test_the_cli_lists_shows_downloads_aliases_and_removes(trained, project, tmp_path) -> None:
    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*MLTRAIN, *args], cwd=project, capture_output=True, text=True, timeout=120)

    assert cli("register", trained.id, "net", "--alias", "prod", "--tag", "k=v").stdout.strip() == "1"
    assert cli("register", trained.id, "net").stdout.strip() == "2"
    listed = json.loads(cli("models", "ls", "--json").stdout)
    assert [(m["name"], m["version"], m["aliases"]) for m in listed] == [("net", 1, ["prod"]), ("net", 2, [])]
    shown = json.loads(cli("models", "show", "net@prod", "--json").stdout)
    assert shown["version"] == 1 and shown["tags"] == {"k": "v"} and shown["framework"] == "torchscript"
    assert cli("models", "alias", "net:2", "prod").returncode == 0
    assert json.loads(cli("models", "show", "net@prod", "--json").stdout)["version"] == 2
    got = cli("models", "download", "net:1", "--to", str(tmp_path / "dl"))
    assert got.returncode == 0 and (Path(got.stdout.strip()) / "model.pt").exists()
    assert cli("models", "rm", "net:1").returncode == 0
    missing = cli("models", "show", "net:1")
    assert missing.returncode == 2 and "model 'net' has no version 1; its versions: 2" in missing.stderr
    running = cli("register", "20990101-000000-abcdef", "x")
    assert running.returncode == 2 and "no run" in running.stderr


EXPORTS = """
import torch
import jupyter_mltrain as mt
from jupyter_mltrain import export

torch.manual_seed(0)
model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 2))
export.torchscript(model, torch.randn(1, 4), folder=mt.outputs_dir() / "ts")
export.onnx(model, torch.randn(1, 4), folder=mt.outputs_dir() / "onnx")
torch.save(model.state_dict(), mt.outputs_dir() / "state.pt")
"""


@pytest.mark.timeout(180)
def test_exported_torchscript_and_onnx_predict_what_the_model_predicts(store, project, tmp_path) -> None:
    import numpy as np
    import onnxruntime

    (project / "train.py").write_text(textwrap.dedent(EXPORTS))
    run = submit(RunSpec(entry="train.py", source=str(project)), store)
    assert run.wait(timeout=120).status == "Completed"
    ts = run.register_model("net-ts", path="outputs/ts")
    onnx = run.register_model("net-onnx", path="outputs/onnx")
    assert (ts.framework, onnx.framework) == ("torchscript", "onnx")
    signature = json.loads((run.folder.path / "outputs" / "onnx" / "signature.json").read_text())
    assert signature["inputs"] == [{"name": "input", "shape": [-1, 4], "dtype": "float32"}]
    assert signature["outputs"] == [{"name": "output", "shape": [-1, 2], "dtype": "float32"}]
    model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 2))
    model.load_state_dict(torch.load(run.folder.path / "outputs" / "state.pt"))
    x = torch.randn(7, 4)
    expected = model(x).detach().numpy()
    scripted = torch.jit.load(str(ts.download(tmp_path / "a") / "model.pt"))
    assert np.allclose(scripted(x).detach().numpy(), expected, atol=1e-6)
    session = onnxruntime.InferenceSession(str(onnx.download(tmp_path / "b") / "model.onnx"))
    assert np.allclose(session.run(None, {"input": x.numpy()})[0], expected, atol=1e-5)
