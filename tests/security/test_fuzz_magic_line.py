"""Fuzz: any line after ``%%train`` (or ``%train_attach``, ``%train_runs``) is options or a usage error.

The magic splits its line as a shell would, parses it with the options the CLI shares, and builds a
RunSpec; every mistake must surface as IPython's ``UsageError`` (the parser) or our ``SpecError``
(which the magic turns into a ``UsageError``) — never a traceback of another exception.
"""

from __future__ import annotations

import shlex
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from IPython.core.error import UsageError

from jupyter_mltrain.engine.spec import MODES, RunSpec
from jupyter_mltrain.hostside.errors import SpecError
from jupyter_mltrain.magics import ATTACH_PARSER, RUNS_PARSER, TRAIN_PARSER, parse_line
from jupyter_mltrain.options import spec_from_options

FLAGS = [
    "--np",
    "--nodes",
    "--mode",
    "--workers",
    "--ps",
    "--target",
    "--name",
    "--experiment",
    "--param",
    "--input",
    "--env",
    "--secret-env",
    "--requirements",
    "--gpus",
    "--gpu-policy",
    "--share-gpus",
    "--python",
    "--snapshot-limit",
    "--grace",
    "--gather-outputs",
    "--wait",
    "--dry-run",
    "--source",
    "--n",
    "-",
    "--",
]
VALUES = st.one_of(
    st.text(max_size=40),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(
        [
            *MODES,
            "per-rank",
            "all",
            "rank0",
            "0,1",
            "1,,2",
            "~",
            "~nosuchuser/x",
            "/",
            ".",
            "a\0b",
            "[1, 2",
            "{[]: 1}",
            "1" * 5000,
            "(" * 200,
            "x=y",
            "=x",
            "A=B=C",
            "1x=2",
            "p=__import__('os')",
        ]
    ),
    st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,8}=.{0,20}", fullmatch=True),
)
# mostly flag-value pairs (what reaches the deep checks), with loose flags and values among them
TOKENS = st.lists(
    st.one_of(
        st.tuples(st.sampled_from(FLAGS), VALUES).map(list),
        st.sampled_from(FLAGS).map(lambda f: [f]),
        VALUES.map(lambda v: [v]),
    ),
    max_size=8,
).map(lambda groups: [t for g in groups for t in g])
LINES = st.one_of(
    st.text(max_size=200),  # anything at all, unbalanced quotes included
    TOKENS.map(lambda tokens: " ".join(shlex.quote(t) for t in tokens)),
    TOKENS.map(" ".join),  # unquoted: the values' own quotes and spaces split them
)
FUZZ = settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)


@FUZZ
@given(line=LINES)
def test_any_train_line_gives_a_spec_or_a_usage_error(tmp_path: Path, line: str) -> None:
    try:
        options = parse_line(TRAIN_PARSER, line)
        spec = spec_from_options(options, entry="main.py", source=options.source or str(tmp_path))
    except (UsageError, SpecError) as exc:
        assert str(exc).strip(), "an error must say what is wrong"
        return
    assert isinstance(spec, RunSpec)


@FUZZ
@given(line=LINES)
def test_any_attach_or_runs_line_gives_options_or_a_usage_error(line: str) -> None:
    for parser in (ATTACH_PARSER, RUNS_PARSER):
        try:
            parse_line(parser, line)
        except UsageError as exc:
            assert str(exc).strip()


def test_a_bad_line_is_one_usage_error_naming_what_is_wrong() -> None:
    for line, words in (
        ("--name 'unclosed", "cannot split the line"),
        ("--np", "expected one argument"),
        ("--np two", "invalid int value"),
        ("--requirements ~nosuchuser/r.txt", "--requirements"),
        ("--requirements /", "--requirements"),
    ):
        try:
            spec_from_options(parse_line(TRAIN_PARSER, line), entry="main.py", source="/tmp")
        except (UsageError, SpecError) as exc:
            assert words in str(exc), (line, str(exc))
        else:
            raise AssertionError(f"{line!r} was accepted")
