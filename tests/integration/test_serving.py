"""Serving registered models from real runs: both protocols, validation, batching under load, services, MLflow."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from helpers import free_port, wait_for

from jupyter_mltrain.api import submit
from jupyter_mltrain.engine.spec import RunSpec
from jupyter_mltrain.engine.store import Store
from jupyter_mltrain.models import Model
from jupyter_mltrain.models.serving import services
from jupyter_mltrain.models.serving.services import Service, ServiceError

TRAIN_TORCH = """
import torch
import jupyter_mltrain as mt
from jupyter_mltrain import export

torch.manual_seed(0)
model = torch.nn.Sequential(torch.nn.Linear(4, 16), torch.nn.Tanh(), torch.nn.Linear(16, 3))
opt = torch.optim.Adam(model.parameters(), lr=0.05)
x = torch.randn(128, 4)
y = torch.stack([x.sum(1), x[:, 0] - x[:, 1], x.prod(1)], 1)
for step in range(30):
    opt.zero_grad()
    loss = torch.nn.functional.mse_loss(model(x), y)
    loss.backward()
    opt.step()
    mt.log("loss", loss.item(), step=step)
export.torchscript(model, x[:1], folder=mt.outputs_dir() / "ts")
export.onnx(model, x[:1], folder=mt.outputs_dir() / "onnx")
torch.save(model.state_dict(), mt.outputs_dir() / "state.pt")
"""

TRAIN_KERAS = """
import numpy as np
import keras
import jupyter_mltrain as mt

keras.utils.set_random_seed(0)
x = np.random.rand(64, 5).astype("float32")
y = x @ np.arange(1, 6, dtype="float32")[:, None]
model = keras.Sequential([keras.Input((5,), name="features"), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(1)])
model.compile(optimizer="adam", loss="mse")
model.fit(x, y, epochs=3, verbose=0)
(mt.outputs_dir() / "model").mkdir()
model.save(mt.outputs_dir() / "model" / "model.keras")
model.export(str(mt.outputs_dir() / "saved"))  # a TF SavedModel with a serving_default signature
"""


def _train(home: Path, project: Path, script: str) -> Any:
    (project / "train.py").write_text(textwrap.dedent(script))
    run = submit(RunSpec(entry="train.py", source=str(project)), Store(home))
    record = run.wait(timeout=240)
    assert record.status == "Completed", run.folder.read_log(0, 0, 1 << 16)[0]
    return run


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """One real training run's TorchScript and ONNX exports, registered and served in the background."""
    home = tmp_path_factory.mktemp("home")
    project = tmp_path_factory.mktemp("project")
    run = _train(home, project, TRAIN_TORCH)
    ts = run.register_model("net", path="outputs/ts", alias="champion")
    onnx = run.register_model("net-onnx", path="outputs/onnx")
    state = run.register_model("net-weights", path="outputs/state.pt")
    module = torch.jit.load(str(run.folder.path / "outputs" / "ts" / "model.pt"))
    ts_service = Model.get("net", alias="champion", home=str(home)).serve()
    onnx_service = services.start("net-onnx", home=home, token="s3cret", max_batch=16)
    yield {"home": home, "ts": ts_service, "onnx": onnx_service, "module": module, "models": (ts, onnx, state)}
    for service in services.running(home):
        service.stop()


def call(url: str, body: Any = None, token: str | None = None, raw: bytes | None = None) -> tuple[int, Any]:
    """(status, JSON answer) of a GET (no body) or POST to ``url``."""
    data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    headers = {"Content-Type": "application/json"} | ({"Authorization": f"Bearer {token}"} if token else {})
    request = urllib.request.Request(url, data=data, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            text = answer.read()
            return answer.status, json.loads(text) if answer.headers.get_content_type() == "application/json" else text
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def expected(module: Any, x: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return module(torch.from_numpy(x)).numpy()


@pytest.mark.timeout(300)
def test_torchscript_and_onnx_answer_both_protocols_with_the_in_process_numbers(served) -> None:
    ts: Service = served["ts"]
    onnx: Service = served["onnx"]
    x = np.random.default_rng(1).standard_normal((5, 4)).astype("float32")
    floor = expected(served["module"], x)
    assert (ts.name, ts.version, ts.url.startswith("http://127.0.0.1:")) == ("net", 1, True)

    status, answer = call(f"{ts.url}/v1/models/net:predict", {"instances": x.tolist()})
    assert status == 200 and np.allclose(answer["predictions"], floor, atol=1e-5)
    status, answer = call(f"{ts.url}/v1/models/net/versions/1:predict", {"inputs": {"input": x.tolist()}})
    assert status == 200 and np.allclose(answer["outputs"], floor, atol=1e-5)
    status, answer = call(
        f"{ts.url}/v2/models/net/infer",
        {"id": "r1", "inputs": [{"name": "input", "shape": [5, 4], "datatype": "FP32", "data": x.ravel().tolist()}]},
    )
    assert status == 200 and answer["id"] == "r1" and answer["model_version"] == "1"
    (out,) = answer["outputs"]
    assert out["shape"] == [5, 3] and out["datatype"] == "FP32"
    assert np.allclose(np.reshape(out["data"], out["shape"]), floor, atol=1e-5)
    assert np.allclose(ts.predict(x), floor, atol=1e-5)

    token = "s3cret"
    status, answer = call(f"{onnx.url}/v1/models/net-onnx:predict", {"instances": x.tolist()}, token=token)
    assert status == 200 and np.allclose(answer["predictions"], floor, atol=1e-5), "onnxruntime equals torch"
    nested = {"inputs": [{"name": "input", "shape": [5, 4], "datatype": "FP32", "data": x.tolist()}]}
    status, answer = call(f"{onnx.url}/v2/models/net-onnx/infer", nested, token=token)
    assert status == 200 and np.allclose(np.reshape(answer["outputs"][0]["data"], (5, 3)), floor, atol=1e-5)
    assert np.allclose(onnx.predict(x), floor, atol=1e-5)

    assert call(f"{ts.url}/v1/models/net") == (200, {
        "model_version_status": [
            {"version": "1", "state": "AVAILABLE", "status": {"error_code": "OK", "error_message": ""}}
        ]
    })  # fmt: skip
    status, meta = call(f"{ts.url}/v1/models/net/metadata")
    signature = meta["metadata"]["signature_def"]["signature_def"]["serving_default"]
    assert signature["inputs"]["input"]["dtype"] == "DT_FLOAT"
    assert [d["size"] for d in signature["inputs"]["input"]["tensor_shape"]["dim"]] == ["-1", "4"]
    status, meta = call(f"{onnx.url}/v2/models/net-onnx", token=token)
    assert meta["platform"] == "onnxruntime_onnx" and meta["inputs"] == [
        {"name": "input", "datatype": "FP32", "shape": [-1, 4]}
    ]
    assert call(f"{ts.url}/v2/health/ready") == (200, {"ready": True})
    assert call(f"{ts.url}/v2/models/net/ready") == (200, {"name": "net", "ready": True})
    status, text = call(f"{ts.url}/metrics")
    assert status == 200 and b'mltrain_serve_requests_total{code="200",model="net:1",protocol="tfserving"}' in text
    assert b'mltrain_serve_batch_rows_count{model="net:1"}' in text


@pytest.mark.timeout(300)
def test_bad_requests_are_told_what_the_model_takes_and_the_server_keeps_answering(served) -> None:
    url = served["ts"].url
    good = {"instances": [[0.0, 1.0, 2.0, 3.0]]}
    takes = "the model takes input: float32[-1, 4]"
    cases = [
        (f"{url}/v1/models/net:predict", {"instances": [[1, 2, 3]]}, 400, "must have shape [-1, 4]"),
        (f"{url}/v1/models/net:predict", {"instances": [["a", "b", "c", "d"]]}, 400, "non-numeric"),
        (f"{url}/v1/models/net:predict", {"instances": [[1, 2, 3, 4], [1]]}, 400, "ragged"),
        (f"{url}/v1/models/net:predict", {"rows": []}, 400, '"instances"'),
        (f"{url}/v1/models/net:predict", {"inputs": {"image": [[1, 2, 3, 4]]}}, 400, "no input 'image'"),
        (f"{url}/v1/models/nope:predict", good, 404, "served: net:1"),
        (f"{url}/v1/models/net/versions/7:predict", good, 404, "version 7 is not served"),
        (
            f"{url}/v2/models/net/infer",
            {"inputs": [{"name": "input", "shape": [1, 4], "datatype": "INT64", "data": [1, 2, 3, 4]}]},
            400,
            "is INT64 but the model takes FP32",
        ),
        (
            f"{url}/v2/models/net/infer",
            {"inputs": [{"name": "input", "shape": [2, 4], "datatype": "FP32", "data": [1, 2, 3, 4]}]},
            400,
            "4 values do not fill shape [2, 4]",
        ),
    ]
    for where, body, status, words in cases:
        got, answer = call(where, body)
        assert got == status and words in answer["error"], (body, answer)
        if status == 400 and "image" not in str(body) and "INT64" not in str(body) and "[2, 4]" not in str(body):
            assert takes in answer["error"]
        assert call(f"{url}/v1/models/net:predict", good)[0] == 200, "the server answers the next request"

    got, answer = call(f"{url}/v1/models/net:predict", raw=b'{"instances": [[1, 2')
    assert got == 400 and answer["error"].startswith("the body is not valid JSON")
    big = b'{"instances": [' + b"[1.0, 2.0, 3.0, 4.0], " * (100 * 2**20 // 22) + b"[1.0, 2.0, 3.0, 4.0]]}"
    assert len(big) > 100 * 2**20
    got, answer = call(f"{url}/v1/models/net:predict", raw=big)
    assert got == 413 and "over this server's limit of 64 MB" in answer["error"]
    assert call(f"{url}/v1/models/net:predict", good)[0] == 200

    onnx = served["onnx"]
    got, answer = call(f"{onnx.url}/v1/models/net-onnx:predict", good)
    assert got == 401 and "Authorization: Bearer" in answer["error"]
    assert call(f"{onnx.url}/v1/models/net-onnx:predict", good, token="wrong")[0] == 401
    assert call(f"{onnx.url}/v1/models/net-onnx:predict", good, token="s3cret")[0] == 200


@pytest.mark.timeout(300)
def test_64_concurrent_clients_for_10_seconds_each_get_their_own_answer(served) -> None:
    import http.client

    service: Service = served["ts"]
    module = served["module"]
    port = service.port
    results = {"ok": 0, "wrong": 0, "failed": []}
    lock = threading.Lock()
    stop_at = time.monotonic() + 10

    def client(seed: int) -> None:
        rng = np.random.default_rng(seed)
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        while time.monotonic() < stop_at:
            x = rng.standard_normal((int(rng.integers(1, 4)), 4)).astype("float32")
            try:
                connection.request("POST", "/v1/models/net:predict", json.dumps({"instances": x.tolist()}))
                answer = connection.getresponse()
                body = json.loads(answer.read())
            except (OSError, http.client.HTTPException) as exc:
                with lock:
                    results["failed"].append(repr(exc))
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                continue
            right = answer.status == 200 and np.allclose(body["predictions"], expected(module, x), atol=1e-4)
            with lock:
                results["ok" if right else "wrong"] += 1

    threads = [threading.Thread(target=client, args=(seed,)) for seed in range(64)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert results["failed"] == [] and results["wrong"] == 0, results
    assert results["ok"] > 64
    _, text = call(f"{service.url}/metrics")
    batches = {
        line.split()[0]: float(line.split()[1])
        for line in text.decode().splitlines()
        if line.startswith("mltrain_serve_batch_rows_") and 'model="net:1"' in line and "bucket" not in line
    }
    calls, rows = (
        batches['mltrain_serve_batch_rows_count{model="net:1"}'],
        batches['mltrain_serve_batch_rows_sum{model="net:1"}'],
    )
    assert rows / calls > 1.5, f"concurrent requests were batched: {rows / calls:.1f} rows per model call"


@pytest.mark.timeout(300)
def test_services_are_listed_stopped_and_forgotten_when_their_process_dies(served) -> None:
    home = served["home"]
    listed = {s.id: s for s in services.running(home)}
    assert set(listed) >= {served["ts"].id, served["onnx"].id}
    out = subprocess.run(
        [sys.executable, "-m", "jupyter_mltrain.cli", "services", "ls", "--json"],
        env={**os.environ, "MLTRAIN_HOME": str(home)}, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    rows = json.loads(out.stdout)
    assert {r["id"] for r in rows} >= set(listed) and all("token" not in r for r in rows)

    extra = services.start("net", version=1, home=home)
    os.kill(extra.pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while extra.id in {s.id for s in services.running(home)} and time.monotonic() < deadline:
        time.sleep(0.1)
    assert extra.id not in {s.id for s in services.running(home)}

    another = services.start("net", home=home)
    assert services.stop(another.id, home) is True and services.stop(another.id, home) is False
    assert not Path(f"/proc/{another.pid}").exists() or "Z" in Path(f"/proc/{another.pid}/stat").read_text().split()[2]
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(f"{another.url}/v2/health/live", timeout=5)


@pytest.mark.timeout(300)
def test_what_cannot_be_served_says_why_before_anything_listens(served) -> None:
    home = served["home"]
    with pytest.raises(ServiceError, match="state_dict, which holds weights but not the model's code"):
        services.start("net-weights", home=home)
    with pytest.raises(ServiceError, match="no model 'ghost'; registered models: net, net-onnx, net-weights"):
        services.start("ghost", home=home)
    bad = subprocess.run(
        [sys.executable, "-m", "jupyter_mltrain.cli", "serve", "net", "--max-batch", "0"],
        env={**os.environ, "MLTRAIN_HOME": str(home)}, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert bad.returncode == 2 and "--max-batch must be at least 1" in bad.stderr
    assert len(services.running(home)) == 2


@pytest.mark.timeout(400)
def test_a_keras_model_from_a_real_run_is_served_with_keras_numbers(tmp_path) -> None:
    import keras

    home, project = tmp_path / "home", tmp_path / "project"
    project.mkdir()
    run = _train(home, project, TRAIN_KERAS)
    model = run.register_model("reg")
    assert model.framework == "keras"
    x = np.random.default_rng(2).random((3, 5)).astype("float32")
    floor = keras.models.load_model(run.folder.path / "outputs" / "model" / "model.keras").predict(x, verbose=0)
    saved = run.register_model("reg-saved", path="outputs/saved")
    assert saved.framework == "tensorflow"
    service = model.serve()
    saved_service = saved.serve()
    try:
        status, answer = call(f"{service.url}/v1/models/reg:predict", {"instances": x.tolist()})
        assert status == 200 and np.allclose(answer["predictions"], floor, atol=1e-5)
        body = {"inputs": [{"name": "features", "shape": [3, 5], "datatype": "FP32", "data": x.ravel().tolist()}]}
        status, answer = call(f"{service.url}/v2/models/reg/infer", body)
        assert status == 200 and np.allclose(np.reshape(answer["outputs"][0]["data"], (3, 1)), floor, atol=1e-5)
        status, meta = call(f"{saved_service.url}/v2/models/reg-saved")
        assert meta["platform"] == "tensorflow_savedmodel" and meta["inputs"][0]["shape"] == [-1, 5]
        name = meta["inputs"][0]["name"]
        status, answer = call(f"{saved_service.url}/v1/models/reg-saved:predict", {"inputs": {name: x.tolist()}})
        assert status == 200 and np.allclose(answer["outputs"], floor, atol=1e-5), answer
    finally:
        service.stop()
        saved_service.stop()


def _mlflow_serve(folder: Path, port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    command = [sys.executable, "-m", "mlflow", "models", "serve", "-m", str(folder), "--env-manager", "local"]
    return subprocess.Popen(
        [*command, "-h", "127.0.0.1", "-p", str(port)], env=env, start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip


@pytest.mark.timeout(400)
def test_mlflow_export_is_served_by_mlflow_models_serve_with_the_same_numbers(served, tmp_path) -> None:
    home = served["home"]
    x = np.random.default_rng(3).standard_normal((4, 4)).astype("float32")
    floor = expected(served["module"], x)
    env = {**os.environ, "MLTRAIN_HOME": str(home)}
    servers = []
    try:
        for ref, folder in (("net@champion", tmp_path / "mlflow-ts"), ("net-onnx:1", tmp_path / "mlflow-onnx")):
            out = subprocess.run(
                [sys.executable, "-m", "jupyter_mltrain.cli", "models", "export", ref, "--format", "mlflow", str(folder)],
                env=env, capture_output=True, text=True, timeout=200,
            )  # fmt: skip
            assert out.returncode == 0, out.stderr
            assert (folder / "MLmodel").exists() and "mltrain_model" in (folder / "MLmodel").read_text()
            port = free_port()
            servers.append(_mlflow_serve(folder, port))
            wait_for(lambda port=port: _pings(port), timeout=120, what="mlflow models serve to answer /ping")
            status, answer = call(f"http://127.0.0.1:{port}/invocations", {"inputs": x.tolist()})
            predictions = answer["predictions"]
            got = predictions["output"] if isinstance(predictions, dict) else predictions
            assert status == 200 and np.allclose(got, floor, atol=1e-5), answer
        again = subprocess.run(
            [sys.executable, "-m", "jupyter_mltrain.cli", "models", "export", "net", "--format", "mlflow", str(folder)],
            env=env, capture_output=True, text=True, timeout=200,
        )  # fmt: skip
        assert again.returncode == 2 and "exists" in again.stderr
    finally:
        for server in servers:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)


def _pings(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=2) as answer:
            return answer.status == 200
    except OSError:
        return False
