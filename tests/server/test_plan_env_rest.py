"""The variables the plan set for a run's ranks are kept in its folder (``plan.json``, secrets masked when it
is written) and served by the files route, for the run page's Environment tab."""

from __future__ import annotations

import json
import secrets
from pathlib import Path

from serverutil import wait_final

SCRIPT = "import os\nprint('seen', os.environ['PLAIN_VAR'], len(os.environ['API_TOKEN']))\n"


async def test_the_plan_env_of_a_real_run_is_served_with_its_secrets_masked(api, jp_root_dir: Path, home: Path) -> None:
    token = f"tok-{secrets.token_hex(8)}"
    (jp_root_dir / "show_env.py").write_text(SCRIPT)
    code, body = await api(
        "POST",
        "runs",
        body={
            "kind": "script",
            "path": "show_env.py",
            "np": 2,
            "env": {"PLAIN_VAR": "plain-value", "API_TOKEN": token},
        },
    )
    assert code == 201, body
    run_id = body["run"]["id"]
    assert (await wait_final(api, run_id))["status"] == "Completed"
    code, logs = await api("GET", "runs", run_id, "logs", params={"rank": "1", "offset": "0"})
    assert logs["data"].splitlines() == [f"seen plain-value {len(token)}"]  # the ranks got the real value

    code, raw = await api("GET", "runs", run_id, "files", "plan.json")
    assert code == 200
    plan = raw if isinstance(raw, dict) else json.loads(raw)
    assert plan["env"]["PLAIN_VAR"] == "plain-value"
    assert plan["env"]["API_TOKEN"] == "<secret>"
    assert plan["env"]["WORLD_SIZE"] == "2" and plan["env"]["MLTRAIN_RUN_ID"] == run_id
    assert [e["RANK"] for e in plan["rank_env"]] == ["0", "1"]
    on_disk = (home / "runs" / run_id / "plan.json").read_text()
    assert token not in on_disk and json.loads(on_disk) == plan
