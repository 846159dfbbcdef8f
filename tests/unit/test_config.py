"""Targets come from TOML files; errors name the file, target and field."""

from __future__ import annotations

import pytest

from jupyter_mltrain.engine.targets import load_targets, parse_targets, resolve_target
from jupyter_mltrain.hostside.errors import TargetError


def test_local_always_exists_and_project_file_overrides(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("JUPYTER_CONFIG_DIR", str(tmp_path / "cfg"))
    (tmp_path / "cfg").mkdir()
    (tmp_path / "cfg" / "mltrain.toml").write_text('[targets.c]\nkind = "ssh"\nhosts = ["a:2"]\nuser = "u"\n')
    (tmp_path / "proj").mkdir()
    (tmp_path / "proj" / "mltrain.toml").write_text('[targets.c]\nkind = "ssh"\nhosts = ["b:4"]\n')
    targets = load_targets(tmp_path / "proj")
    assert set(targets) == {"local", "c"}
    assert targets["c"].hosts == ("b:4",)


def test_unknown_target_lists_the_configured_ones(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("JUPYTER_CONFIG_DIR", str(tmp_path))
    with pytest.raises(TargetError, match="unknown target 'gpu'; configured targets: local"):
        resolve_target("gpu", tmp_path)


@pytest.mark.parametrize(
    "text, message",
    [
        ("[targets.x]\nkind = 'k8s'\n", "unknown kind 'k8s'"),
        ("[targets.x]\nkind = 'ssh'\nhostz = []\n", "unknown field 'hostz'"),
        ("[targets.x]\nkind = 'ssh'\nport = 'twenty'\n", "field 'port' has the wrong type"),
        ("[targets.x\n", "not valid TOML"),
        ("[other]\n", "unknown section"),
    ],
)
def test_bad_files_are_explained(text, message) -> None:
    with pytest.raises(TargetError, match=message):
        parse_targets(text, "t.toml")


def test_the_folder_a_command_runs_in_and_the_scripts_folder_both_count(tmp_path, monkeypatch) -> None:
    from jupyter_mltrain.engine.spec import RunSpec

    monkeypatch.setenv("JUPYTER_CONFIG_DIR", str(tmp_path / "cfg"))
    here, scripts = tmp_path / "here", tmp_path / "scripts"
    here.mkdir()
    scripts.mkdir()
    (here / "mltrain.toml").write_text(
        '[targets.a]\nkind = "ssh"\nhosts = ["h:1"]\n[targets.both]\nkind = "ssh"\nhosts = ["here:1"]\n'
    )
    (scripts / "mltrain.toml").write_text(
        '[targets.b]\nkind = "ssh"\nhosts = ["s:1"]\n[targets.both]\nkind = "ssh"\nhosts = ["s:1"]\n'
    )
    spec = RunSpec(entry="train.py", source=str(scripts), origin={"kind": "script", "cwd": str(here)})
    assert spec.config_folders() == [str(scripts), str(here)]
    targets = load_targets(spec.config_folders())
    assert {"a", "b", "both", "local"} == set(targets)
    assert targets["both"].hosts == ("here:1",), "where the command runs wins"
