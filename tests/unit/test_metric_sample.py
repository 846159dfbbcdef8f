"""Thinning a metric flood for display: rare metrics and events whole, floods sampled evenly, order kept."""

from __future__ import annotations

import itertools
import json

from jupyter_mltrain.engine.store import parse_metric_lines, sample_metric_lines
from jupyter_mltrain.hostside.runtime import _encode


def lines(*items: tuple) -> bytes:
    return "".join(_encode(item) for item in items).encode()


def test_few_records_pass_through_untouched() -> None:
    data = lines(*((f"m{i}", i, i, 1.0) for i in range(50)))
    assert sample_metric_lines(data, 100) == (parse_metric_lines(data), 0)
    assert sample_metric_lines(b"", 10) == ([], 0)


def test_interleaved_floods_are_each_sampled_evenly_with_their_last_value() -> None:
    items = []
    for i in range(10_000):
        items += [("loss", i, i, 1.0), ("acc", -i, i, 1.0)]
        if i % 2500 == 0:
            items.append((None, i, 10_000, 1.0))  # a progress event
    records, left_out = sample_metric_lines(lines(*items), 100)
    assert len(records) + left_out == len(items)
    for name in ("loss", "acc"):
        steps = [r["step"] for r in records if r.get("name") == name]
        assert 95 <= len(steps) <= 101 and steps[0] == 0 and steps[-1] == 9999
        gaps = {b - a for a, b in itertools.pairwise(steps[:-1])}  # the last is the last value
        # spread evenly (by bytes: lines grow by a digit now and then): the alternating pattern
        # does not alias one name away
        assert 90 <= min(gaps) and max(gaps) <= 110, sorted(gaps)
    assert [r["step"] for r in records if r.get("event") == "progress"] == [0, 2500, 5000, 7500]
    order = [(r.get("step"), r.get("name") or "") for r in records]
    assert [s for s, _ in order] == sorted(s for s, _ in order)


def test_rare_names_with_escapes_or_unicode_and_damaged_lines_are_never_lost() -> None:
    flood = [("x", i, i, 1.0) for i in range(5000)]
    rare = [('say "hi"\\', 1, 7, 1.0), ("précision", 2, 8, 1.0), ("損失", 3, 9, 1.0)]
    data = lines(*flood[:2000], *rare, *flood[2000:]) + b'{"name": "broken\n' + lines(("x", 5000, 5000, 1.0))
    records, left_out = sample_metric_lines(data, 50)
    names = [r["name"] for r in records]
    assert {'say "hi"\\', "précision", "損失"} <= set(names)
    assert names.count("x") <= 52 and records[-1]["value"] == 5000
    assert left_out == 5001 - names.count("x")
    assert json.loads(_encode(rare[2]))["name"] == "損失"


def test_a_flood_of_names_with_escapes_is_kept_whole_not_lost() -> None:
    data = lines(*((f"ü{i % 3}", i, i, 1.0) for i in range(3000)))
    records, left_out = sample_metric_lines(data, 100)
    assert len(records) + left_out == 3000 and len(records) <= 3 * 101


def test_a_read_cut_inside_one_long_line_and_blank_lines_are_counted_exactly() -> None:
    flood = lines(*(("x", i, i, 1.0) for i in range(3000)))
    data = flood + b"\n\n" + b'{"name":"x","value":1,"step":3000,"ti'  # no newline at the end: cut at max_bytes
    records, left_out = sample_metric_lines(data, 100)
    assert len(records) + left_out + 2 == 3003  # the two blank lines are kept and parse to nothing
    assert records[-1]["step"] == 2999 and len(records) <= 101
