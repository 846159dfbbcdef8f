"""The model registry and model services over REST, on a real jupyter_server, with models of real runs."""

from __future__ import annotations

import asyncio
import io
import json
import time
import urllib.request
import zipfile
from pathlib import Path

import pytest
from serverutil import wait_final

SCRIPT = (
    "import jupyter_mltrain as mt\nmt.log('loss', 0.25, step=0)\nfolder = mt.outputs_dir() / 'model'\n"
    "folder.mkdir()\n(folder / 'weights.txt').write_text('w' * 10)\n(folder / 'labels.txt').write_text('a b')\n"
)

TORCH_SCRIPT = """
import torch, jupyter_mltrain as mt
from jupyter_mltrain import export
torch.manual_seed(0)
export.torchscript(torch.nn.Linear(3, 1), torch.randn(1, 3))  # outputs/model/ with signature.json
mt.log("loss", 0.5, step=0)
"""


async def finished_run(api, root: Path, script: str, name: str) -> str:
    """Submit ``script`` through REST, wait for it to complete; its id."""
    (root / f"{name}.py").write_text(script)
    code, body = await api(
        "POST", "runs", body={"kind": "script", "path": f"{name}.py", "name": name, "params": {"lr": 0.1}}
    )
    assert code == 201, body
    record = await wait_final(api, body["run"]["id"])
    assert record["status"] == "Completed", record
    return str(record["id"])


async def test_register_list_alias_download_and_delete_a_run_model(api, jp_root_dir: Path) -> None:
    run_id = await finished_run(api, jp_root_dir, SCRIPT, "tiny")
    code, body = await api("POST", "runs", run_id, "register", body={"name": "tiny", "alias": "champion"})
    assert code == 201, body
    first = body["model"]
    assert (first["name"], first["version"], first["aliases"], first["run_id"]) == ("tiny", 1, ["champion"], run_id)
    assert first["source"]["params"] == {"lr": 0.1} and first["source"]["metrics"] == {"loss": 0.25}
    assert sorted(first["files"]) == ["model/labels.txt", "model/weights.txt"]
    code, body = await api(
        "POST",
        "runs",
        run_id,
        "register",
        body={"name": "tiny", "path": "outputs/model/labels.txt", "tags": {"t": "x"}},
    )
    assert code == 201 and body["model"]["version"] == 2 and body["model"]["tags"] == {"t": "x"}

    code, body = await api("GET", "models")
    assert code == 200 and [(m["name"], m["version"]) for m in body["models"]] == [("tiny", 1), ("tiny", 2)]
    assert "env" not in body["models"][0]["source"] and body["models"][0]["source"]["run"]["id"] == run_id
    code, body = await api("GET", "models", "tiny", "1")
    assert code == 200 and body["model"]["source"]["spec"]["name"] == "tiny"

    code, body = await api("PUT", "models", "tiny", "2", "alias", body={"alias": "champion"})
    assert code == 200 and body["model"]["aliases"] == ["champion"]
    code, body = await api("GET", "models", "tiny", "1")
    assert body["model"]["aliases"] == []  # the alias moved
    code, body = await api("PUT", "models", "tiny", "2", "alias", body={"alias": "12"})
    assert code == 400 and "bad alias" in body["message"]

    code, raw = await api("GET", "models", "tiny", "1", "download")
    assert code == 200
    with zipfile.ZipFile(io.BytesIO(raw)) as archive:
        assert archive.read("model/weights.txt") == b"w" * 10 and archive.read("model/labels.txt") == b"a b"

    code, body = await api("DELETE", "models", "tiny", "1")
    assert code == 200 and body["deleted"] == {"name": "tiny", "version": 1}
    code, body = await api("GET", "models", "tiny", "1")
    assert code == 404 and "has no version 1" in body["message"]
    code, body = await api("GET", "models", "other", "1", "download")
    assert code == 404 and "no model 'other'" in body["message"]


async def test_bad_registrations_are_400_with_the_message(api, jp_root_dir: Path) -> None:
    run_id = await finished_run(api, jp_root_dir, SCRIPT, "tiny")
    code, body = await api("POST", "runs", run_id, "register", body={"name": "tiny", "path": "outputs/nothing"})
    assert code == 400 and "nothing" in body["message"]
    code, body = await api("POST", "runs", run_id, "register", body={"name": "bad name!"})
    assert code == 400 and "bad model name" in body["message"]
    code, body = await api("POST", "runs", run_id, "register", body={})
    assert code == 400 and body["field"] == "name"
    code, body = await api("POST", "runs", run_id, "register", body={"name": "tiny", "tags": {"a": 1}})
    assert code == 400 and body["field"] == "tags"
    code, body = await api("POST", "runs", "20990101-000000-abcdef", "register", body={"name": "tiny"})
    assert code == 404
    code, body = await api("GET", "models")
    assert body["models"] == []


@pytest.mark.timeout(300)
async def test_serve_a_registered_model_predict_then_stop_it(api, jp_root_dir: Path) -> None:
    run_id = await finished_run(api, jp_root_dir, TORCH_SCRIPT, "linear")
    code, body = await api("POST", "runs", run_id, "register", body={"name": "linear", "alias": "prod"})
    assert code == 201, body
    code, body = await api("POST", "services", body={"name": "linear", "alias": "prod"})
    assert code == 201, body
    service = body["service"]
    try:
        assert (service["name"], service["version"]) == ("linear", 1) and service["port"] > 0
        code, body = await api("GET", "services")
        assert code == 200 and [s["id"] for s in body["services"]] == [service["id"]]
        request = urllib.request.Request(
            f"{service['url']}/v1/models/linear/versions/1:predict",
            data=json.dumps({"instances": [[1.0, 2.0, 3.0]]}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as reply:
            predictions = json.loads(reply.read())["predictions"]
        assert len(predictions) == 1 and len(predictions[0]) == 1
    finally:
        code, body = await api("DELETE", "services", service["id"])
    assert code == 200 and body == {"stopped": service["id"]}
    deadline = time.monotonic() + 30
    while True:
        code, body = await api("GET", "services")
        if not body["services"]:
            break
        assert time.monotonic() < deadline, body
        await asyncio.sleep(0.2)
    code, body = await api("DELETE", "services", service["id"])
    assert code == 404
    code, body = await api("POST", "services", body={"name": "missing"})
    assert code == 400 and "no model 'missing'" in body["message"]
