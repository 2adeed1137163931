"""claim.lua: order, leases, delayed promotion, pause."""

from __future__ import annotations

import asyncio
import random
import time

import redis

from tests.engine.invariants import check_queue
from worker_runtime import Client, JobSpec
from worker_runtime.engine import writes
from worker_runtime.engine.keys import QueueKeys


async def test_strict_priority_then_fifo_over_thousands(client: Client, r: redis.Redis) -> None:
    rng = random.Random(7)
    specs = [
        JobSpec("q", "j", {"i": i}, priority=rng.choice([0, 1, 5, 8, 10, 3])) for i in range(3000)
    ]
    for i in range(0, len(specs), 250):  # several calls, so sequence numbers span calls
        await client.enqueue_many(specs[i : i + 250])
    seen: list[tuple[int, int]] = []
    while True:
        got = await client.store.run(writes.claim("q", "w", 97))
        if not got.jobs:
            break
        seen += [(j.priority, j.payload()["i"]) for j in got.jobs]
    expected = sorted(((int(s.priority), i) for i, s in enumerate(specs)))
    assert seen == expected
    assert len(check_queue(r, "q")) == 3000


async def test_claim_records_lease_with_token_and_attempt(client: Client, r: redis.Redis) -> None:
    e = await client.enqueue("q", "j", {"x": 1}, max_attempts=7, timeout=12.5)
    before = int(r.time()[0]) * 1000
    got = await client.store.run(writes.claim("q", "w-1", 10, lease_ms=5000))
    (job,) = got.jobs
    assert (job.id, job.attempt, job.max_attempts, job.timeout_ms) == (e.id, 1, 7, 12_500)
    assert job.payload() == {"x": 1} and got.lease_ms == 5000
    k = QueueKeys.of("q")
    deadline = r.zscore(k.running, e.id)
    assert deadline is not None and 4000 <= deadline - before <= 7000
    token, worker, attempt, *_ = r.hget(k.lease, e.id).split("|")  # type: ignore[union-attr,arg-type]
    assert (token, worker, attempt) == (job.token, "w-1", "1")
    assert check_queue(r, "q") == {e.id: "running"}


async def test_tokens_are_unique_across_claims(client: Client) -> None:
    await client.enqueue_many([JobSpec("q", "j")] * 50)
    tokens = []
    for _ in range(10):
        tokens += [j.token for j in (await client.store.run(writes.claim("q", "w", 5))).jobs]
    assert len(set(tokens)) == 50


async def test_delayed_job_never_starts_before_due(client: Client) -> None:
    await client.enqueue("q", "j", delay=0.3)
    server_due = None
    got = await client.store.run(writes.claim("q", "w", 1))
    assert got.jobs == [] and got.next_due_ms is not None and 200 <= got.next_due_ms <= 300
    server_due = got.next_due_ms
    await asyncio.sleep(server_due / 1000 / 2)
    assert (await client.store.run(writes.claim("q", "w", 1))).jobs == []
    await asyncio.sleep(server_due / 1000 / 2 + 0.02)
    got = await client.store.run(writes.claim("q", "w", 1))
    assert len(got.jobs) == 1 and got.next_due_ms is None


async def test_due_delayed_jobs_keep_priority_order(client: Client) -> None:
    now = time.time()
    await client.enqueue("q", "low", priority="low", run_at=now - 1)
    await client.enqueue("q", "crit", priority="critical", delay=0.05)
    await client.enqueue("q", "normal")
    await asyncio.sleep(0.08)
    got = await client.store.run(writes.claim("q", "w", 10))
    assert [j.name for j in got.jobs] == ["crit", "normal", "low"]


async def test_paused_queue_hands_out_nothing(client: Client, r: redis.Redis) -> None:
    await client.enqueue("q", "j")
    await client.pause("q")
    got = await client.store.run(writes.claim("q", "w", 10))
    assert got.paused and got.jobs == []
    assert (await client.stats("q")).pending == 1
    await client.resume("q")
    assert len((await client.store.run(writes.claim("q", "w", 10))).jobs) == 1


async def test_promotion_is_bounded_per_call(client: Client, r: redis.Redis) -> None:
    await client.enqueue_many([JobSpec("q", "j", run_at=time.time() - 1, delay=None)] * 10)
    k = QueueKeys.of("q")
    # Force 1,500 delayed-but-due jobs directly (each a valid enqueue with a past due time).
    await client.enqueue_many([JobSpec("q", "j", delay=0.001)] * 1500)
    await asyncio.sleep(0.01)
    await client.store.run(writes.claim("q", "w", 1))
    assert r.zcard(k.delayed) == 1500 - writes.PROMOTE_LIMIT
    check_queue(r, "q")


async def test_claim_caps_itself_at_max_batch(client: Client, r: redis.Redis) -> None:
    """Asked for 5,000 at once, the script claims 1,000 and leaves the rest pending: Lua
    cannot unpack 10,000 values, and an error after the first write would strand jobs."""
    import dataclasses

    await client.enqueue_many([JobSpec("q", "j")] * 5000)
    op = writes.claim("q", "w", 1)
    got = await client.store.run(dataclasses.replace(op, args=["w", 5000, -1, 1000]))
    assert len(got.jobs) == writes.MAX_BATCH
    states = check_queue(r, "q")
    assert sorted(states.values()).count("running") == writes.MAX_BATCH and len(states) == 5000
