"""Queue policies in the claim script: weighted fairness, aging, rate limits, caps."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import redis

from tests.engine.invariants import check_queue
from worker_runtime import Client, JobSpec
from worker_runtime.engine import reads, writes
from worker_runtime.engine.keys import QueueKeys
from worker_runtime.models import DEFAULT_WEIGHTS


async def _drain_claims(client: Client, queue: str, total: int, batch: int) -> list[Any]:
    jobs: list[Any] = []
    while len(jobs) < total:
        got = await client.store.run(writes.claim(queue, "w", min(batch, total - len(jobs))))
        assert got.jobs, "ran dry"
        jobs += got.jobs
    return jobs


async def test_weighted_shares_follow_the_weights(client: Client, r: redis.Redis) -> None:
    await client.configure("q", fairness="weighted", aging=False)
    for level in DEFAULT_WEIGHTS:
        await client.enqueue_many([JobSpec("q", "j", {"l": level}, priority=level)] * 6000)
    jobs = await _drain_claims(client, "q", 10_000, 7)
    shares = Counter(j.priority for j in jobs)
    total_weight = sum(DEFAULT_WEIGHTS.values())
    for level, weight in DEFAULT_WEIGHTS.items():
        expected = weight / total_weight
        assert abs(shares[level] / 10_000 - expected) <= 0.05, (level, shares[level], expected)


async def test_weighted_mode_is_fifo_within_a_level(client: Client) -> None:
    await client.configure("q", fairness="weighted")
    specs = [JobSpec("q", "j", {"i": i}, priority=[1, 5][i % 2]) for i in range(400)]
    await client.enqueue_many(specs)
    jobs = await _drain_claims(client, "q", 400, 9)
    for level in (1, 5):
        seen = [j.payload()["i"] for j in jobs if j.priority == level]
        assert seen == sorted(seen)


async def test_weighted_level_that_was_empty_gets_no_burst_of_credit(client: Client) -> None:
    await client.configure("q", fairness="weighted", aging=False)
    await client.enqueue_many([JobSpec("q", "j", priority=0)] * 300)
    await _drain_claims(client, "q", 200, 10)  # only level 0 exists: it runs alone
    await client.enqueue_many([JobSpec("q", "j", priority=10)] * 300)
    jobs = await _drain_claims(client, "q", 105, 5)
    low = sum(1 for j in jobs if j.priority == 10)
    assert 1 <= low <= 10  # 0.5 / 10.5 of 105 is 5: a fair share, not a catch-up burst


def _age(r: redis.Redis, queue: str, job_id: str, minutes: float) -> None:
    """Time travel: the job was enqueued `minutes` ago."""
    k = QueueKeys.of(queue)
    rec = r.hget(k.jobs, job_id)
    assert isinstance(rec, str)
    now_ms = int(r.time()[0]) * 1000
    r.hset(k.jobs, job_id, f"{now_ms - int(minutes * 60_000)}\n{rec.split(chr(10), 1)[1]}")
    r.hdel(k.config, "~aged_at")


async def test_aging_promotes_waiting_jobs_one_level_per_rule(
    client: Client, r: redis.Redis
) -> None:
    low = [(await client.enqueue("q", "j", priority="low")).id for _ in range(4)]
    normal = (await client.enqueue("q", "j")).id
    await client.configure("q", max_running=1)  # claim nothing but run the aging step
    blocker = (await client.enqueue("q", "blocker", priority="critical")).id
    assert [j.id for j in (await client.store.run(writes.claim("q", "w", 1))).jobs] == [blocker]
    for job_id, minutes in zip(low, (51, 46, 31, 10), strict=True):  # FIFO: oldest first
        _age(r, "q", job_id, minutes)
    _age(r, "q", normal, 16)
    await client.store.run(writes.claim("q", "w", 1))  # capped: claims nothing, ages
    levels = {i: (await client.get_job(i)).priority for i in [*low, normal]}  # type: ignore[union-attr]
    assert [levels[i] for i in low] == [0, 1, 5, 8]  # 30 min, then +15, then +5
    assert levels[normal] == 1
    job = await client.get_job(low[1])
    assert job is not None and job.original_priority == 8
    check_queue(r, "q")


async def test_aging_can_be_turned_off(client: Client, r: redis.Redis) -> None:
    await client.configure("q", aging=False, max_running=1)
    job_id = (await client.enqueue("q", "j", priority="bulk")).id
    await client.enqueue("q", "blocker", priority=0)
    await client.store.run(writes.claim("q", "w", 1))
    _age(r, "q", job_id, 600)
    await client.store.run(writes.claim("q", "w", 1))
    assert (await client.get_job(job_id)).priority == 10  # type: ignore[union-attr]


def _max_in_window(starts: list[int], window_ms: int) -> int:
    starts = sorted(starts)
    best, lo = 0, 0
    for hi, t in enumerate(starts):
        while t - starts[lo] >= window_ms:
            lo += 1
        best = max(best, hi - lo + 1)
    return best


async def _starts(client: Client, queue: str, ids: list[str]) -> list[int]:
    jobs = await client.store.run(reads.jobs_info(queue, ids))
    return [j.history[0].started_ms for j in jobs]


async def _claim_all_like_four_workers(client: Client, queue: str, n: int) -> None:
    """Four claimers racing; each completes at once and sleeps for the hinted wait."""

    async def one(name: str) -> None:
        while (await client.stats(queue)).completed < n:
            got = await client.store.run(writes.claim(queue, name, 5))
            if got.jobs:
                done = [(j.id, j.token, "") for j in got.jobs]
                await client.store.run(writes.complete(queue, name, done))
            else:
                await asyncio.sleep(min(0.05, (got.next_due_ms or 10) / 1000))

    await asyncio.gather(*(one(f"w{i}") for i in range(4)))


async def test_queue_rate_limit_holds_in_every_window(client: Client, r: redis.Redis) -> None:
    await client.configure("q", rate_limit=100, rate_period_ms=1000, keep_completed=10_000)
    ids = [e.id for e in await client.enqueue_many([JobSpec("q", "j")] * 300)]
    await _claim_all_like_four_workers(client, "q", 300)
    assert _max_in_window(await _starts(client, "q", ids), 1000) <= 101
    check_queue(r, "q")


async def test_shared_limiter_across_two_queues(client: Client) -> None:
    await client.define_limiter("api", 80, 1000)
    ids = {}
    for q in ("a", "b"):
        await client.configure(q, rate_limiter="api", keep_completed=10_000)
        ids[q] = [e.id for e in await client.enqueue_many([JobSpec(q, "j")] * 120)]

    async def run(q: str) -> None:
        while (await client.stats(q)).completed < 120:
            got = await client.store.run(writes.claim(q, "w", 5, limiter="api"))
            if got.jobs:
                await client.store.run(
                    writes.complete(q, "w", [(j.id, j.token, "") for j in got.jobs])
                )
            else:
                await asyncio.sleep(0.01)

    await asyncio.gather(run("a"), run("b"))
    starts = await _starts(client, "a", ids["a"]) + await _starts(client, "b", ids["b"])
    assert _max_in_window(starts, 1000) <= 81


async def test_per_key_rate_limit_defers_without_charging_attempts(
    client: Client, r: redis.Redis
) -> None:
    await client.configure("q", key_rate_limit=20, key_rate_period_ms=1000, keep_completed=10_000)
    tenant_a = [e.id for e in await client.enqueue_many([JobSpec("q", "j", rate_key="a")] * 50)]
    free = [e.id for e in await client.enqueue_many([JobSpec("q", "j")] * 50)]
    await _claim_all_like_four_workers(client, "q", 100)
    assert _max_in_window(await _starts(client, "q", tenant_a), 1000) <= 21
    jobs = await client.store.run(reads.jobs_info("q", tenant_a + free))
    assert {j.attempts for j in jobs} == {1}
    # Jobs without a key were never held up behind the limited tenant.
    free_starts = await _starts(client, "q", free)
    assert max(free_starts) < max(await _starts(client, "q", tenant_a))
    check_queue(r, "q")


async def test_running_caps_per_queue_and_per_key(client: Client, r: redis.Redis) -> None:
    await client.configure("q", max_running=3)
    await client.enqueue_many([JobSpec("q", "j")] * 10)
    got = await client.store.run(writes.claim("q", "w1", 10))
    assert len(got.jobs) == 3
    assert (await client.store.run(writes.claim("q", "w2", 10))).jobs == []
    await client.store.run(writes.complete("q", "w1", [(got.jobs[0].id, got.jobs[0].token, "")]))
    assert len((await client.store.run(writes.claim("q", "w2", 10))).jobs) == 1

    await client.configure("k", key_max_running=2)
    await client.enqueue_many([JobSpec("k", "j", rate_key="t1")] * 5 + [JobSpec("k", "j")] * 2)
    first = await client.store.run(writes.claim("k", "w", 10))
    assert Counter(j.name for j in first.jobs) == Counter({"j": 4})
    assert r.hget(QueueKeys.of("k").keyrun, "t1") == "2"
    check_queue(r, "k")


async def test_crashed_workers_key_slots_come_back(client: Client, r: redis.Redis) -> None:
    await client.configure("k", key_max_running=1)
    await client.enqueue_many([JobSpec("k", "j", rate_key="t")] * 2)
    got = await client.store.run(writes.claim("k", "w", 2, lease_ms=10))
    assert len(got.jobs) == 1
    await asyncio.sleep(0.03)
    assert await client.store.run(writes.recover("k")) == (1, 0, 0)
    assert r.hget(QueueKeys.of("k").keyrun, "t") is None
    assert len((await client.store.run(writes.claim("k", "w", 2))).jobs) == 1
    check_queue(r, "k")


async def test_weighted_claim_on_an_empty_queue_claims_nothing(client: Client) -> None:
    """Regression: with nothing pending, the stride step sent HSET with no fields."""
    await client.configure("q", fairness="weighted")
    got = await client.store.run(writes.claim("q", "w", 10))
    assert got.jobs == [] and not got.paused
    await client.enqueue("q", "j", priority="low")
    assert len((await client.store.run(writes.claim("q", "w", 10))).jobs) == 1
    assert (await client.store.run(writes.claim("q", "w", 10))).jobs == []
