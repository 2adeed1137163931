"""The engine's JSON decoder (orjson where it agrees with json) against json itself."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from worker_runtime.engine.operation import loads, parse_record

#: What orjson refuses or reads otherwise and json takes: a producer could write each.
JSON_ONLY = [
    "NaN",
    "[Infinity, -Infinity]",
    "1e400",
    '"\\ud800"',
    "18446744073709551616",
    "-9223372036854775809",
    '{"big": 123456789012345678901234567890}',
    '["\ud800 a lone surrogate, not escaped"]',
    '{"id": "12345678901234567890", "n": 1}',
]

REFUSED = ["", "[1,]", "01", "\ufeff{}", '{"a": 1} x', "nan", '"\t"']


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and math.isnan(a):
        return isinstance(b, float) and math.isnan(b)
    if isinstance(a, list):
        return isinstance(b, list) and len(a) == len(b) and all(map(_same, a, b))
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


@pytest.mark.parametrize("text", JSON_ONLY)
def test_what_only_json_reads_is_read_as_json_reads_it(text: str) -> None:
    assert _same(loads(text), json.loads(text))


def test_long_integers_stay_exact_ints() -> None:
    # orjson alone would turn these into floats, silently.
    assert loads("[18446744073709551616]") == [18446744073709551616]
    assert type(loads("-9223372036854775809")) is int


@pytest.mark.parametrize("text", REFUSED)
def test_what_json_refuses_is_refused_as_a_value_error(text: str) -> None:
    with pytest.raises(ValueError):
        json.loads(text)
    with pytest.raises(ValueError):
        loads(text)


_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(),
    lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner),
    max_leaves=20,
)


@given(_json, st.booleans())
def test_any_value_json_writes_reads_back_as_json_reads_it(value: Any, ascii: bool) -> None:
    text = json.dumps(value, ensure_ascii=ascii)
    assert _same(loads(text), json.loads(text))


def test_long_texts_read_as_json_reads_them() -> None:
    rows = [{"id": i, "price": i / 7, "name": f"item {i} é", "big": 10**19 + i} for i in range(500)]
    small = [{"id": i, "price": i / 7, "name": f"item {i} é"} for i in range(500)]
    for value in (rows, small, {"text": "lorem ipsum " * 5000}, {"n": [3.5] * 1000}):
        text = json.dumps(value)
        assert _same(loads(text), json.loads(text))


def test_a_record_splits_into_its_parts() -> None:
    assert parse_record('12\n{"n":"a","p":5}\n{"x": NaN}') == (12, {"n": "a", "p": 5}, '{"x": NaN}')
