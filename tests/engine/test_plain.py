"""engine.plain: the pre-packed one-job enqueue is byte for byte the general path's
command, and the client's plain path keeps the general path's checks and replies."""

from __future__ import annotations

from typing import Any, cast

import pytest
import redis

from worker_runtime import Client
from worker_runtime.engine import writes
from worker_runtime.engine.bodies import payload_data
from worker_runtime.engine.keys import QueueKeys
from worker_runtime.engine.plain import plain_enqueue
from worker_runtime.engine.prepare import prepare
from worker_runtime.engine.store import evalsha
from worker_runtime.errors import InvalidArgumentError, PayloadError, PayloadTooLargeError
from worker_runtime.models import JobSpec

SAMPLES: list[tuple[str, str, int, Any]] = [
    ("q", "j", 5, None),
    ("bench", "bench_noop", 5, {"t": 1764579600.123456}),
    ("a.b:c-d_e", "é名 job", 0, ["x", 1, 2.5, {"k": "\u2028"}]),
    ("q", "sampleid", 10, "sample body"),
    ("q", "j", 3, "x" * 70_000),
]


@pytest.mark.parametrize(("queue", "name", "priority", "payload"), SAMPLES)
def test_the_plain_command_is_the_general_paths(
    queue: str, name: str, priority: int, payload: Any
) -> None:
    job_id = "abcdefgh23456712"
    general = evalsha(
        writes.enqueue(queue, [prepare(JobSpec(queue, name, payload, priority, job_id=job_id))])
    )
    data = payload_data(payload, name)
    for _ in range(2):  # a template made, then a template reused
        assert plain_enqueue(queue, name, priority, job_id.encode(), data) == general


async def test_plain_enqueues_are_stored_as_general_ones(client: Client, r: redis.Redis) -> None:
    plain = await client.enqueue("q", "j", {"i": 1}, priority=2)
    general = await client.enqueue("q", "j", {"i": 1}, priority="2")
    assert plain.created and plain.outcome == "created" and plain.queue == "q"
    jobs = cast(dict[str, str], r.hgetall(QueueKeys.of("q").jobs))
    # The records differ only in their first line (the enqueue's time).
    assert jobs[plain.id].split("\n")[1:] == jobs[general.id].split("\n")[1:]
    assert await client.queues() == ["q"]
    for e in (plain, general):
        info = await client.get_job(e.id)
        assert info is not None and info.payload == {"i": 1} and info.priority == 2


async def test_plain_enqueues_refuse_bad_input_naming_the_field(
    client: Client, r: redis.Redis
) -> None:
    with pytest.raises(InvalidArgumentError) as raised:
        await client.enqueue("bad queue", "j")
    assert raised.value.field == "queue"
    with pytest.raises(InvalidArgumentError) as raised:
        await client.enqueue("q", "two\nlines")
    assert raised.value.field == "job_name"
    with pytest.raises(PayloadError) as payload_error:
        await client.enqueue("q", "j", {"x": float("nan")})
    assert payload_error.value.field == "payload"
    with pytest.raises(InvalidArgumentError) as raised:
        await client.enqueue("q", "j", priority=11)
    assert raised.value.field == "priority"
    await client.configure("q", max_payload_bytes=10)
    before = r.hlen(QueueKeys.of("q").jobs)
    with pytest.raises(PayloadTooLargeError) as too_large:
        await client.enqueue("q", "j", "x" * 20)
    assert too_large.value.field == "payload"
    assert r.hlen(QueueKeys.of("q").jobs) == before == 0
