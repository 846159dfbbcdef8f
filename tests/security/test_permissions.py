"""What a run leaves on disk is its owner's alone: ``MLTRAIN_HOME`` and every folder 0700, every file 0600.

Whatever the umask of the process that submits (a notebook server started with ``umask 000`` included):
the submitting process, the supervisor, the ranks (locally, under Slurm, and on ssh hosts) all write
private files.
"""

from __future__ import annotations

import os
import stat
import sys
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from secutil import mpirun_over_sshd

from jupyter_mltrain.api import submit
from jupyter_mltrain.engine.spec import Distribution, RunSpec
from jupyter_mltrain.engine.store import Status, Store

# Written by store.write_json_atomic (0600 whatever the umask).
JSON_RECORDS = {"spec.json", "status.json", "manifest.json", "cancel.json"}

SCRIPT = textwrap.dedent("""
    import os, jupyter_mltrain as mt
    mt.log("loss", 1.0, step=0)
    print("rank", mt.rank(), flush=True)
    (mt.outputs_dir() / "deep" / "er").mkdir(parents=True, exist_ok=True)
    (mt.outputs_dir() / "deep" / "er" / f"r{mt.rank()}.txt").write_text("x")
    with open(mt.outputs_dir() / "plain.txt", "w") as fh:
        fh.write("y")
""")


@contextmanager
def umask(mask: int) -> Iterator[None]:
    """This process's umask set to ``mask`` for the block."""
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


def modes(root: Path) -> dict[str, int]:
    """``relative path -> permission bits`` of every folder and file under ``root`` (links not followed)."""
    out = {".": stat.S_IMODE(os.lstat(root).st_mode)}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(folder) / name
            st = os.lstat(path)
            if not stat.S_ISLNK(st.st_mode):
                out[str(path.relative_to(root))] = stat.S_IMODE(st.st_mode)
    return out


def open_to_others(found: dict[str, int]) -> dict[str, str]:
    """The entries any other user could read, write or enter."""
    return {path: oct(mode) for path, mode in found.items() if mode & 0o077}


def _project(project: Path) -> None:
    (project / "pkg" / "sub").mkdir(parents=True)
    (project / "pkg" / "sub" / "util.py").write_text("X = 1\n")
    (project / "run.sh").write_text("#!/bin/sh\n")
    os.chmod(project / "run.sh", 0o755)
    (project / "main.py").write_text(SCRIPT)


@pytest.mark.timeout(180)
@pytest.mark.parametrize("target, mask", [("local", 0o000), ("local", 0o022), ("slurm", 0o000)])
def test_run_folders_files_and_the_index_are_private_whatever_the_umask(
    request, home: Path, project: Path, target: str, mask: int
) -> None:
    if target == "slurm":
        request.getfixturevalue("slurm")
        (project / "mltrain.toml").write_text('[targets.slurm]\nkind = "slurm"\npartition = "debug"\n')
    _project(project)
    with umask(mask):
        store = Store(home)
        try:
            run = submit(
                RunSpec(
                    entry="main.py",
                    source=str(project),
                    target=target,
                    distribution=Distribution(processes_per_node=2),
                    gather_outputs="all",
                ),
                store,
                files={"gen/erated/cell.py": b"Y = 2\n"},
            )
            record = run.wait(timeout=150, raise_on_error=False)
            assert Status(record.status) is Status.COMPLETED, record.root_cause
            found = modes(home)
            for name in ("runs.sqlite", "runs.sqlite-wal", "runs.sqlite-shm"):
                assert found.get(name) == 0o600, (name, oct(found.get(name, 0)))
        finally:
            store.close()
    assert found["."] == 0o700, "MLTRAIN_HOME"
    run_dir = f"runs/{run.id}"
    for path in (
        run_dir,
        f"{run_dir}/logs/rank-1.log",
        f"{run_dir}/metrics/rank-1.jsonl",
        f"{run_dir}/supervisor.log",
        f"{run_dir}/plan.json",
        f"{run_dir}/env.json",
        f"{run_dir}/snapshot/gen/erated/cell.py",
        f"{run_dir}/snapshot/pkg/sub/util.py",
        f"{run_dir}/outputs/plain.txt",
    ):
        assert path in found, f"{path} was not written: the walk below would prove nothing about it"
    assert open_to_others(found) == {}


@pytest.mark.timeout(60)
def test_the_run_s_json_records_are_private_whatever_the_umask(home: Path, project: Path) -> None:
    _project(project)
    (project / "main.py").write_text("import time\nprint('up', flush=True)\ntime.sleep(30)\n")
    with umask(0o022):
        store = Store(home)
        try:
            run = submit(RunSpec(entry="main.py", source=str(project), grace_period_s=1), store)
            from helpers import wait_for

            wait_for(lambda: run.logs(0).startswith("up"), timeout=30, what="the rank up")
            run.cancel(by="test")
            run.wait(timeout=30, raise_on_error=False)
        finally:
            store.close()
    found = modes(run.folder.path)
    assert {name for name in found if name in JSON_RECORDS} == JSON_RECORDS
    assert {name: oct(found[name]) for name in JSON_RECORDS if found[name] != 0o600} == {}


def _ssh_run(sshd, home: Path, project: Path, work: Path):
    (project / "mltrain.toml").write_text(
        sshd.target_toml(
            extra=(f'python = "{sys.executable}"\nworkdir = "{work}"\ncleanup = "never"\n' + mpirun_over_sshd(sshd))
        )
    )
    _project(project)
    with umask(0o000):
        store = Store(home)
        try:
            run = submit(RunSpec(entry="main.py", source=str(project), target="cluster"), store)
            record = run.wait(timeout=150, raise_on_error=False)
        finally:
            store.close()
    assert record.status == "Completed", (record.root_cause, (run.folder.path / "supervisor.log").read_text()[-3000:])
    return run


@pytest.mark.timeout(180)
def test_an_ssh_run_s_folders_on_the_hosts_and_its_outputs_here_are_private(
    sshd, home: Path, project: Path, tmp_path: Path
) -> None:
    work = tmp_path / "remote-work"
    run = _ssh_run(sshd, home, project, work)
    remote = modes(work / run.id)
    # staged code is read-only (its objects are shared), in folders only the owner can enter
    assert {p: oct(m) for p, m in remote.items() if p in (".", "pkg", "pkg/sub") and m != 0o700} == {}
    assert oct(modes(work)["."]) == oct(0o700)
    here = modes(run.folder.path / "outputs")
    assert (oct(here["."]), oct(here["plain.txt"]), oct(here["deep/er/r0.txt"]), oct(here["deep"])) == (
        oct(0o700),
        oct(0o600),
        oct(0o600),
        oct(0o700),
    ), "the outputs copied back are private, whatever they were"
    assert open_to_others(modes(home)) == {}


@pytest.mark.timeout(180)
def test_what_ranks_write_on_ssh_hosts_is_private(sshd, home: Path, project: Path, tmp_path: Path) -> None:
    work = tmp_path / "remote-work"
    run = _ssh_run(sshd, home, project, work)
    remote = modes(work / run.id / "outputs")
    assert (oct(remote["."]), oct(remote["plain.txt"]), oct(remote["deep/er/r0.txt"])) == (
        oct(0o700),
        oct(0o600),
        oct(0o600),
    )
