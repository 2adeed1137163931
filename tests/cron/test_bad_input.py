"""Generated schedule specs through the client: bad fields are InvalidArgumentErrors naming
the field with nothing written; accepted schedules read back with their payload exact."""

from __future__ import annotations

from typing import Any

import pytest
import redis
from hypothesis import HealthCheck, Phase, event, given, settings
from hypothesis import strategies as st

from tests.engine import bad_inputs
from tests.engine.bad_inputs import canonical, digest, huge_ints, not_finite, wrong_types
from worker_runtime import SyncClient
from worker_runtime.cron.schedules import MAX_DEADLINE_S, ScheduleSpec
from worker_runtime.errors import InvalidArgumentError

#: ScheduleSpec's fields, in its order, with the ``field`` of their errors.
FIELDS = {
    "name": "schedule_name",
    "cron": "cron",
    "queue": "queue",
    "job_name": "job_name",
    "payload": "payload",
    "timezone": "timezone",
    "priority": "priority",
    "suspend": "suspend",
    "concurrency_policy": "concurrency_policy",
    "starting_deadline": "starting_deadline",
}

GOOD: dict[str, st.SearchStrategy[Any]] = {
    "name": st.from_regex(r"[A-Za-z0-9._:/-]{1,30}", fullmatch=True),
    "cron": st.sampled_from(["* * * * *", "*/15 9-17 * * MON-FRI", "@hourly", "0 0 0 1 1 *"]),
    "queue": bad_inputs.VALID["queue"],
    "job_name": bad_inputs.VALID["job_name"],
    "payload": bad_inputs.VALID["payload"],
    "timezone": st.sampled_from(["UTC", "Europe/Berlin", "America/New_York"]),
    "priority": bad_inputs.VALID["priority"],
    "suspend": st.booleans(),
    "concurrency_policy": st.sampled_from(["Allow", "Forbid", "forbid"]),
    "starting_deadline": st.none() | st.floats(0.001, MAX_DEADLINE_S) | st.integers(1, 3600),
}
BAD: dict[str, st.SearchStrategy[Any]] = {
    "name": st.sampled_from(["", "a b", "s\n", "{s}", "x" * 101])
    | bad_inputs.with_surrogate()
    | wrong_types,
    "cron": st.sampled_from(["", "* * *", "0 0 31 2 *", "@every 5s", "* * * * 99999999999"])
    | bad_inputs.with_surrogate()
    | wrong_types
    | st.integers(),
    "queue": bad_inputs.BAD["queue"],
    "job_name": bad_inputs.BAD["job_name"],
    "payload": bad_inputs.BAD["payload"],
    "timezone": st.sampled_from(["", "Mars/Base", "../etc", "UTC\x00", "Europe"])
    | bad_inputs.with_surrogate()
    | wrong_types
    | st.integers(),
    "priority": bad_inputs.BAD["priority"],
    "suspend": st.integers() | st.text(max_size=3) | wrong_types,
    "concurrency_policy": st.sampled_from(["", "Replace"]) | wrong_types,
    "starting_deadline": huge_ints
    | not_finite
    | st.floats(min_value=MAX_DEADLINE_S * 1.01)
    | st.just(0)
    | st.floats(max_value=0)
    | st.booleans()
    | wrong_types,
}


@st.composite
def specs(draw: st.DrawFn) -> tuple[dict[str, Any], frozenset[str]]:
    bad = draw(st.just(frozenset()) | st.frozensets(st.sampled_from(list(FIELDS)), max_size=2))
    return {k: draw((BAD if k in bad else GOOD)[k], label=k) for k in FIELDS}, bad


@settings(
    max_examples=120,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(case=specs())
def test_generated_schedules_are_refused_typed_or_read_back_exactly(
    redis_url: str, case: tuple[dict[str, Any], frozenset[str]]
) -> None:
    fields, bad = case
    r = redis.Redis.from_url(redis_url, decode_responses=True)
    with SyncClient(redis_url) as c:
        r.flushall()
        c.add_schedule(ScheduleSpec("keep", "@daily", "q", "j"))
        before = digest(r)
        event("refused" if bad else "accepted")
        if bad:
            with pytest.raises(InvalidArgumentError) as raised:
                c.add_schedule(ScheduleSpec(**fields))
            wanted = {FIELDS[k] for k in bad}
            assert raised.value.field in wanted, f"{raised.value!r} is not about {wanted}"
            assert digest(r) == before
        else:
            c.add_schedule(ScheduleSpec(**fields))
            stored = c.get_schedule(fields["name"])
            assert stored is not None
            assert canonical(stored.spec.payload) == canonical(fields["payload"])
            assert stored.spec.job_name == fields["job_name"]
    r.close()
