"""cancel, retry, purge, dead letters, stats, config, and the queue registry."""

from __future__ import annotations

import asyncio

import pytest
import redis

from tests.engine.invariants import check_queue
from worker_runtime import Client, JobSpec, QueueConfig
from worker_runtime.engine import writes
from worker_runtime.engine.keys import QueueKeys
from worker_runtime.errors import (
    InvalidArgumentError,
    InvalidStateError,
    JobNotFoundError,
    QueueNotFoundError,
)


async def _dead_job(client: Client, queue: str = "q", dedupe_key: str | None = None) -> str:
    e = await client.enqueue(queue, "j", max_attempts=1, dedupe_key=dedupe_key)
    (job,) = (await client.store.run(writes.claim(queue, "w", 1))).jobs
    out = await client.store.run(writes.fail(queue, job.id, job.token, reason="Error", error="x"))
    assert out.outcome == "dead"
    await asyncio.sleep(0.002)  # dead letters are ordered by the ms they died in
    return e.id


async def test_cancel_pending_delayed_running_and_finished(client: Client, r: redis.Redis) -> None:
    pending = await client.enqueue("q", "j", dedupe_key="d")
    delayed = await client.enqueue("q", "j", delay=60)
    assert await client.cancel(pending.id) == "cancelled"
    assert await client.cancel(delayed.id) == "cancelled"
    assert (await client.enqueue("q", "j", dedupe_key="d")).created  # key released
    (job,) = (await client.store.run(writes.claim("q", "w", 1))).jobs
    assert await client.cancel(job.id) == "requested"
    lost, flagged = await client.store.run(writes.heartbeat("q", 30_000, [(job.id, job.token)]))
    assert (lost, flagged) == ([], [job.id])
    assert await client.store.run(writes.complete("q", "w", [(job.id, job.token, "")])) == [-2]
    info = await client.get_job(job.id)
    assert info is not None and info.state == "cancelled" and info.reason == "Cancelled"
    assert await client.cancel(job.id) == "finished"
    with pytest.raises(JobNotFoundError):
        await client.cancel("nope")
    states = check_queue(r, "q")
    assert sorted(states.values()) == ["cancelled", "cancelled", "cancelled"]


async def test_retry_dead_job_gets_fresh_attempts_and_keeps_history(client: Client) -> None:
    job_id = await _dead_job(client, dedupe_key="k")
    await client.retry(job_id)
    info = await client.get_job(job_id)
    assert info is not None and info.state == "pending" and info.reason is None
    assert len(info.history) == 1
    (job,) = (await client.store.run(writes.claim("q", "w", 1))).jobs
    assert job.attempt == 1
    dup = await client.enqueue("q", "j", dedupe_key="k")
    assert dup.id == job_id and not dup.created  # the key is held again
    with pytest.raises(InvalidStateError):
        await client.retry(job_id)


async def test_dead_letters_list_retry_all_and_purge(client: Client, r: redis.Redis) -> None:
    ids = [await _dead_job(client) for _ in range(5)]
    listed = await client.dead_letters("q", limit=3)
    assert [j.id for j in listed] == ids[::-1][:3]
    assert all(j.reason == "Error" for j in listed)
    assert [j.id for j in await client.dead_letters("q", offset=3, limit=3)] == ids[1::-1]
    assert await client.retry_dead("q") == 5
    assert (await client.stats("q")).pending == 5
    more = [await _dead_job(client, "q2") for _ in range(2)]
    assert await client.purge_dead("q2", older_than_ms=60_000) == 0
    await asyncio.sleep(0.02)
    assert await client.purge_dead("q2", older_than_ms=10) == 2
    assert [await client.get_job(i) for i in more] == [None, None]
    check_queue(r, "q")


async def test_purge_states_removes_all_data(client: Client, r: redis.Redis) -> None:
    await client.enqueue_many([JobSpec("q", "j", dedupe_key=f"k{i}") for i in range(2500)])
    await client.enqueue("q", "j", delay=30)
    await client.store.run(writes.claim("q", "w", 10))
    assert await client.purge("q", ["pending"]) == 2490
    k = QueueKeys.of("q")
    assert r.hlen(k.dedupe) == 10 and r.hlen(k.jobs) == 11
    assert await client.purge("q") == 11
    assert r.hlen(k.jobs) == 0 and r.hlen(k.lease) == 0 and r.hlen(k.dedupe) == 0


async def test_stats_counts_and_oldest_age(client: Client) -> None:
    await client.enqueue("q", "old", priority="bulk")
    await asyncio.sleep(0.05)
    await client.enqueue_many([JobSpec("q", "j", priority="critical")] * 3)
    await client.enqueue("q", "later", delay=60)
    await _dead_job(client, "other")
    s = await client.stats("q")
    assert (s.pending, s.delayed, s.running, s.dead) == (4, 1, 0, 0)
    assert s.oldest_pending_age_ms is not None and s.oldest_pending_age_ms >= 50
    assert (await client.stats("other")).dead == 1
    assert await client.queues() == ["other", "q"]
    with pytest.raises(QueueNotFoundError, match="no such queue"):
        await client.stats("empty")  # a mistyped name is an error, not zeros
    await client.configure("empty", max_attempts=3)
    assert (await client.stats("empty")).oldest_pending_age_ms is None


async def test_configure_validates_and_round_trips(client: Client, r: redis.Redis) -> None:
    cfg = await client.configure("q", max_attempts=9, lease_ms=5000)
    assert (await client.config("q")) == cfg
    assert cfg.max_attempts == 9 and cfg.timeout_ms == QueueConfig().timeout_ms
    before = r.hgetall(QueueKeys.of("q").config)
    with pytest.raises(InvalidArgumentError, match="max_attempts") as raised:
        await client.configure("q", max_attempts=0)
    assert raised.value.field == "max_attempts"
    with pytest.raises(ValueError, match="bogus"):
        await client.configure("q", bogus=1)
    with pytest.raises(InvalidArgumentError, match="queue"):
        await client.configure("a b", max_attempts=2)
    assert r.hgetall(QueueKeys.of("q").config) == before
    got = await client.store.run(writes.claim("q", "w", 1))
    assert got.lease_ms == 5000
