"""RunSpec validates once, with errors that name the field and the value."""

from __future__ import annotations

import json

import pytest

from jupyter_mltrain.engine.spec import Distribution, Environment, RunSpec, parse_assignments
from jupyter_mltrain.hostside.errors import SpecError


def test_unknown_mode_names_the_field_and_the_choices() -> None:
    with pytest.raises(SpecError) as err:
        Distribution(mode="ray")
    assert err.value.field == "distribution.mode"
    assert "'ray'" in str(err.value) and "torch" in str(err.value)


@pytest.mark.parametrize("np", [0, -1, 1.5, True])
def test_processes_per_node_must_be_a_positive_integer(np) -> None:
    with pytest.raises(SpecError, match="processes_per_node"):
        Distribution(processes_per_node=np)


def test_tf_ps_needs_workers_and_ps_and_counts_the_chief() -> None:
    with pytest.raises(SpecError, match="tf-ps"):
        Distribution(mode="tf-ps")
    assert Distribution(mode="tf-ps", workers=2, parameter_servers=1).world_size == 4
    with pytest.raises(SpecError, match="tf-ps"):
        Distribution(mode="torch", workers=2)


def test_entry_must_stay_inside_the_source(tmp_path) -> None:
    with pytest.raises(SpecError, match="entry"):
        RunSpec(entry="../evil.py", source=str(tmp_path))
    with pytest.raises(SpecError, match="entry"):
        RunSpec(entry="/etc/passwd", source=str(tmp_path))


def test_secret_values_never_reach_the_dict_but_names_do(tmp_path) -> None:
    spec = RunSpec(
        entry="t.py",
        source=str(tmp_path),
        environment=Environment(
            variables={"HF_TOKEN": "s3cr3t", "MY_VALUE": "plain", "DB": "x"}, secret_names=frozenset({"DB"})
        ),
    )
    text = json.dumps(spec.to_dict())
    assert "s3cr3t" not in text and '"x"' not in text
    assert "plain" in text
    assert spec.to_dict(include_secrets=True)["environment"]["variables"]["HF_TOKEN"] == "s3cr3t"


def test_round_trip_through_dict(tmp_path) -> None:
    spec = RunSpec(
        entry="t.py",
        source=str(tmp_path),
        args=("--lr", "0.1"),
        distribution=Distribution(mode="tf-ps", workers=2, parameter_servers=1, gpus=(0, 1)),
        inputs={"data": "/tmp"},
        params={"lr": 0.1},
        name="n",
        experiment="e",
    )
    again = RunSpec.from_dict(json.loads(json.dumps(spec.to_dict())))
    assert again == spec


def test_bad_env_name_and_assignment_are_rejected() -> None:
    with pytest.raises(SpecError, match="variable name"):
        Environment(variables={"1BAD": "x"})
    with pytest.raises(SpecError, match="NAME=VALUE"):
        parse_assignments(["novalue"], "--env")
    assert parse_assignments(["A=b=c", "E="], "--env") == {"A": "b=c", "E": ""}
