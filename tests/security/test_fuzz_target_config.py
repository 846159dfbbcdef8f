"""Fuzz: any ``mltrain.toml`` gives usable targets or one ``TargetError`` that names the file.

Documents are generated as data (targets of every kind, known and unknown fields, values of every TOML
type) and written as TOML, plus arbitrary text and bytes. A target that loads must also give its ssh
settings (ssh targets, Slurm login nodes) without error: what loads is usable.
"""

from __future__ import annotations

import datetime
import json
import math
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from jupyter_mltrain.engine.ssh import SSHConnection
from jupyter_mltrain.engine.targets import KINDS, TARGET_CLASSES, SlurmTarget, load_targets, parse_targets
from jupyter_mltrain.hostside.errors import TargetError

SOURCE = "/some/where/mltrain.toml"
FUZZ = settings(
    max_examples=250, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
_FIELDS = {kind: cls.field_names() for kind, cls in TARGET_CLASSES.items()}
FIELDS = sorted(set().union(*_FIELDS.values()))


def toml_str(text: str) -> str:
    """A TOML basic string: JSON's escapes, but non-BMP characters as themselves (not surrogate pairs)."""
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


toml_key = toml_str  # a quoted key holds any text


def toml_value(value: object) -> str:
    """``value`` as TOML (inline tables and arrays, JSON-escaped strings)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf") if math.isinf(value) else repr(value)
    if isinstance(value, str):
        return toml_str(value)
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    assert isinstance(value, dict)
    return "{" + ", ".join(f"{toml_key(k)} = {toml_value(v)}" for k, v in value.items()) + "}"


TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=20)  # TOML holds no lone surrogate
SCALARS = st.one_of(
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(),
    TEXT,
    st.datetimes(min_value=datetime.datetime(1000, 1, 1), max_value=datetime.datetime(9999, 1, 1)).map(
        lambda d: d.replace(microsecond=0)
    ),
    st.dates(min_value=datetime.date(1000, 1, 1)),
    st.sampled_from(
        [
            "local",
            "ssh",
            "slurm",
            "127.0.0.2:2",
            "-oProxyCommand=x",
            "a:0",
            "a:x",
            "h:1",
            "",
            "~",
            "x y",
            "debug\nrm",
            "host:99999999999999999999",
            "alice",
            "/opt/python",
        ]
    ),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(TEXT, inner, max_size=4)),
    max_leaves=8,
)
# Mostly well-typed values for the known fields (so that deep checks are reached), else anything.
TYPED = {
    **dict.fromkeys(
        ["hosts", "mpirun_args", "ssh_options", "sbatch_options", "gpus"],
        st.lists(st.one_of(TEXT, st.integers(0, 99), st.sampled_from(["h:2", "127.0.0.2", "a:0"])), max_size=3),
    ),
    **dict.fromkeys(["port", "nodes", "ntasks_per_node", "gpus_per_node", "gpus_per_host"], st.integers(-2, 70000)),
    **dict.fromkeys(["shared_fs", "accept_new_host_keys"], st.booleans()),
    "env": st.dictionaries(
        st.one_of(st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,6}", fullmatch=True), TEXT), TEXT, max_size=3
    ),
}


def weighted(*choices: tuple[int, st.SearchStrategy]) -> st.SearchStrategy:
    """One of ``choices``, each drawn ``weight`` times as often (``one_of`` weighs its branches alike)."""
    table = [strategy for weight, strategy in choices for _ in range(weight)]
    return st.integers(0, len(table) - 1).flatmap(lambda i: table[i])


def _field(fields: list[str]):
    return st.sampled_from(fields).flatmap(
        lambda key: st.tuples(st.just(key), weighted((6, TYPED.get(key, TEXT)), (1, VALUES)))
    )


HOSTS = st.lists(
    st.one_of(st.from_regex(r"[a-z0-9.]{1,12}(:[0-9]{1,3})?", fullmatch=True), TEXT), min_size=1, max_size=3
)


def _body(kind: str | None):
    fields = sorted(_FIELDS.get(kind or "local", FIELDS))
    known = _field(fields)
    base = {
        "ssh": st.fixed_dictionaries({"hosts": HOSTS}),
        "slurm": st.one_of(st.just({}), st.fixed_dictionaries({"login_host": HOSTS.map(lambda h: str(h[0]))})),
    }
    return st.tuples(
        base.get(kind, st.just({})),
        st.lists(weighted((12, known), (1, _field(FIELDS)), (1, st.tuples(TEXT, VALUES))), max_size=5),
    ).map(lambda b: {**b[0], **dict(b[1]), **({"kind": kind} if kind else {})})


BODIES = st.sampled_from(["local", "ssh", "ssh", "ssh", "slurm", "slurm", "nope", None]).flatmap(_body)
DOCUMENTS = weighted(
    (8, st.fixed_dictionaries({"targets": st.dictionaries(TEXT, BODIES, min_size=1, max_size=3)})),
    (
        2,
        st.dictionaries(
            st.sampled_from(["targets", "defaults", "other"]),
            st.one_of(st.dictionaries(TEXT, st.one_of(BODIES, VALUES), max_size=3), VALUES),
            max_size=2,
        ),
    ),
)


def _check(text: str) -> None:
    try:
        targets = parse_targets(text, SOURCE)
    except TargetError as exc:
        assert str(exc).startswith(SOURCE + ":"), f"the error must name the file: {exc}"
        event("refused: " + re.sub(r"'.*?'|\".*?\"|\(.*", "_", str(exc)[len(SOURCE) + 2 :])[:50])
        return
    event(f"loaded: {sorted(t.kind for t in targets.values())}")
    for name, target in targets.items():
        assert isinstance(target, tuple(TARGET_CLASSES.values())) and target.name == name and target.kind in KINDS
        if target.kind == "ssh":
            assert SSHConnection.from_target(target).hosts
        elif isinstance(target, SlurmTarget) and target.login_host:
            assert SSHConnection.login_node(target).head


@FUZZ
@given(doc=DOCUMENTS)
def test_any_toml_document_gives_usable_targets_or_an_error_naming_the_file(doc: dict) -> None:
    text = "\n".join(f"{toml_key(k)} = {toml_value(v)}" for k, v in doc.items())
    _check(text)


@FUZZ
@given(text=st.text(max_size=300))
def test_any_text_gives_targets_or_an_error_naming_the_file(text: str) -> None:
    _check(text)


@FUZZ
@given(data=st.binary(max_size=300))
def test_any_file_gives_targets_or_an_error_naming_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, data: bytes
) -> None:
    monkeypatch.setenv("JUPYTER_CONFIG_DIR", str(tmp_path / "jupyter-config"))
    monkeypatch.delenv("MLTRAIN_CONFIG", raising=False)
    path = tmp_path / "mltrain.toml"
    path.write_bytes(data)
    try:
        targets = load_targets(cwd=tmp_path)
    except TargetError as exc:
        assert str(exc).startswith(f"{path}:"), f"the error must name the file: {exc}"
    else:
        assert "local" in targets


def test_known_bad_settings_are_refused_at_load_naming_file_target_and_field() -> None:
    for body, words in (
        ('kind = "ssh"\nhosts = []', "'hosts' is empty"),
        ('kind = "ssh"\nhosts = ["-oProxyCommand=x:1"]', "bad host"),
        ('kind = "ssh"\nhosts = ["a"]\nuser = "-oProxyCommand=x"', "bad user"),
        ('kind = "slurm"\nlogin_host = "a b"', "bad host"),
        ('kind = "local"\nenv = { "A B" = "x" }', "'env' has the wrong type"),
        ('kind = "local"\nenv = { "A=B" = "x" }', "'env' has the wrong type"),
        ('kind = "slurm"\nnodes = -1', "'nodes' has the wrong type"),
    ):
        with pytest.raises(TargetError) as info:
            parse_targets(f"[targets.t]\n{body}\n", SOURCE)
        assert str(info.value).startswith(f"{SOURCE}: target 't'") and words in str(info.value), str(info.value)
