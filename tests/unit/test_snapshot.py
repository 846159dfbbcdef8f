"""Snapshots follow ignore rules, refuse oversize folders, and never copy a file twice."""

from __future__ import annotations

import os

import pytest

from jupyter_mltrain.engine.snapshot import ObjectStore, take_snapshot
from jupyter_mltrain.hostside.errors import SnapshotError


def _tree(root, files: dict[str, bytes]) -> None:
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def _listing(root) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


def test_default_gitignore_and_mltrainignore_rules(tmp_path) -> None:
    src = tmp_path / "src"
    _tree(
        src,
        {
            "train.py": b"print(1)",
            "lib/util.py": b"x=1",
            ".git/HEAD": b"ref",
            "__pycache__/a.pyc": b"",
            "checkpoints/c.pt": b"w",
            "venv2/pyvenv.cfg": b"",
            "venv2/lib/x.py": b"",
            "data/big.bin": b"1",
            "data/keep.bin": b"2",
            "notes.tmp": b"t",
            ".gitignore": b"*.tmp\ndata/*\n!data/keep.bin\n",
            ".mltrainignore": b"lib/\n",
        },
    )
    take_snapshot(src, tmp_path / "snap", ObjectStore(tmp_path / "home" / "objects"))
    assert _listing(tmp_path / "snap") == {"train.py", "data/keep.bin", ".gitignore", ".mltrainignore"}


def test_over_the_limit_names_the_largest_files_and_creates_nothing(tmp_path) -> None:
    src = tmp_path / "src"
    _tree(src, {"train.py": b"x", "weights.bin": os.urandom(2 * 1024 * 1024), "small.txt": b"s"})
    with pytest.raises(SnapshotError) as err:
        take_snapshot(src, tmp_path / "snap", ObjectStore(tmp_path / "home" / "objects"), size_limit_mb=1)
    assert "weights.bin" in str(err.value) and "1 MB limit" in str(err.value)
    assert not (tmp_path / "snap").exists()


def test_unchanged_files_are_linked_not_copied_or_rehashed(tmp_path) -> None:
    src = tmp_path / "src"
    _tree(src, {f"f{i}.bin": os.urandom(10000) for i in range(20)})
    objects = ObjectStore(tmp_path / "home" / "objects")
    first = take_snapshot(src, tmp_path / "s1", objects)
    assert first.copied_files == 20
    second = take_snapshot(src, tmp_path / "s2", objects)
    assert second.copied_files == 0 and second.hashed_bytes == 0 and second.linked_files == 20
    assert os.stat(tmp_path / "s1" / "f0.bin").st_ino == os.stat(tmp_path / "s2" / "f0.bin").st_ino
    (src / "f0.bin").write_bytes(b"changed")
    third = take_snapshot(src, tmp_path / "s3", objects)
    assert third.copied_files == 1 and third.hashed_bytes == len(b"changed")
    assert (tmp_path / "s3" / "f0.bin").read_bytes() == b"changed"
    assert (tmp_path / "s1" / "f0.bin").read_bytes() != b"changed"


def test_missing_source_is_a_clear_error(tmp_path) -> None:
    with pytest.raises(SnapshotError, match="does not exist"):
        take_snapshot(tmp_path / "nope", tmp_path / "snap", ObjectStore(tmp_path / "objects"))


def test_files_that_look_like_secrets_are_left_out_and_named_unless_re_included(tmp_path) -> None:
    src = tmp_path / "src"
    _tree(
        src,
        {
            "train.py": b"print(1)",
            "id_rsa": b"-----BEGIN OPENSSH PRIVATE KEY-----\n",
            "id_rsa.pub": b"ssh-ed25519 AAAA",
            ".env": b"TOKEN=x",
            "certs/server.pem": b"pem",
            "deploy.pem": b"wanted",
            ".aws/credentials": b"[default]",
            "sub/credentials.json": b"{}",
            "old.key": b"ignored by the user anyway",
            ".gitignore": b"*.key\n",
            ".mltrainignore": b"!deploy.pem\n",
        },
    )
    report = take_snapshot(src, tmp_path / "snap", ObjectStore(tmp_path / "home" / "objects"))
    assert _listing(tmp_path / "snap") == {"train.py", "id_rsa.pub", "deploy.pem", ".gitignore", ".mltrainignore"}
    assert report.secrets_left_out == [".aws/", ".env", "certs/server.pem", "id_rsa", "sub/credentials.json"]
