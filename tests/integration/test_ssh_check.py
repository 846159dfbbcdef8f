"""`mltrain targets check` against a real sshd: per-host facts, unreachable hosts and wrong host keys."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

from jupyter_mltrain.engine.ssh import SSHConnection, check_target
from jupyter_mltrain.engine.targets import parse_targets

MLTRAIN = [sys.executable, "-m", "jupyter_mltrain.cli"]


def target(sshd, tmp_path: Path, **kw) -> SSHConnection:
    return SSHConnection.from_target(parse_targets(sshd.target_toml(**kw), "test")["cluster"])


def test_check_reports_each_host(sshd, tmp_path: Path) -> None:
    from test_ssh_runs import cluster_toml

    (tmp_path / "mltrain.toml").write_text(cluster_toml(sshd, tmp_path / "work"))
    out = subprocess.run(
        [*MLTRAIN, "targets", "check", "cluster", "--json"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        env=dict(os.environ, MLTRAIN_CONFIG=""),
    )
    assert out.returncode == 0, out.stderr
    rows = json.loads(out.stdout)
    assert [r["host"] for r in rows] == ["127.0.0.2", "127.0.0.3"]
    for row in rows:
        assert row["reachable"] and row["message"] == "ok" and row["slots"] == 2
        assert row["python"].count(".") == 2 and row["mpirun"].endswith("mpirun") and row["cpus"] >= 1
    assert rows[0]["mpirun_launch"] == "ok", "mpirun from the head started a process on every host"
    table = subprocess.run(
        [*MLTRAIN, "targets", "check", "cluster"], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert "mpirun from 127.0.0.2 to every host: ok" in table.stdout
    assert table.stdout.splitlines()[0].split() == [
        "HOST",
        "REACHABLE",
        "PYTHON",
        "MPIRUN",
        "SLOTS",
        "CPUS",
        "GPUS",
        "MESSAGE",
    ]


def test_an_unreachable_host_is_named_within_ten_seconds(sshd, tmp_path: Path) -> None:
    cluster = target(sshd, tmp_path, hosts=("127.0.0.2", "127.0.0.5"))  # nothing listens on .5
    start = time.monotonic()
    rows = {h.host: h for h in check_target(cluster)}
    assert time.monotonic() - start <= 10
    assert rows["127.0.0.2"].reachable and not rows["127.0.0.5"].reachable
    assert rows["127.0.0.5"].message == "connection refused"
    (tmp_path / "mltrain.toml").write_text(sshd.target_toml(hosts=("127.0.0.5",)))
    out = subprocess.run(
        [*MLTRAIN, "targets", "check", "cluster"], cwd=tmp_path, capture_output=True, text=True, timeout=30
    )
    assert out.returncode == 1 and "127.0.0.5" in out.stdout and "connection refused" in out.stdout


def test_a_wrong_host_key_is_refused(sshd, tmp_path: Path) -> None:
    other = tmp_path / "other_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other)], check=True)
    forged = tmp_path / "known_hosts"
    forged.write_text(f"[127.0.0.2]:{sshd.port} {' '.join(other.with_suffix('.pub').read_text().split()[:2])}\n")
    toml = sshd.target_toml(hosts=("127.0.0.2",)).replace(str(sshd.known_hosts), str(forged))
    cluster = SSHConnection.from_target(parse_targets(toml, "test")["cluster"])
    (row,) = check_target(cluster)
    assert not row.reachable and "host key verification failed" in row.message


def test_bad_host_lists_are_refused_naming_the_target() -> None:
    import pytest

    from jupyter_mltrain.hostside.errors import TargetError

    for hosts, message in (
        ('["a:0"]', "at least 1 slot"),
        ('["a:x"]', "bad slot count"),
        ("[]", "empty"),
        ('["a:1", "a:2"]', "listed twice"),
        ('["-oProxyCommand=x:1"]', "bad host"),
    ):
        with pytest.raises(TargetError, match=message):
            SSHConnection.from_target(parse_targets(f'[targets.c]\nkind = "ssh"\nhosts = {hosts}\n', "t")["c"])


def test_check_finds_what_mpirun_on_the_head_needs_and_says_how_to_fix_it(sshd, tmp_path: Path) -> None:
    def check(toml: str) -> tuple[int, list[dict]]:
        (tmp_path / "mltrain.toml").write_text(toml)
        out = subprocess.run(
            [*MLTRAIN, "targets", "check", "cluster", "--json"],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
        )
        return out.returncode, json.loads(out.stdout)

    # the notebook's host reaches both hosts on sshd's port, but mpirun on the head uses ssh's default port 22
    code, rows = check(sshd.target_toml(extra=f'python = "{sys.executable}"\nmpirun = "/usr/bin/mpirun"\n'))
    assert code == 1 and all(r["reachable"] for r in rows)
    assert re.fullmatch(
        r"mpirun on 127\.0\.0\.2 could not reach 127\.0\.0\.[23] by ssh \(port 22: Connection refused\)",
        rows[0]["message"],
    ), rows[0]["message"]
    code, rows = check(sshd.target_toml(extra='python = "/no/such/python3"\n'))
    assert code == 1 and rows[0]["message"].startswith("the interpreter /no/such/python3 does not exist on the host")
