"""Client.events: every transition publishes its jobs' events, one message per script call."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncGenerator

import pytest
import redis

from worker_runtime import Client, SyncClient
from worker_runtime.engine import events as job_events
from worker_runtime.engine import writes
from worker_runtime.engine.keys import QueueKeys
from worker_runtime.errors import InvalidArgumentError
from worker_runtime.models import JobEvent, JobSpec


async def _subscribed(client: Client, queues: list[str]) -> AsyncGenerator[JobEvent, None]:
    stream = client.events(queues)
    # The generator subscribes on its first step: start it, then wait for the subscription.
    first = asyncio.ensure_future(anext(stream))
    channels = [QueueKeys.of(q).events for q in queues]
    while any(n == 0 for _, n in await client.store.redis.pubsub_numsub(*channels)):
        await asyncio.sleep(0.01)

    async def rest() -> AsyncGenerator[JobEvent, None]:
        yield await first
        async for e in stream:
            yield e

    return rest()


async def _take(stream: AsyncGenerator[JobEvent, None], n: int) -> list[JobEvent]:
    return [await asyncio.wait_for(anext(stream), 10) for _ in range(n)]


async def test_a_job_lifecycle_is_told_event_by_event(client: Client) -> None:
    await client.configure("q", max_attempts=2)
    stream = await _subscribed(client, ["q"])
    a, b = await client.enqueue_many([JobSpec("q", "add", 1), JobSpec("q", "mul", 2)])
    got = await _take(stream, 2)
    assert [(e.type, e.id, e.name, e.attempt) for e in got] == [
        ("enqueued", a.id, "add", 0),
        ("enqueued", b.id, "mul", 0),
    ]
    claimed = (await client.store.run(writes.claim("q", "w", 2))).jobs
    got = await _take(stream, 2)
    assert {(e.type, e.id, e.attempt) for e in got} == {("started", a.id, 1), ("started", b.id, 1)}
    tok = {j.id: j.token for j in claimed}
    assert await client.store.run(writes.progress("q", a.id, tok[a.id], 50, "half"))
    [e] = await _take(stream, 1)
    assert (e.type, e.id, e.name, e.attempt, e.pct, e.message) == (
        "progress",
        a.id,
        "add",
        1,
        50.0,
        "half",
    )
    await client.store.run(writes.complete("q", "w", [(a.id, tok[a.id], "3")]))
    [e] = await _take(stream, 1)
    assert (e.type, e.id, e.name, e.attempt) == ("completed", a.id, "add", 1)
    out = await client.store.run(
        writes.fail("q", b.id, tok[b.id], reason="ValueError", error="boom", delay_ms=0)
    )
    [e] = await _take(stream, 1)
    assert (e.type, e.id, e.attempt, e.reason, e.due_ms) == (
        "failed",
        b.id,
        1,
        "ValueError",
        out.due_ms,
    )
    [job] = (await client.store.run(writes.claim("q", "w", 1))).jobs
    await _take(stream, 1)
    await client.store.run(writes.fail("q", b.id, job.token, reason="ValueError", error="x"))
    [e] = await _take(stream, 1)
    assert (e.type, e.id, e.name, e.attempt, e.reason) == ("dead", b.id, "mul", 2, "ValueError")
    await client.retry(b.id, "q")
    [e] = await _take(stream, 1)
    assert (e.type, e.id, e.name, e.attempt) == ("retried", b.id, "mul", 0)
    assert await client.cancel(b.id, "q") == "cancelled"
    [e] = await _take(stream, 1)
    assert (e.type, e.id, e.name, e.reason) == ("cancelled", b.id, "mul", "Cancelled")
    await stream.aclose()


async def test_cancelled_while_running_and_lease_expiry(client: Client) -> None:
    await client.configure("q", max_attempts=1)
    stream = await _subscribed(client, ["q"])
    x, y = await client.enqueue_many([JobSpec("q", "x"), JobSpec("q", "y")])
    claimed = {j.id: j for j in (await client.store.run(writes.claim("q", "w", 1, 50))).jobs}
    claimed |= {j.id: j for j in (await client.store.run(writes.claim("q", "w", 1))).jobs}
    await _take(stream, 4)
    assert await client.cancel(y.id, "q") == "requested"
    await client.store.run(writes.complete("q", "w", [(y.id, claimed[y.id].token, "")]))
    [e] = await _take(stream, 1)
    assert (e.type, e.id, e.name) == ("cancelled", y.id, "y")
    await asyncio.sleep(0.1)
    assert await client.store.run(writes.recover("q")) == (0, 1, 0)
    [e] = await _take(stream, 1)
    assert (e.type, e.id, e.name, e.attempt, e.reason) == ("dead", x.id, "x", 1, "LeaseExpired")
    await stream.aclose()


async def test_one_message_per_script_call_and_only_the_watched_queues(
    client: Client, r: redis.Redis
) -> None:
    # A foreign subscriber sets the field Client.events sets (eventsOn.lua), then subscribes.
    seconds, _ = r.time()
    r.hset(QueueKeys.of("q").config, job_events.WATCH_FIELD, (seconds + 600) * 1000)
    pubsub = r.pubsub()  # type: ignore[no-untyped-call]  # untyped in redis-py
    pubsub.subscribe(QueueKeys.of("q").events)
    assert pubsub.get_message(timeout=5)["type"] == "subscribe"
    jobs = await client.enqueue_many([JobSpec("q", "j")] * 50)
    await client.enqueue("other", "j")
    claimed = (await client.store.run(writes.claim("q", "w", 50))).jobs
    await client.enqueue_many([JobSpec("q", "after", depends_on=[j.id]) for j in jobs[:10]])
    done = [(j.id, j.token, "") for j in claimed]
    await client.store.run(writes.complete("q", "w", done))
    messages = []
    while (m := pubsub.get_message(timeout=1)) is not None:
        messages.append(json.loads(m["data"]))
    pubsub.close()
    assert [len(m["events"]) for m in messages] == [50, 50, 10, 60]
    assert [{e["type"] for e in m["events"]} for m in messages] == [
        {"enqueued"},
        {"started"},
        {"enqueued"},
        {"completed", "released"},  # the batch ack and the dependants it released
    ]


async def test_no_listener_no_message_and_bad_arguments(client: Client, r: redis.Redis) -> None:
    with pytest.raises(InvalidArgumentError, match="queues"):
        await anext(client.events("q"))
    with pytest.raises(InvalidArgumentError, match="queue"):
        await anext(client.events(["bad name"]))
    # A foreign publisher's garbage is skipped, not raised.
    assert job_events.parse_message("q", "not json") == []
    assert job_events.parse_message("q", '{"at": 1, "events": [{"type": "bogus"}]}') == []
    r.config_resetstat()
    await client.enqueue("q", "j")
    assert "cmdstat_publish" in r.info("commandstats")  # the wake-up only
    assert r.info("commandstats")["cmdstat_publish"]["calls"] == 1
    # Nobody ever watched: not even PUBSUB NUMSUB is asked.
    assert "cmdstat_pubsub|numsub" not in r.info("commandstats")


async def test_a_listener_marks_its_queues_until_a_time_ahead(
    client: Client, r: redis.Redis
) -> None:
    stream = await _subscribed(client, ["q", "other"])
    seconds, _ = r.time()
    for q in ("q", "other"):
        until = int(str(r.hget(QueueKeys.of(q).config, job_events.WATCH_FIELD)))
        assert until > (seconds + 60) * 1000
    e = await client.enqueue("q", "j")
    [got] = await _take(stream, 1)
    assert (got.type, got.id) == ("enqueued", e.id)
    await stream.aclose()
    # Once the field lies behind, a script asks no one: the cost of watching ends.
    r.hset(QueueKeys.of("q").config, job_events.WATCH_FIELD, 1)
    r.config_resetstat()
    await client.enqueue("q", "j")
    assert "cmdstat_pubsub|numsub" not in r.info("commandstats")


def test_sync_client_iterates_events(sync_client: SyncClient, redis_url: str) -> None:
    stream = sync_client.events(["q"])
    producer = SyncClient(redis_url)
    try:
        # The first step subscribes; enqueue from a thread once the subscription exists.
        def produce() -> None:
            r = redis.Redis.from_url(redis_url)
            while not r.pubsub_numsub(QueueKeys.of("q").events)[0][1]:
                pass
            producer.enqueue("q", "j")
            r.close()

        t = threading.Thread(target=produce)
        t.start()
        e = next(stream)
        t.join()
        assert (e.type, e.name) == ("enqueued", "j")
    finally:
        stream.close()
        producer.close()


async def test_a_cron_run_is_told_as_enqueued(client: Client) -> None:
    from worker_runtime.cron.schedules import ScheduleSpec

    await client.add_schedule(ScheduleSpec("nightly", "@daily", "q", "report"))
    stream = await _subscribed(client, ["q"])
    run = await client.trigger_schedule("nightly")
    [e] = await _take(stream, 1)
    assert (e.type, e.id, e.name, e.attempt) == ("enqueued", run.id, "report", 0)
    await stream.aclose()


async def test_dependants_are_told_released_or_cancelled(client: Client) -> None:
    a = (await client.enqueue("q", "a", max_attempts=1)).id
    b = (await client.enqueue("q", "b")).id
    stream = await _subscribed(client, ["q"])
    x = (await client.enqueue("q", "x", depends_on=[a])).id
    y = (await client.enqueue("q", "y", depends_on=[b])).id
    got = await _take(stream, 2)
    assert [(e.type, e.id, e.name) for e in got] == [("enqueued", x, "x"), ("enqueued", y, "y")]
    claimed = {j.id: j for j in (await client.store.run(writes.claim("q", "w", 2))).jobs}
    await _take(stream, 2)
    await client.store.run(writes.complete("q", "w", [(b, claimed[b].token, "")]))
    got = await _take(stream, 2)
    assert [(e.type, e.id, e.name) for e in got] == [("completed", b, "b"), ("released", y, "y")]
    await client.store.run(writes.fail("q", a, claimed[a].token, reason="E", error="e"))
    got = await _take(stream, 2)
    assert [(e.type, e.id, e.name, e.reason) for e in got] == [
        ("dead", a, "a", "E"),
        ("cancelled", x, "x", "DependencyFailed"),
    ]
    await stream.aclose()
