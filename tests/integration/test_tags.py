"""Tags and a note on a run: set from the API and the CLI, kept in the store across restarts."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from jupyter_mltrain.api import Run, submit
from jupyter_mltrain.engine.spec import RunSpec
from jupyter_mltrain.engine.store import Store
from jupyter_mltrain.hostside.errors import SpecError

MLTRAIN = [sys.executable, "-m", "jupyter_mltrain.cli"]

# Logs for ~3 s, so the supervisor writes the record (metric summaries) while the tags are set.
TICKING = (
    "import time\nimport jupyter_mltrain as mt\nfor i in range(30):\n    mt.log('x', i, step=i)\n    time.sleep(0.1)\n"
)


@pytest.mark.timeout(120)
def test_tags_and_note_set_while_the_run_runs_survive_its_end_and_a_new_store(home: Path, store, project) -> None:
    (project / "train.py").write_text(TICKING)
    run = submit(RunSpec(entry="train.py", source=str(project)), store)
    assert (run.tags, run.note) == ([], "")
    run.tags = ["baseline", "lr-sweep", "baseline"]
    run.note = "first try with the\nnew loader"
    record = run.wait(timeout=90)
    assert record.status == "Completed"
    assert (record.tags, record.note) == (["baseline", "lr-sweep"], "first try with the\nnew loader")
    again = Run(run.id, Store(home))  # another process's view: the index and the folder agree
    assert (again.tags, again.note) == (["baseline", "lr-sweep"], "first try with the\nnew loader")
    on_disk = json.loads((Path(record.run_dir) / "status.json").read_text())
    assert (on_disk["tags"], on_disk["note"]) == (["baseline", "lr-sweep"], "first try with the\nnew loader")
    again.tags = []
    assert Run(run.id, store).tags == [] and Run(run.id, store).note.startswith("first")


def test_bad_tags_and_notes_are_refused_naming_the_field(store, project) -> None:
    (project / "train.py").write_text("pass\n")
    run = submit(RunSpec(entry="train.py", source=str(project)), store)
    for bad in ("baseline", [1], [""], ["a\nb"], ["x" * 101]):
        with pytest.raises(SpecError, match="^tags: "):
            run.tags = bad
    with pytest.raises(SpecError, match="^note: expected a string"):
        run.note = 3
    run.wait(timeout=60)
    assert (run.tags, run.note) == ([], "")


def mltrain(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*MLTRAIN, *args], cwd=cwd, capture_output=True, text=True, timeout=60)


@pytest.mark.timeout(120)
def test_mltrain_tag_adds_removes_and_notes(home: Path, store, project) -> None:
    (project / "train.py").write_text("pass\n")
    run = submit(RunSpec(entry="train.py", source=str(project)), store)
    run.wait(timeout=60)
    out = mltrain("tag", run.id, "a", "b", "--note", "kept for the paper", cwd=project)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == ["tags   a, b", "note   kept for the paper"]
    out = mltrain("tag", run.id, "c", "--remove", "a", "--json", cwd=project)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["tags"] == ["b", "c"] and json.loads(out.stdout)["note"] == "kept for the paper"
    assert mltrain("tag", run.id, cwd=project).stdout.splitlines()[0] == "tags   b, c"  # no change: prints
    assert Run(run.id, Store(home)).tags == ["b", "c"]
    bad = mltrain("tag", run.id, "x" * 101, cwd=project)
    assert bad.returncode == 2 and bad.stderr.startswith("mltrain: error: tags: bad tag"), bad.stderr
    missing = mltrain("tag", "no-such-run", "a", cwd=project)
    assert missing.returncode == 2 and "no run 'no-such-run'" in missing.stderr
