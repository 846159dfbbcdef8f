"""``PATCH runs/{id}``: a run's tags and note from the panel, checked and kept in the store."""

from __future__ import annotations

from pathlib import Path

from serverutil import wait_final

from jupyter_mltrain.api import Run
from jupyter_mltrain.engine.store import Store


async def test_patch_sets_tags_and_note_and_bad_bodies_name_the_field(api, jp_root_dir: Path, home: Path) -> None:
    (jp_root_dir / "ok.py").write_text("print('ok')\n")
    code, body = await api("POST", "runs", body={"kind": "script", "path": "ok.py"})
    assert code == 201, body
    run_id = body["run"]["id"]
    await wait_final(api, run_id)
    code, body = await api("PATCH", "runs", run_id, body={"tags": ["best", "digits"], "note": "lr 0.1 wins"})
    assert code == 200, body
    assert (body["run"]["tags"], body["run"]["note"]) == (["best", "digits"], "lr 0.1 wins")
    code, body = await api("PATCH", "runs", run_id, body={"note": ""})  # either field alone
    assert code == 200 and body["run"]["tags"] == ["best", "digits"] and body["run"]["note"] == ""
    code, body = await api("GET", "runs", run_id)
    assert body["run"]["tags"] == ["best", "digits"]
    assert Run(run_id, Store(home)).tags == ["best", "digits"]  # in the store, for every other reader
    cases = [
        ({"tags": "best"}, "tags"),
        ({"tags": ["ok", 3]}, "tags"),
        ({"note": ["x"]}, "note"),
        ({"status": "Completed"}, "status"),
    ]
    for request, field in cases:
        code, body = await api("PATCH", "runs", run_id, body=request)
        assert code == 400 and body.get("field") == field and body["message"], (request, body)
    code, body = await api("PATCH", "runs", run_id, body="[1]")
    assert code == 400 and "JSON object" in body["message"]
    code, body = await api("PATCH", "runs", "20990101-000000-ffffff", body={"tags": []})
    assert code == 404
    assert Run(run_id, Store(home)).tags == ["best", "digits"]  # nothing a bad request sent was kept
