"""A run's tags and note against a supervisor writing the same record from another process."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from jupyter_mltrain.engine.store import RunRecord, Status, Store, label_fields, write_json_atomic

# What a supervisor does once a second during a run, here as fast as it can: rewrite the record's summary.
WRITER = """
import sys, time
from jupyter_mltrain.engine.store import Store
store = Store(sys.argv[1])
end = time.time() + float(sys.argv[3])
i = 0
while time.time() < end:
    store.update(sys.argv[2], metrics={"loss": {"last": i, "min": 0, "max": i, "count": i}})
    i += 1
print(i)
"""


def test_tags_set_while_another_process_rewrites_the_record_are_never_lost(home: Path, store: Store) -> None:
    record = RunRecord(id="20260101-000000-abcdef", experiment="e", name="n", status=Status.RUNNING, created=1.0)
    store.create(record, lambda folder: write_json_atomic(folder / "spec.json", {}))
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(home), record.id, "3"], stdout=subprocess.PIPE)
    time.sleep(0.3)
    status = home / "runs" / record.id / "status.json"
    stale = []
    for i in range(150):
        store.update(record.id, **label_fields(tags=[f"t{i}"], note=f"note {i}"))
        for _ in range(40):  # the writer's next writes read the record after ours: none may bring back an older one
            if json.loads(status.read_text())["tags"] != [f"t{i}"]:
                stale.append(i)
                break
    out, _ = writer.communicate(timeout=30)
    assert stale == []
    assert writer.returncode == 0 and int(out) > 10
    on_disk = json.loads((home / "runs" / record.id / "status.json").read_text())
    assert (on_disk["tags"], on_disk["note"]) == (["t149"], "note 149")  # the folder, the truth, kept the last
    assert Store(home).get(record.id).tags == ["t149"]
