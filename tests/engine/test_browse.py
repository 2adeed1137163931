"""Listing a queue's jobs by state, deleting a queue, and unknown queue names."""

from __future__ import annotations

import asyncio

import pytest
import redis

from worker_runtime import Client, JobSpec
from worker_runtime.cron.schedules import ScheduleSpec
from worker_runtime.engine import writes
from worker_runtime.engine.keys import QUEUES
from worker_runtime.errors import InvalidArgumentError, QueueBusyError, QueueNotFoundError


async def test_pending_jobs_are_listed_in_the_order_they_will_be_taken(client: Client) -> None:
    await client.configure("q", aging=False)
    low = [e.id for e in await client.enqueue_many([JobSpec("q", "j", priority="low")] * 3)]
    high = [e.id for e in await client.enqueue_many([JobSpec("q", "j", priority="high")] * 2)]
    listed = [j.id for j in await client.list_jobs("q", "pending")]
    assert listed == high + low
    assert [j.id for j in await client.list_jobs("q", "pending", offset=1, limit=2)] == [
        high[1],
        low[0],
    ]
    taken = (await client.store.run(writes.claim("q", "w", 5))).jobs
    assert [j.id for j in taken] == listed


async def test_delayed_by_due_time_and_finished_newest_first(client: Client) -> None:
    late = await client.enqueue("q", "j", delay=60)
    soon = await client.enqueue("q", "j", delay=30)
    assert [j.id for j in await client.list_jobs("q", "delayed")] == [soon.id, late.id]
    first, second = await client.enqueue("q", "a"), await client.enqueue("q", "b")
    for job_id in (first.id, second.id):
        claimed = (await client.store.run(writes.claim("q", "w", 1))).jobs[0]
        assert claimed.id == job_id
        await client.store.run(writes.complete("q", "w", [(job_id, claimed.token, "")]))
        await asyncio.sleep(0.005)  # finish times in ms: equal ones would list in id order
    completed = await client.list_jobs("q", "completed")
    assert [j.id for j in completed] == [second.id, first.id]
    assert all(str(j.state) == "completed" for j in completed)


async def test_listing_checks_its_arguments(client: Client) -> None:
    with pytest.raises(QueueNotFoundError):
        await client.list_jobs("nope")
    await client.enqueue("q", "j")
    with pytest.raises(InvalidArgumentError, match="state") as raised:
        await client.list_jobs("q", "finished")
    assert raised.value.field == "state"
    with pytest.raises(InvalidArgumentError, match="limit"):
        await client.list_jobs("q", limit=0)


async def test_delete_queue_removes_every_key_and_the_registry_entry(
    client: Client, r: redis.Redis
) -> None:
    await client.configure("q", max_attempts=2, rate_limit=10)
    await client.enqueue_many([JobSpec("q", "j", {"i": i}) for i in range(20)])
    await client.enqueue("q", "later", delay=60, dedupe_key="d")
    claimed = (await client.store.run(writes.claim("q", "w", 3))).jobs
    await client.store.run(writes.complete("q", "w", [(claimed[0].id, claimed[0].token, "")]))
    await client.enqueue("other", "j")
    with pytest.raises(QueueBusyError, match="running"):
        await client.delete_queue("q")  # two jobs are still running
    assert r.hlen("brq:{q}:jobs") == 21
    assert await client.delete_queue("q", force=True) == 21
    assert [k for k in r.keys("*") if "{q}" in k] == []
    assert r.smembers(QUEUES) == {"other"}
    with pytest.raises(QueueNotFoundError):
        await client.stats("q")
    assert (await client.stats("other")).pending == 1
    await client.enqueue("q", "j")  # an enqueue creates it again, from scratch
    stats = await client.stats("q")
    assert (stats.pending, stats.running, stats.completed) == (1, 0, 0)


async def test_delete_queue_is_refused_while_workers_claim_from_it_or_schedules_feed_it(
    client: Client, r: redis.Redis
) -> None:
    await client.enqueue("q", "j")
    beat = writes.worker_beat("w1", {"name": "w1", "queues": ["q", "x"]}, 60_000)
    await client.store.run(beat)
    with pytest.raises(QueueBusyError, match="w1"):
        await client.delete_queue("q")
    await client.store.run(writes.worker_beat("w1", None, 1))
    await client.add_schedule(ScheduleSpec("nightly", "0 3 * * *", "q", "j"))
    before = sorted(str(k) for k in r.keys("*"))
    with pytest.raises(QueueBusyError, match="schedule"):
        await client.delete_queue("q", force=True)
    assert sorted(str(k) for k in r.keys("*")) == before
    await client.remove_schedule("nightly")
    assert await client.delete_queue("q") == 1
