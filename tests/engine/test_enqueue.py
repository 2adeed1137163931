"""enqueue.lua through the client: creation, ids, dedupe, delays, validation."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime

import pytest
import redis

from tests.engine.invariants import check_queue
from worker_runtime import Client, JobSpec
from worker_runtime.engine import writes
from worker_runtime.engine.keys import QUEUES, QueueKeys
from worker_runtime.errors import InvalidArgumentError, PayloadError, PayloadTooLargeError


async def test_enqueue_creates_pending_job(client: Client, r: redis.Redis) -> None:
    e = await client.enqueue("mail", "send", {"to": "a@b.c"}, priority="high")
    assert e.created and e.outcome == "created" and e.queue == "mail"
    job = await client.get_job(e.id)
    assert job is not None
    assert (job.state, job.name, job.priority, job.payload) == (
        "pending",
        "send",
        1,
        {"to": "a@b.c"},
    )
    assert r.sismember(QUEUES, "mail")
    assert check_queue(r, "mail") == {e.id: "pending"}


async def test_given_id_is_kept_and_a_second_enqueue_returns_it(client: Client) -> None:
    first = await client.enqueue("q", "j", {"n": 1}, job_id="order-42")
    again = await client.enqueue("q", "j", {"n": 2}, job_id="order-42")
    assert first.id == again.id == "order-42"
    assert (first.outcome, again.outcome) == ("created", "exists")
    job = await client.get_job("order-42")
    assert job is not None and job.payload == {"n": 1}


async def test_dedupe_key_returns_existing_job_until_it_finishes(
    client: Client, r: redis.Redis
) -> None:
    a = await client.enqueue("q", "j", 1, dedupe_key="user:7")
    b = await client.enqueue("q", "j", 2, dedupe_key="user:7")
    assert (b.id, b.outcome, b.created) == (a.id, "deduplicated", False)
    assert r.hlen(QueueKeys.of("q").jobs) == 1
    claimed = await client.store.run(writes.claim("q", "w", 1))
    job = claimed.jobs[0]
    assert await client.store.run(writes.complete("q", "w", [(job.id, job.token, "")])) == [1]
    c = await client.enqueue("q", "j", 3, dedupe_key="user:7")
    assert c.created and c.id != a.id


async def test_delay_and_run_at_make_delayed_jobs(client: Client, r: redis.Redis) -> None:
    d = await client.enqueue("q", "j", delay=60)
    at = await client.enqueue("q", "j", run_at=time.time() + 120)
    past = await client.enqueue("q", "j", run_at=time.time() - 5)
    k = QueueKeys.of("q")
    assert r.zscore(k.delayed, d.id) is not None and r.zscore(k.delayed, at.id) is not None
    assert r.zscore(k.pending, past.id) is not None
    due_d, due_at = r.zscore(k.delayed, d.id), r.zscore(k.delayed, at.id)
    assert due_d is not None and due_at is not None and 50_000 < due_at - due_d < 70_000
    check_queue(r, "q")


async def test_enqueue_many_in_order_across_queues_and_chunks(
    client: Client, r: redis.Redis
) -> None:
    specs = [JobSpec("a" if i % 3 else "b", "j", {"i": i}) for i in range(2500)]
    results = await client.enqueue_many(specs)
    assert [x.queue for x in results] == [s.queue for s in specs]
    assert all(x.created for x in results)
    assert r.zcard(QueueKeys.of("a").pending) + r.zcard(QueueKeys.of("b").pending) == 2500
    job = await client.get_job(results[1234].id)
    assert job is not None and job.payload == {"i": 1234}


def _keyspace(r: redis.Redis) -> tuple[int, list[str]]:
    return r.dbsize(), sorted(map(str, r.keys("*")))


@pytest.mark.parametrize(
    ("kwargs", "error", "field", "attr"),
    [
        ({"payload": {"x": object()}}, PayloadError, "payload", "payload"),
        ({"payload": float("nan")}, PayloadError, "payload", "payload"),
        ({"priority": 11}, InvalidArgumentError, "priority", "priority"),
        ({"priority": "urgent"}, InvalidArgumentError, "priority", "priority"),
        ({"priority": 2.5}, InvalidArgumentError, "must be an integer 0-10 or a level", "priority"),
        ({"delay": -1}, InvalidArgumentError, "delay", "delay"),
        ({"delay": 1, "run_at": 5}, InvalidArgumentError, "run_at", "delay"),
        ({"max_attempts": 0}, InvalidArgumentError, "max_attempts", "max_attempts"),
        ({"job_id": "has space"}, InvalidArgumentError, "job id", "job_id"),
        ({"dedupe_key": ""}, InvalidArgumentError, "dedupe_key", "dedupe_key"),
    ],
)
async def test_bad_arguments_write_nothing(
    client: Client,
    r: redis.Redis,
    kwargs: dict[str, object],
    error: type[Exception],
    field: str,
    attr: str,
) -> None:
    """The message names the field, and so does the error's ``field`` attribute."""
    await client.enqueue("q", "seed", 1)
    before = _keyspace(r)
    with pytest.raises(error, match=field) as raised:
        await client.enqueue("q", "j", **kwargs)  # type: ignore[arg-type]
    assert raised.value.field == attr  # type: ignore[attr-defined]
    assert _keyspace(r) == before


async def test_bad_queue_or_job_name_writes_nothing(client: Client, r: redis.Redis) -> None:
    with pytest.raises(InvalidArgumentError, match="queue"):
        await client.enqueue("bad{tag}", "j")
    with pytest.raises(InvalidArgumentError, match="job name"):
        await client.enqueue("q", "")
    assert r.dbsize() == 0


async def test_payload_over_the_queue_limit_writes_nothing(client: Client, r: redis.Redis) -> None:
    await client.configure("q", max_payload_bytes=100)
    before = _keyspace(r)
    with pytest.raises(PayloadTooLargeError, match="payload") as raised:
        await client.enqueue("q", "j", "x" * 200)
    # A generated id would name a job that never existed.
    assert re.search(r"job [a-z2-7]{16}", str(raised.value)) is None, raised.value
    with pytest.raises(PayloadTooLargeError, match="job mine"):
        await client.enqueue("q", "j", "x" * 200, job_id="mine")
    # A batch with one oversized job in the middle writes none of them.
    specs = [JobSpec("q", "j", "ok")] * 5 + [JobSpec("q", "j", "x" * 200)] + [JobSpec("q", "j")]
    with pytest.raises(PayloadTooLargeError):
        await client.enqueue_many(specs)
    multi = [JobSpec("q", "j", i) for i in range(1500)] + [JobSpec("q", "j", "x" * 200)]
    with pytest.raises(PayloadTooLargeError, match="limit of 100"):
        await client.enqueue_many(multi)
    assert _keyspace(r) == before
    assert (await client.enqueue("q", "j", "x" * 90)).created


async def test_default_payload_limit_is_512_kib(client: Client, r: redis.Redis) -> None:
    with pytest.raises(PayloadTooLargeError):
        await client.enqueue("q", "j", "x" * (512 * 1024))
    assert r.dbsize() == 0
    assert (await client.enqueue("q", "j", "x" * (512 * 1024 - 2))).created


async def test_generated_id_that_collides_gets_a_new_one(client: Client, r: redis.Redis) -> None:
    """80 random bits rarely collide; when they do, the job is re-ided, never dropped."""
    from unittest import mock

    taken = (await client.enqueue("q", "j", {"first": True})).id
    with (
        mock.patch("worker_runtime.engine.prepare.new_job_ids", lambda n: [taken] * n),
        mock.patch("worker_runtime.client.producing.new_job_id", lambda: "fresh0000000000a"),
    ):
        # A priority by name takes the general path (a plain one the path below).
        e = await client.enqueue("q", "j", {"second": True}, priority="normal")
    assert e.created and e.id == "fresh0000000000a"
    job = await client.get_job(e.id)
    assert job is not None and job.payload == {"second": True}
    assert len(check_queue(r, "q")) == 2


async def test_generated_id_that_collides_gets_a_new_one_on_the_plain_path(
    client: Client, r: redis.Redis
) -> None:
    from unittest import mock

    taken = (await client.enqueue("q", "j", {"first": True})).id
    ids = iter([taken.encode(), taken.encode(), b"fresh0000000000b"])
    with (
        mock.patch("worker_runtime.client.producing.new_job_id_data", lambda: next(ids)),
        # A cluster has no plain path (each call goes to its slot's master): the general one.
        mock.patch("worker_runtime.engine.prepare.new_job_ids", lambda n: [taken] * n),
        mock.patch("worker_runtime.client.producing.new_job_id", lambda: "fresh0000000000b"),
    ):
        e = await client.enqueue("q", "j", {"second": True})
    assert e.created and e.id == "fresh0000000000b"
    job = await client.get_job(e.id)
    assert job is not None and job.payload == {"second": True}
    assert len(check_queue(r, "q")) == 2


async def test_run_at_takes_an_aware_datetime_and_refuses_a_naive_one(client: Client) -> None:
    due = datetime(2030, 12, 1, 9, 0, tzinfo=UTC)
    job = await client.enqueue("q", "j", run_at=due)
    info = await client.get_job(job.id)
    assert info is not None and info.due_ms == int(due.timestamp() * 1000)
    with pytest.raises(InvalidArgumentError, match=r"run_at: .* no time zone") as raised:
        await client.enqueue("q", "j", run_at=datetime(2030, 12, 1, 9, 0))
    assert raised.value.field == "run_at"
