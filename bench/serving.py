"""Predict latency and throughput of ``mltrain serve`` beside the model called in-process and ``mlflow models serve``.

A small MLP (32 → 256 → 256 → 8) is exported to TorchScript and ONNX with ``jupyter_mltrain.export``, registered,
and served on this machine, one after the other: called in-process (the floor: no HTTP at all), by
``mltrain serve`` (TF Serving REST, dynamic batching with the defaults), by ``mlflow models serve`` (its
defaults: one uvicorn worker) on the same model exported with ``mltrain models export --format mlflow``, and
(TorchScript only) by LitServe batching up to 32 rows with a 2 ms wait, the serving library we measured
against writing our own server.
Clients keep their HTTP connection open and send one row per request: concurrency 1, then 32 (4 client
processes of 8 threads each), for ``SECONDS`` each. Goals (issue 14): at concurrency 1, p50 ≤ floor + 1 ms;
at concurrency 32, ≥ 2× MLflow's requests/s.

    .venv/bin/python bench/serving.py
"""

from __future__ import annotations

import http.client
import json
import multiprocessing
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from _common import Row, _free_port, note, percentile, print_rows, scratch

SECONDS = float(os.environ.get("BENCH_SERVING_SECONDS", "5"))
# LitServe (Lightning's serving library) on the same TorchScript file, batching up to 32 rows: the measured
# alternative to a server of our own
LITSERVE = """\
import sys

import litserve as ls
import torch


class API(ls.LitAPI):
    def setup(self, device):
        torch.set_num_threads(1)
        self.model = torch.jit.load(sys.argv[1])

    def decode_request(self, request):
        return request["instances"][0]

    def batch(self, rows):
        return torch.tensor(rows)

    def predict(self, x):
        with torch.inference_mode():
            return self.model(x)

    def unbatch(self, output):
        return list(output)

    def encode_response(self, output):
        return {"predictions": [output.tolist()]}


if __name__ == "__main__":
    api = API(max_batch_size=32, batch_timeout=0.002)
    ls.LitServer(api, accelerator="cpu").run(host="127.0.0.1", port=int(sys.argv[2]), generate_client_file=False)
"""
CLIENT_PROCESSES = 4


def _client(port: int, path: str, body: bytes, threads: int, until: float, out: Any) -> None:
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()

    def loop() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        mine = []
        while time.time() < until:
            started = time.perf_counter()
            try:
                connection.request("POST", path, body, {"Content-Type": "application/json"})
                answer = connection.getresponse()
                answer.read()
                ok = answer.status == 200
            except (OSError, http.client.HTTPException):
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                ok = False
            if ok:
                mine.append(time.perf_counter() - started)
            else:
                with lock:
                    errors[0] += 1
        with lock:
            latencies.extend(mine)

    workers = [threading.Thread(target=loop) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    out.put((latencies, errors[0]))


def load(port: int, path: str, body: bytes, concurrency: int) -> tuple[list[float], float, int]:
    """(latencies, requests/s, errors) of ``concurrency`` clients posting ``body`` for SECONDS."""
    processes = min(concurrency, CLIENT_PROCESSES)
    queue: Any = multiprocessing.get_context("fork").Queue()
    until = time.time() + 1.0 + SECONDS
    clients = [
        multiprocessing.get_context("fork").Process(
            target=_client, args=(port, path, body, concurrency // processes, until, queue)
        )
        for _ in range(processes)
    ]
    for c in clients:
        c.start()
    results = [queue.get() for _ in clients]
    for c in clients:
        c.join()
    latencies = [x for lat, _ in results for x in lat]
    return latencies, len(latencies) / (SECONDS + 1.0), sum(e for _, e in results)


def in_process(predict: Any, x: Any) -> list[float]:
    """Latencies of calling the model directly, one row at a time."""
    for _ in range(200):
        predict(x)
    times = []
    deadline = time.perf_counter() + SECONDS
    while time.perf_counter() < deadline:
        started = time.perf_counter()
        predict(x)
        times.append(time.perf_counter() - started)
    return times


def _wait_http(port: int, path: str, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", path)
            if connection.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"nothing answered on port {port} within {timeout:.0f} s")


def fmt(latencies: list[float]) -> str:
    """p50/p99 in ms."""
    return f"{percentile(latencies, 0.5) * 1000:.2f}/{percentile(latencies, 0.99) * 1000:.2f} ms"


def run() -> list[Row]:
    """Measure both models three ways; one row per model and concurrency."""
    import onnxruntime
    import torch

    from jupyter_mltrain import export
    from jupyter_mltrain.models import Registry
    from jupyter_mltrain.models.serving import services

    rows: list[Row] = []
    with scratch("serving") as (root, _store):
        torch.manual_seed(0)
        net = torch.nn.Sequential(
            torch.nn.Linear(32, 256),
            torch.nn.ReLU(),
            torch.nn.Linear(256, 256),
            torch.nn.ReLU(),
            torch.nn.Linear(256, 8),
        )
        example = torch.randn(1, 32)
        export.torchscript(net, example, folder=root / "ts" / "model")
        export.onnx(net, example, folder=root / "onnx" / "model")
        registry = Registry(root / "home")
        registry.register("bench-ts", root / "ts" / "model")
        registry.register("bench-onnx", root / "onnx" / "model")
        x = example.numpy()
        script = torch.jit.load(str(root / "ts" / "model" / "model.pt"))
        session = onnxruntime.InferenceSession(str(root / "onnx" / "model" / "model.onnx"))

        def torch_predict(a: Any) -> Any:
            with torch.inference_mode():
                return script(torch.from_numpy(a)).numpy()

        floors = {
            "bench-ts": in_process(torch_predict, x),
            "bench-onnx": in_process(lambda a: session.run(None, {"input": a}), x),
        }
        row = json.dumps({"instances": x.tolist()}).encode()
        env = {
            **os.environ,
            "MLTRAIN_HOME": str(root / "home"),
            "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
        }
        litserve = {}
        try:
            import litserve as _  # noqa: F401

            (root / "litserve_server.py").write_text(LITSERVE)
            port = _free_port()
            server = subprocess.Popen(
                [sys.executable, str(root / "litserve_server.py"), str(root / "ts" / "model" / "model.pt"), str(port)],
                start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )  # fmt: skip
            try:
                _wait_http(port, "/health")
                litserve = {c: load(port, "/predict", row, c) for c in (1, 32)}
            finally:
                os.killpg(server.pid, signal.SIGTERM)
                server.wait(timeout=30)
            for c, (lat, rps, errors) in litserve.items():
                note(f"TorchScript: LitServe c={c}: p50/p99 {fmt(lat)}, {rps:.0f} req/s, {errors} errors")
        except ImportError:
            note("LitServe is not installed: its rows are left out")
        for name, label in (("bench-ts", "TorchScript"), ("bench-onnx", "ONNX")):
            floor = floors[name]
            note(f"{label}: in-process p50/p99 {fmt(floor)}")
            service = services.start(name, home=root / "home")
            ours = {c: load(service.port, f"/v1/models/{name}:predict", row, c) for c in (1, 32)}
            service.stop()
            for c, (lat, rps, errors) in ours.items():
                note(f"{label}: mltrain serve c={c}: p50/p99 {fmt(lat)}, {rps:.0f} req/s, {errors} errors")
            folder = root / f"mlflow-{name}"
            subprocess.run(
                [sys.executable, "-m", "jupyter_mltrain.cli", "models", "export", name, "--format", "mlflow", str(folder)],
                env=env, check=True, capture_output=True, timeout=300,
            )  # fmt: skip
            port = _free_port()
            mlflow = subprocess.Popen(
                [sys.executable, "-m", "mlflow", "models", "serve", "-m", str(folder), "--env-manager", "local",
                 "-h", "127.0.0.1", "-p", str(port)],
                env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )  # fmt: skip
            try:
                _wait_http(port, "/ping")
                body = json.dumps({"inputs": x.tolist()}).encode()
                theirs = {c: load(port, "/invocations", body, c) for c in (1, 32)}
            finally:
                os.killpg(mlflow.pid, signal.SIGTERM)
                mlflow.wait(timeout=30)
            for c, (lat, rps, errors) in theirs.items():
                note(f"{label}: mlflow models serve c={c}: p50/p99 {fmt(lat)}, {rps:.0f} req/s, {errors} errors")
            lit = litserve if name == "bench-ts" else {}
            p50_floor = percentile(floor, 0.5)
            lat1, rps1, _ = ours[1]
            rows.append(
                Row(
                    f"serve {label}, 1 client: p50/p99",
                    f"{fmt(lat1)} ({rps1:.0f} req/s); in-process {fmt(floor)}; MLflow {fmt(theirs[1][0])}"
                    + (f"; LitServe {fmt(lit[1][0])}" if lit else ""),
                    "p50 ≤ in-process p50 + 1 ms",
                    percentile(lat1, 0.5) <= p50_floor + 0.001,
                )
            )
            lat32, rps32, errors32 = ours[32]
            mrps = theirs[32][1]
            rows.append(
                Row(
                    f"serve {label}, 32 clients: requests/s",
                    f"{rps32:.0f} req/s, p50/p99 {fmt(lat32)}, {errors32} errors; MLflow {mrps:.0f} req/s "
                    f"({rps32 / max(mrps, 1e-9):.1f}×), p50/p99 {fmt(theirs[32][0])}"
                    + (f"; LitServe {lit[32][1]:.0f} req/s, p50/p99 {fmt(lit[32][0])}" if lit else ""),
                    "≥ 2× MLflow's requests/s",
                    rps32 >= 2 * mrps and errors32 == 0,
                )
            )
    return rows


if __name__ == "__main__":
    print_rows(run())
