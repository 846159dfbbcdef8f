"""Staging a snapshot to two real ssh "hosts": contents and modes arrive, unchanged files are not sent again."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from jupyter_mltrain.engine.ssh import SSHConnection
from jupyter_mltrain.engine.staging import stage
from jupyter_mltrain.engine.targets import parse_targets
from jupyter_mltrain.hostside.errors import LaunchError


def tree(folder: Path) -> dict[str, tuple[str, int]]:
    return {
        p.relative_to(folder).as_posix(): (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mode & 0o111)
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_stage_sends_each_object_once_per_host(sshd, tmp_path: Path) -> None:
    cluster = SSHConnection.from_target(parse_targets(sshd.target_toml(), "test")["cluster"])
    src = tmp_path / "snapshot"
    (src / "pkg" / "deep").mkdir(parents=True)
    (src / "main.py").write_text("print('hello')\n")
    (src / "pkg" / "deep" / "data.bin").write_bytes(os.urandom(200_000))
    (src / "run.sh").write_text("#!/bin/sh\necho hi\n")
    os.chmod(src / "run.sh", 0o755)
    (src / "same-a.txt").write_text("same")
    (src / "same-b.txt").write_text("same")
    workdir = tmp_path / "remote-work"  # both "hosts" are this machine: one store, checked per host below
    first = stage(cluster, src, str(workdir), "run-1")
    assert [r.host for r in first] == ["127.0.0.2", "127.0.0.3"]
    assert sum(r.sent_objects for r in first) >= 4 and all(r.files == 5 for r in first)
    assert tree(workdir / "run-1") == tree(src)
    again = stage(cluster, src, str(workdir), "run-2")
    assert [r.sent_objects for r in again] == [0, 0] and tree(workdir / "run-2") == tree(src)
    (src / "main.py").write_text("print('changed')\n")
    changed = stage(cluster, src, str(workdir), "run-3", hosts=[cluster.head])
    assert [(r.sent_objects, r.sent_bytes) for r in changed] == [(1, len("print('changed')\n"))]
    assert (workdir / "run-3" / "main.py").read_text() == "print('changed')\n"


def test_staging_to_an_unreachable_host_names_it(sshd, tmp_path: Path) -> None:
    cluster = SSHConnection.from_target(parse_targets(sshd.target_toml(hosts=("127.0.0.5",)), "test")["cluster"])
    (tmp_path / "s").mkdir()
    (tmp_path / "s" / "a.py").write_text("x = 1\n")
    with pytest.raises(LaunchError, match=r"staging to 127\.0\.0\.5 failed: connection refused"):
        stage(cluster, tmp_path / "s", str(tmp_path / "w"), "run")
