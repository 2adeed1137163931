"""Hypothesis strategies of enqueue arguments, each valid or bad, and a keyspace digest to
prove that a rejected call wrote nothing."""

from __future__ import annotations

import json
import time
from typing import Any, cast

import redis
from hypothesis import strategies as st

from worker_runtime.engine.prepare import MAX_DELAY_S, MAX_TIMEOUT_S

#: The enqueue arguments the strategies vary, in the order of Client.enqueue.
FIELDS = (
    "queue",
    "job_name",
    "payload",
    "priority",
    "delay",
    "run_at",
    "max_attempts",
    "timeout",
    "dedupe_key",
    "job_id",
    "rate_key",
)
#: How each field's error message starts.
LABELS = {"job_name": "job name", "job_id": "job id", "payload": "payload"}

surrogate = st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF)
#: Text UTF-8 can hold, with the characters that matter to Redis keys and the CLI.
clean_text = st.text(st.characters(codec="utf-8") | st.sampled_from("{}: \t"), max_size=12)


def with_surrogate(around: st.SearchStrategy[str] = clean_text) -> st.SearchStrategy[str]:
    return st.builds(lambda a, s, b: a + s + b, around, surrogate, around)


def nested(depth: int, as_dict: bool) -> Any:
    """Lists (or objects) nested ``depth`` levels deep, built without recursion."""
    value: Any = 1
    for _ in range(depth):
        value = {"k": value} if as_dict else [value]
    return value


#: Deeper than the 128 levels a payload may have, up to far beyond Python's recursion limit.
too_deep = st.builds(nested, st.integers(129, 3000) | st.just(10_000), st.booleans())

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | clean_text
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(clean_text, inner, max_size=4),
    max_leaves=12,
)
wrong_types = (
    st.lists(st.integers(), max_size=2)
    | st.dictionaries(st.text(max_size=2), st.integers(), max_size=2)
    | st.builds(object)
    | st.binary(max_size=3)
    | st.complex_numbers(allow_nan=False, allow_infinity=False)
)
not_numbers = wrong_types | st.text(max_size=4) | st.booleans()
huge_ints = st.integers(min_value=10**12, max_value=10**400) | st.just(10**5000)
not_finite = st.sampled_from([float("nan"), float("inf"), float("-inf")])


def seconds(upper: float) -> st.SearchStrategy[Any]:
    return st.floats(0, upper) | st.integers(0, int(upper))


def bad_seconds(upper: float) -> st.SearchStrategy[Any]:
    return (
        not_numbers
        | not_finite
        | huge_ints
        | st.floats(min_value=upper * 1.01, max_value=1e308)
        | st.floats(max_value=-1e-6)
        | st.integers(max_value=-1)
    )


#: Valid values of every field; None is each optional field's "not given".
VALID: dict[str, st.SearchStrategy[Any]] = {
    "queue": st.from_regex(r"[A-Za-z0-9._:-]{1,20}", fullmatch=True),
    "job_name": st.text(
        st.characters(codec="utf-8", exclude_characters="\n") | st.sampled_from("{}: "),
        min_size=1,
        max_size=30,
    ),
    "payload": json_values,
    "priority": st.integers(0, 10) | st.sampled_from(["high", " Low ", "CRITICAL", "7"]),
    "delay": st.none() | seconds(MAX_DELAY_S),
    # The bound moves on with the clock; a minute's margin keeps a drawn value valid.
    "run_at": st.none() | seconds(time.time() + MAX_DELAY_S - 60),
    "max_attempts": st.none() | st.integers(1, 1000),
    "timeout": st.none() | seconds(MAX_TIMEOUT_S),
    "dedupe_key": st.none() | clean_text.filter(bool),
    "job_id": st.none() | st.from_regex(r"[\x21-\x7e]{1,40}", fullmatch=True),
    "rate_key": st.none() | st.from_regex(r"[A-Za-z0-9._:@/+=-]{1,30}", fullmatch=True),
}

#: Bad values of every field: wrong types, out of range, unencodable, malformed.
BAD: dict[str, st.SearchStrategy[Any]] = {
    "queue": st.sampled_from(["", "a b", "{q}", "q}", "q\n", "q" * 101, "é"])
    | with_surrogate()
    | wrong_types
    | st.integers(),
    "job_name": st.sampled_from(["", "a\nb", "x" * 201]) | with_surrogate() | wrong_types,
    "payload": with_surrogate()
    | st.dictionaries(with_surrogate(), st.integers(), min_size=1, max_size=2)
    | st.lists(with_surrogate(), min_size=1, max_size=2)
    | too_deep
    | not_finite
    | st.just(10**5000)
    | st.builds(object)
    | st.sets(st.integers(), max_size=2)
    | st.binary(max_size=2),
    "priority": st.integers(max_value=-1)
    | st.integers(min_value=11)
    | huge_ints
    | st.floats()
    | st.booleans()
    | st.sampled_from(["urgent", "", "11", "1.5"])
    | wrong_types,
    "delay": bad_seconds(MAX_DELAY_S),
    "run_at": bad_seconds(time.time() + MAX_DELAY_S + 86_400),
    "max_attempts": st.integers(max_value=0)
    | st.integers(min_value=1001)
    | huge_ints
    | st.floats()
    | st.booleans()
    | st.text(max_size=3)
    | wrong_types,
    "timeout": bad_seconds(MAX_TIMEOUT_S),
    "dedupe_key": st.sampled_from(["", "k" * 257])
    | with_surrogate()
    | st.integers()
    | huge_ints
    | wrong_types,
    "job_id": st.sampled_from(["", "a b", "a\n", "é", "x" * 201, "{a}\t"])
    | with_surrogate()
    | st.integers()
    | wrong_types,
    "rate_key": st.sampled_from(["", "a b", "{k}", "k\n", "é"]) | with_surrogate() | wrong_types,
}


def enqueue_args(bad: frozenset[str]) -> st.SearchStrategy[dict[str, Any]]:
    """Every field, drawn from BAD if it is in ``bad`` and from VALID otherwise; valid delay
    and run_at are never both given (that is an error of its own)."""
    drawn = st.fixed_dictionaries({f: (BAD if f in bad else VALID)[f] for f in FIELDS})

    def one_timing(args: dict[str, Any]) -> dict[str, Any]:
        both_valid = not {"delay", "run_at"} & bad
        return {**args, "run_at": None} if both_valid and args["delay"] is not None else args

    return drawn.map(one_timing)


def canonical(value: Any) -> str:
    """A JSON text that tells 1 from 1.0 and 0.0 from -0.0, for exact round-trip checks."""
    return json.dumps(value, ensure_ascii=False)


def digest(r: redis.Redis) -> dict[str, Any]:
    """Every key with its serialised value (DEBUG DIGEST needs enable-debug-command)."""
    keys = sorted(cast(list[str], r.keys("*")))
    pipe = r.pipeline(transaction=False)
    for key in keys:
        pipe.dump(key)
    return dict(zip(keys, pipe.execute(), strict=True))
