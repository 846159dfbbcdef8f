"""Local plans: what each mode tells the program, and whose choice wins (no process started)."""

from __future__ import annotations

from pathlib import Path

from jupyter_mltrain.engine.plan import make_plan
from jupyter_mltrain.engine.spec import Distribution, Environment, RunSpec
from jupyter_mltrain.engine.targets import LocalTarget


def plan(tmp_path: Path, mode: str = "none", np: int = 1, origin: dict | None = None, **kw):
    spec = RunSpec(
        entry="main.py",
        source=str(tmp_path),
        distribution=Distribution(mode=mode, processes_per_node=np),
        origin=origin or {},
        **kw,
    )
    return make_plan(spec, LocalTarget(name="local"), "RUN", tmp_path / "runs" / "RUN", check=False)


def test_an_exported_tf_use_legacy_keras_wins_and_keras_3_is_warned_about(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("TF_USE_LEGACY_KERAS", "0")
    p = plan(tmp_path, "tf", 2)
    assert p.env["TF_USE_LEGACY_KERAS"] == "0"
    assert any("Keras 3" in w and "MultiWorkerMirroredStrategy" in w for w in p.warnings), p.warnings


def test_an_env_flag_wins_over_the_exported_value(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("TF_USE_LEGACY_KERAS", "0")
    p = plan(tmp_path, "tf", 2, environment=Environment(variables={"TF_USE_LEGACY_KERAS": "1"}))
    assert p.env["TF_USE_LEGACY_KERAS"] == "1" and not any("Keras 3" in w for w in p.warnings)


def test_without_a_choice_tf_modes_use_tf_keras(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("TF_USE_LEGACY_KERAS", raising=False)
    assert plan(tmp_path, "tf", 2).env["TF_USE_LEGACY_KERAS"] == "1"


def test_script_params_are_appended_as_flags_and_cell_params_are_not(tmp_path) -> None:
    params = {"lr": 0.5, "act": "relu", "sizes": [1, 2]}
    script = plan(tmp_path, origin={"kind": "script"}, params=params)
    assert script.program[-6:] == ["--lr", "0.5", "--act", "relu", "--sizes", "[1, 2]"]
    assert script.env["MLTRAIN_PARAMS"] == '{"lr": 0.5, "act": "relu", "sizes": [1, 2]}'
    cell = plan(tmp_path, origin={"kind": "cell"}, params=params)
    assert cell.program[-1] == "main.py" and "MLTRAIN_PARAMS" in cell.env


def test_one_mode_none_process_is_plain_and_several_get_torchruns_variables(tmp_path) -> None:
    one = plan(tmp_path)
    assert one.env["MLTRAIN_PLAIN"] == "1" and "MASTER_ADDR" not in one.env
    two = plan(tmp_path, np=2)
    assert "MLTRAIN_PLAIN" not in two.env and two.env["MASTER_PORT"] and two.env["TORCHELASTIC_RUN_ID"] == "RUN"
    assert [e["RANK"] for e in two.rank_env] == ["0", "1"]
