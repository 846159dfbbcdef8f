"""The disk fills while a run logs: the run fails saying so, and what was written stays readable."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import assert_no_process_left

from jupyter_mltrain.api import submit
from jupyter_mltrain.engine.spec import Distribution, RunSpec
from jupyter_mltrain.engine.store import Store

FLOOD = """
    import os
    from jupyter_mltrain import log
    rank = int(os.environ["RANK"])
    for i in range(10_000_000):
        print(f"rank {rank} line {i} " + "x" * 200, flush=(i % 100 == 0))
        if i % 1000 == 0:
            log("i", i, step=i)
"""


@pytest.fixture
def small_disk(tmp_path: Path):
    """A 24 MB tmpfs of the test's own, unmounted at the end."""
    mount = tmp_path / "small-disk"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=24m,mode=0700", "tmpfs", str(mount)], check=True)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


@pytest.mark.timeout(180)
def test_disk_full_fails_the_run_with_the_reason_and_keeps_what_was_written(small_disk, project, monkeypatch) -> None:
    home = small_disk / "home"
    monkeypatch.setenv("MLTRAIN_HOME", str(home))
    store = Store(home)
    (project / "train.py").write_text(textwrap.dedent(FLOOD))
    run = submit(
        RunSpec(
            entry="train.py", source=str(project), grace_period_s=2.0, distribution=Distribution(processes_per_node=2)
        ),
        store,
    )
    record = run.wait(timeout=150, raise_on_error=False)
    assert record.status == "Failed"
    assert "no space left on device" in record.root_cause.message
    assert record.root_cause.disk_full is True
    assert_no_process_left(run.id)

    # The folder and the index agree and can be read, from this process and a new one.
    folder = Path(record.run_dir)
    assert json.loads((folder / "status.json").read_text())["status"] == "Failed"
    assert Store(home).get(run.id).status == "Failed"
    listed = subprocess.run(
        [sys.executable, "-m", "jupyter_mltrain.cli", "runs", "--json"],
        check=False,
        capture_output=True,
        text=True,
        env={**os.environ, "MLTRAIN_HOME": str(home)},
        timeout=60,
    )
    assert json.loads(listed.stdout)[0]["status"] == "Failed"
    # Every line kept is whole and in order; only the very last one may be cut.
    for rank in (0, 1):
        lines = (folder / "logs" / f"rank-{rank}.log").read_bytes().split(b"\n")
        kept = [line for line in lines[:-1] if line]
        assert len(kept) > 1000
        for i, line in enumerate(kept[:-1]):
            assert line == f"rank {rank} line {i} ".encode() + b"x" * 200, (rank, i, line[:60])
    assert run.metrics(), "metrics written before the disk filled are readable"
    assert not (folder / ".reserve").exists()
