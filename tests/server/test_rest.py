"""The REST API of the server extension on a real jupyter_server, submitting real runs."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import nbformat
from helpers import assert_no_process_left
from nbformat.v4 import new_code_cell, new_notebook
from serverutil import first_log_line, wait_final

SCRIPT = (
    "import sys, jupyter_mltrain as mt\nfor i in range(5):\n    print('line', i, 'rank', mt.rank())\n"
    "    mt.log('loss', 1.0 / (i + 1), step=i)\n(mt.outputs_dir() / 'model.txt').write_text('weights')\n"
)


async def test_submit_a_script_then_read_it_back(api, jp_root_dir: Path) -> None:
    code, body = await api("GET", "runs")
    assert code == 200 and body == {"runs": [], "total": 0, "offset": 0, "limit": 50, "index_error": None}
    (jp_root_dir / "job").mkdir()
    (jp_root_dir / "job" / "train.py").write_text(SCRIPT)
    code, body = await api(
        "POST",
        "runs",
        body={
            "kind": "script",
            "path": "job/train.py",
            "np": 2,
            "name": "from-rest",
            "experiment": "api",
            "params": {"lr": 0.1},
        },
    )
    assert code == 201, body
    run_id = body["run"]["id"]
    record = await wait_final(api, run_id)
    assert record["status"] == "Completed" and record["ranks"] == 2 and record["params"] == {"lr": 0.1}
    code, body = await api("GET", "runs", params={"experiment": "api"})
    assert [r["id"] for r in body["runs"]] == [run_id] and body["total"] == 1
    code, body = await api("GET", "runs", params={"q": "from-r"})
    assert body["total"] == 1
    code, body = await api("GET", "runs", run_id, "logs", params={"rank": "1", "offset": "0"})
    assert body["data"].splitlines()[0] == "line 0 rank 1" and body["next"] == len(body["data"].encode())
    code, body = await api("GET", "runs", run_id, "logs", params={"rank": "1", "offset": str(body["next"])})
    assert body["data"] == ""
    code, body = await api("GET", "runs", run_id, "metrics")
    assert len([m for m in body["metrics"] if m["name"] == "loss"]) == 10
    code, page = await api("GET", "runs", run_id, "metrics", params={"rank": "1", "offset": "0"})
    assert [m["value"] for m in page["metrics"] if m.get("name") == "loss"] == [1.0, 0.5, 1 / 3, 0.25, 0.2]
    code, rest = await api("GET", "runs", run_id, "metrics", params={"rank": "1", "offset": str(page["next"])})
    assert rest["metrics"] == [] and rest["next"] == page["next"]
    code, body = await api("GET", "runs", run_id, "files")
    paths = {f["path"]: f["size"] for f in body["files"]}
    assert paths["outputs/model.txt"] == 7 and "logs/rank-0.log" in paths
    code, body = await api("GET", "runs", run_id, "files", "outputs/model.txt")
    assert code == 200 and body == b"weights"


async def test_train_this_notebook_uses_the_unsaved_content_and_reports_dropped_magics(api, jp_root_dir: Path) -> None:
    saved = new_notebook(cells=[new_code_cell("print('saved version')")])
    nbformat.write(saved, jp_root_dir / "nb.ipynb")
    edited = new_notebook(
        cells=[
            new_code_cell("%load_ext jupyter_mltrain\n%matplotlib inline\nVALUE = 41"),
            new_code_cell("!nvidia-smi\n%env MODE=fast\nimport os\nprint('edited', VALUE + 1, os.environ['MODE'])"),
        ]
    )
    request = {"kind": "notebook", "path": "nb.ipynb", "content": edited, "np": 1, "name": "nb", "hang_timeout": 30}
    code, preview = await api("POST", "runs", "preview", body=request)
    assert code == 200, preview
    assert "print('edited', VALUE + 1" in preview["script"]
    assert any("%matplotlib dropped" in w for w in preview["warnings"])
    assert any("!nvidia-smi" in w for w in preview["warnings"])
    assert (await api("GET", "runs"))[1]["total"] == 0  # a preview launches nothing
    code, body = await api("POST", "runs", body=request)
    assert code == 201 and body["warnings"] == preview["warnings"]
    record = await wait_final(api, body["run"]["id"])
    assert record["status"] == "Completed"
    code, logs = await api("GET", "runs", record["id"], "logs")
    assert logs["data"] == "edited 42 fast\n"
    code, got = await api("GET", "runs", record["id"])
    assert got["spec"]["hang_timeout_s"] == 30


async def test_cancel_and_rerun(api, jp_root_dir: Path) -> None:
    (jp_root_dir / "slow.py").write_text("import time\nprint('start', flush=True)\ntime.sleep(60)\n")
    code, body = await api("POST", "runs", body={"kind": "script", "path": "slow.py", "env": {"API_TOKEN": "s3cret"}})
    run_id = body["run"]["id"]
    await first_log_line(api, run_id)
    code, body = await api("DELETE", "runs", run_id)
    assert code == 200 and body["canceled"] is True
    record = await wait_final(api, run_id)
    assert record["status"] == "Canceled" and "JupyterLab panel" in record["root_cause"]["message"]
    assert_no_process_left(run_id)
    code, body = await api("DELETE", "runs", run_id)
    assert body["canceled"] is False
    (jp_root_dir / "slow.py").write_text("print('changed after the run')\n")
    code, body = await api("POST", "runs", run_id, "rerun")
    assert code == 201 and any("API_TOKEN" in w for w in body["warnings"])
    rerun = body["run"]["id"]
    code, spec = await api("GET", "runs", rerun)
    assert spec["spec"]["origin"]["rerun_of"] == run_id
    assert await first_log_line(api, rerun) == "start"  # the original snapshot, not the edited file
    await api("DELETE", "runs", rerun)
    assert (await wait_final(api, rerun))["status"] == "Canceled"


async def test_bad_requests_name_the_field_and_launch_nothing(api, jp_root_dir: Path) -> None:
    (jp_root_dir / "ok.py").write_text("print(1)\n")
    cases = [
        ({"path": "ok.py"}, "kind"),
        ({"kind": "script", "path": "../outside.py"}, "path"),
        ({"kind": "script", "path": "/etc/passwd"}, "path"),
        ({"kind": "script", "path": "missing.py"}, "path"),
        ({"kind": "script", "path": "ok.py", "np": "two"}, "np"),
        ({"kind": "script", "path": "ok.py", "np": 0}, "distribution.processes_per_node"),
        ({"kind": "script", "path": "ok.py", "mode": "nope"}, "distribution.mode"),
        ({"kind": "script", "path": "ok.py", "env": {"A": 1}}, "env"),
        ({"kind": "script", "path": "ok.py", "hang_timeout": "soon"}, "hang_timeout"),
        ({"kind": "script", "path": "ok.py", "hang_timeout": -1}, "hang_timeout_s"),
        ({"kind": "notebook", "path": "ok.py", "content": {"cells": "x"}}, None),
    ]
    for request, field in cases:
        code, body = await api("POST", "runs", body=request)
        assert code == 400, (request, body)
        assert body.get("field") == field and body["message"], (request, body)
    code, body = await api("POST", "runs", body="not json")
    assert code == 400 and "not JSON" in body["message"]
    code, body = await api("POST", "runs", body={"kind": "script", "path": "ok.py", "target": "nowhere"})
    assert code == 400 and "unknown target 'nowhere'" in body["message"]
    for parts in (("runs", "20990101-000000-ffffff"), ("runs", "20990101-000000-ffffff", "logs")):
        code, body = await api("GET", *parts)
        assert code == 404 and "20990101-000000-ffffff" in body["message"]
    code, body = await api("GET", "runs", params={"limit": "many"})
    assert code == 400 and "limit" in body["message"]
    assert (await api("GET", "runs"))[1]["total"] == 0


async def test_file_downloads_cannot_leave_the_run_folder(api, jp_root_dir: Path, home: Path) -> None:
    (jp_root_dir / "w.py").write_text(
        "import jupyter_mltrain as mt, os\n"
        "os.symlink('/etc/passwd', mt.outputs_dir() / 'planted')\n"
        "os.symlink('/etc', mt.outputs_dir() / 'planted-dir')\n"
    )
    code, body = await api("POST", "runs", body={"kind": "script", "path": "w.py"})
    run_id = body["run"]["id"]
    assert (await wait_final(api, run_id))["status"] == "Completed"
    secret = Path("/etc/passwd").read_bytes()
    for path in (
        "../../runs.sqlite",
        "..%2F..%2Fruns.sqlite",
        "%2e%2e/%2e%2e/runs.sqlite",
        "outputs/planted",
        "outputs/planted-dir/passwd",
        "%2Fetc%2Fpasswd",
        "logs/../../../runs.sqlite",
    ):
        code, body = await api("GET", "runs", run_id, "files", path)
        assert code in (403, 404), (path, code)
        assert (
            body != secret and b"root:" not in json.dumps(body).encode() if isinstance(body, dict) else body != secret
        )
    code, body = await api("GET", "runs", run_id, "files")
    assert not any("planted" in f["path"] for f in body["files"])


async def test_targets_lists_local_with_its_health(api, jp_root_dir: Path) -> None:
    (jp_root_dir / "mltrain.toml").write_text('[targets.big]\nkind = "ssh"\nhosts = ["127.0.0.5:2"]\nport = 2299\n')
    code, body = await api("GET", "targets")
    assert code == 200
    by_name = {t["name"]: t for t in body["targets"]}
    assert by_name["local"]["health"]["reachable"] is True and by_name["local"]["health"]["slots"] == os.cpu_count()
    assert by_name["big"]["kind"] == "ssh" and by_name["big"]["health"]["reachable"] is False
    assert by_name["big"]["health"]["message"] == "127.0.0.5: connection refused"


async def test_the_shipped_quickstart_notebook_trains_through_the_form_options_to_completed(
    api, jp_root_dir: Path
) -> None:
    shutil.copy(
        Path(__file__).resolve().parents[2] / "notebooks" / "quickstart.ipynb", jp_root_dir / "quickstart.ipynb"
    )
    code, preview = await api("POST", "runs", "preview", body={"kind": "notebook", "path": "quickstart.ipynb"})
    assert code == 200, preview
    options = preview["notebook_options"]
    assert {k: options[k] for k in ("np", "mode", "name", "experiment", "params")} == {
        "np": 2,
        "mode": "torch",
        "name": "digits-ddp",
        "experiment": "quickstart",
        "params": {"lr": 0.5},
    }
    assert any("left out: it uses last_run" in w for w in preview["warnings"]), preview["warnings"]
    request = {"kind": "notebook", "path": "quickstart.ipynb", **options}
    code, body = await api("POST", "runs", body=request)
    assert code == 201, body
    code, script = await api("POST", "runs", "preview", body=request)
    assert "lr = 0.5" in script["script"] and "last_run" not in script["script"]
    record = await wait_final(api, body["run"]["id"], timeout=240)
    assert record["status"] == "Completed", record
    assert record["metrics"]["accuracy"]["last"] > 0.8
