"""Generated enqueue arguments through the client: every bad one is an InvalidArgumentError
naming its field before anything is written, and every accepted job reads back exactly."""

from __future__ import annotations

from typing import Any

import pytest
import redis
from hypothesis import HealthCheck, Phase, event, given, settings
from hypothesis import strategies as st

from tests.engine.bad_inputs import FIELDS, LABELS, canonical, digest, enqueue_args, nested
from tests.engine.invariants import check_queue
from worker_runtime import SyncClient
from worker_runtime.errors import InvalidArgumentError, PayloadError

#: Function-scoped fixtures are fine here: each example flushes Redis itself.
SETTINGS = settings(
    max_examples=200,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _enqueue(c: SyncClient, args: dict[str, Any]) -> str:
    rest = {k: v for k, v in args.items() if k not in ("queue", "job_name", "payload")}
    return c.enqueue(args["queue"], args["job_name"], args["payload"], **rest).id


def _check_round_trip(c: SyncClient, r: redis.Redis, args: dict[str, Any], job_id: str) -> None:
    job = c.get_job(job_id, args["queue"])
    assert job is not None
    assert canonical(job.payload) == canonical(args["payload"])
    assert (job.name, job.queue, job.dedupe_key) == (
        args["job_name"],
        args["queue"],
        args["dedupe_key"],
    )
    assert job.id == (args["job_id"] or job_id)
    if args["delay"] is not None and round(args["delay"] * 1000) > 0:
        assert job.due_ms is not None
        assert job.due_ms - job.enqueued_ms == round(args["delay"] * 1000)
    if args["timeout"] is not None:
        assert job.timeout_ms == max(1, round(args["timeout"] * 1000))
    check_queue(r, args["queue"])


@SETTINGS
@given(
    data=st.data(),
    bad=st.just(frozenset()) | st.frozensets(st.sampled_from(FIELDS), min_size=1, max_size=2),
)
def test_generated_arguments_are_refused_typed_or_read_back_exactly(
    redis_url: str, data: st.DataObject, bad: frozenset[str]
) -> None:
    args = data.draw(enqueue_args(bad), label="args")
    r = redis.Redis.from_url(redis_url, decode_responses=True)
    with SyncClient(redis_url) as c:
        r.flushall()
        c.enqueue("seed", "j", {"keep": True})
        before = digest(r)
        event("refused" if bad else "accepted")
        if not bad:
            _check_round_trip(c, r, args, _enqueue(c, args))
            return
        with pytest.raises(InvalidArgumentError) as raised:
            _enqueue(c, args)
        field = raised.value.field
        assert field in bad, f"{raised.value!r} names {field}, not one of {sorted(bad)}"
        assert str(raised.value).startswith(LABELS.get(field, field))
        if field == "payload":
            assert isinstance(raised.value, PayloadError)
        assert digest(r) == before
    r.close()


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"delay": 99999999999999999999 * 86_400}, "delay"),
        ({"delay": 1e300}, "delay"),
        ({"run_at": 1e300}, "run_at"),
        ({"timeout": 1e300}, "timeout"),
        ({"delay": "5"}, "delay"),
        ({"timeout": [5]}, "timeout"),
        ({"max_attempts": 2.5}, "max_attempts"),
        ({"dedupe_key": 5}, "dedupe_key"),
        ({"dedupe_key": "\ud800"}, "dedupe_key"),
        ({"payload": {"\udc80": 1}}, "payload"),
        ({"payload": nested(10_000, as_dict=False)}, "payload"),
        ({"job_id": "id\n"}, "job_id"),
    ],
)
def test_the_reported_cases_name_their_field(
    sync_client: SyncClient, r: redis.Redis, kwargs: dict[str, Any], field: str
) -> None:
    """The untyped errors of the fault run, each now refused before Redis is touched."""
    with pytest.raises(InvalidArgumentError) as raised:
        sync_client.enqueue("q", "j", **kwargs)
    assert raised.value.field == field
    assert r.dbsize() == 0


def test_payload_depth_limit_is_128(sync_client: SyncClient) -> None:
    assert sync_client.enqueue("q", "j", nested(128, as_dict=True)).created
    with pytest.raises(PayloadError, match="128 levels"):
        sync_client.enqueue("q", "j", [nested(128, as_dict=True)])
