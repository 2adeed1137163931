"""complete, fail, heartbeat, recover, release: fencing, back-off, leases, history."""

from __future__ import annotations

import asyncio

import pytest
import redis

from tests.engine.invariants import check_queue
from worker_runtime import Client, JobSpec
from worker_runtime.engine import writes
from worker_runtime.engine.backoff import backoff_ms
from worker_runtime.engine.keys import QueueKeys
from worker_runtime.models import ClaimedJob


async def _claim_one(client: Client, queue: str = "q", lease_ms: int = 30_000) -> ClaimedJob:
    got = await client.store.run(writes.claim(queue, "w", 1, lease_ms=lease_ms))
    assert len(got.jobs) == 1
    return got.jobs[0]


async def test_complete_stores_result_and_history(client: Client, r: redis.Redis) -> None:
    e = await client.enqueue("q", "j", {"a": 1})
    job = await _claim_one(client)
    codes = await client.store.run(writes.complete("q", "w", [(job.id, job.token, '{"ok":true}')]))
    assert codes == [1]
    info = await client.get_job(e.id)
    assert info is not None and info.state == "completed" and info.result == {"ok": True}
    assert [(a.attempt, a.worker, a.outcome) for a in info.history] == [(1, "w", "completed")]
    assert check_queue(r, "q") == {e.id: "completed"}


async def test_stale_token_can_neither_complete_nor_fail(client: Client, r: redis.Redis) -> None:
    await client.enqueue("q", "j")
    first = await _claim_one(client, lease_ms=30)
    await asyncio.sleep(0.05)
    assert await client.store.run(writes.recover("q")) == (1, 0, 0)
    r.zadd(QueueKeys.of("q").delayed, {first.id: 0})  # time travel past the spreading delay
    second = await _claim_one(client)
    assert second.id == first.id and second.attempt == 2 and second.token != first.token
    assert await client.store.run(writes.complete("q", "w", [(first.id, first.token, "")])) == [-1]
    out = await client.store.run(writes.fail("q", first.id, first.token, reason="Error", error="x"))
    assert out.outcome == "lease_lost"
    assert await client.store.run(writes.heartbeat("q", 1000, [(first.id, first.token)])) == (
        [first.id],
        [],
    )
    assert check_queue(r, "q") == {first.id: "running"}
    assert await client.store.run(writes.complete("q", "w", [(second.id, second.token, "")])) == [1]


async def test_fail_retries_with_backoff_then_dies(client: Client, r: redis.Redis) -> None:
    await client.configure("q", backoff_base_ms=1000, backoff_max_ms=3000, max_attempts=4)
    e = await client.enqueue("q", "j")
    k = QueueKeys.of("q")
    for attempt, draw in ((1, 0.0), (2, 0.5), (3, 0.99)):
        job = await _claim_one(client)
        assert job.attempt == attempt
        t0 = int(r.time()[0]) * 1000 + int(r.time()[1]) // 1000
        out = await client.store.run(
            writes.fail("q", job.id, job.token, reason="Error", error="boom", draw=draw)
        )
        assert out.outcome == "retry" and out.due_ms is not None
        expected = backoff_ms(attempt, 1000, 3000, draw)
        assert expected - 5 <= out.due_ms - t0 <= expected + 50
        r.zadd(k.delayed, {e.id: 0})  # time travel: make the retry due now
    job = await _claim_one(client)
    out = await client.store.run(writes.fail("q", job.id, job.token, reason="Error", error="last"))
    assert (out.outcome, out.reason) == ("dead", "Error")
    info = await client.get_job(e.id)
    assert info is not None and info.state == "dead" and info.attempts == 4
    assert [a.outcome for a in info.history] == ["failed", "failed", "failed", "dead"]
    assert info.history[-1].error == "last" and info.reason == "Error"
    check_queue(r, "q")


def test_backoff_schedule_is_exponential_and_capped() -> None:
    assert [backoff_ms(a, 10_000, 3_600_000, 0.0) for a in range(1, 5)] == [
        10_000,
        20_000,
        40_000,
        80_000,
    ]
    assert backoff_ms(20, 10_000, 3_600_000, 0.0) == 3_600_000
    assert backoff_ms(1, 10_000, 3_600_000, 0.999) == pytest.approx(8_002, abs=2)


async def test_explicit_retry_delay_and_permanent_failure(client: Client) -> None:
    a = await client.enqueue("q", "j", max_attempts=5)
    job = await _claim_one(client)
    out = await client.store.run(
        writes.fail("q", job.id, job.token, reason="Retry", error="", delay_ms=60_000)
    )
    assert out.outcome == "retry"
    info = await client.get_job(a.id)
    assert info is not None and info.due_ms is not None and info.state == "delayed"
    b = await client.enqueue("q", "j", max_attempts=5)
    job = await _claim_one(client)
    assert job.id == b.id
    out = await client.store.run(
        writes.fail("q", job.id, job.token, reason="PermanentFailure", error="bad", permanent=True)
    )
    assert (out.outcome, out.reason) == ("dead", "PermanentFailure")


async def test_heartbeat_extends_leases_in_one_call(client: Client, r: redis.Redis) -> None:
    await client.enqueue_many([JobSpec("q", "j")] * 3)
    got = await client.store.run(writes.claim("q", "w", 3, lease_ms=200))
    k = QueueKeys.of("q")
    before = {j.id: r.zscore(k.running, j.id) for j in got.jobs}
    lost, cancelled = await client.store.run(
        writes.heartbeat("q", 60_000, [(j.id, j.token) for j in got.jobs] + [("ghost", "1")])
    )
    assert lost == ["ghost"] and cancelled == []
    for j in got.jobs:
        after = r.zscore(k.running, j.id)
        assert after is not None and after - before[j.id] >= 59_000  # type: ignore[operator]
    await asyncio.sleep(0.25)
    assert await client.store.run(writes.recover("q")) == (0, 0, 0)
    assert r.zscore(k.running, "ghost") is None


async def test_expired_lease_returns_job_within_half_a_lease(
    client: Client, r: redis.Redis
) -> None:
    await client.configure("q", lease_ms=4000)
    first = await client.enqueue("q", "first")
    job = await _claim_one(client, lease_ms=20)
    assert job.id == first.id
    await asyncio.sleep(0.04)
    t0 = int(r.time()[0]) * 1000
    assert await client.store.run(writes.recover("q")) == (1, 0, 0)
    due = r.zscore(QueueKeys.of("q").delayed, first.id)
    assert due is not None and t0 - 1000 <= due <= t0 + 3000  # spread over half a lease
    r.zadd(QueueKeys.of("q").delayed, {first.id: 0})
    again = await _claim_one(client)
    assert again.id == first.id and again.attempt == 2
    info = await client.get_job(first.id)
    assert info is not None and info.history[0].reason == "LeaseExpired"
    check_queue(r, "q")


async def test_a_recovered_job_goes_behind_the_jobs_of_its_level_that_waited_meanwhile(
    client: Client, r: redis.Redis
) -> None:
    """What the README says: it comes back at the back of its priority level (a job that
    crashed its worker does not jump the line again), ahead of lower levels."""
    await client.configure("q", aging=False)
    crashed = await client.enqueue("q", "j")
    assert (await _claim_one(client, lease_ms=20)).id == crashed.id
    later = [e.id for e in await client.enqueue_many([JobSpec("q", "j")] * 3)]
    low = await client.enqueue("q", "j", priority="low")
    await asyncio.sleep(0.04)
    assert await client.store.run(writes.recover("q")) == (1, 0, 0)
    r.zadd(QueueKeys.of("q").delayed, {crashed.id: 0})  # its spread delay is over
    taken = (await client.store.run(writes.claim("q", "w", 5))).jobs
    assert [j.id for j in taken] == [*later, crashed.id, low.id]


async def test_recovered_jobs_of_one_worker_are_spread_out(client: Client, r: redis.Redis) -> None:
    await client.configure("q", lease_ms=60_000)
    await client.enqueue_many([JobSpec("q", "j")] * 20)
    await client.store.run(writes.claim("q", "w", 20, lease_ms=10))
    await asyncio.sleep(0.03)
    assert await client.store.run(writes.recover("q")) == (20, 0, 0)
    dues = [float(p[1]) for p in r.zrange(QueueKeys.of("q").delayed, 0, -1, withscores=True)]
    assert max(dues) - min(dues) > 5000  # not handed out again as one batch


async def test_stall_guard_recovers_nothing_for_one_lease_after_a_gap(
    client: Client, r: redis.Redis
) -> None:
    await client.configure("q", lease_ms=1000)
    await client.enqueue("q", "j")
    assert await client.store.run(writes.recover("q", stall_ms=100)) == (0, 0, 0)
    await _claim_one(client, lease_ms=20)
    await asyncio.sleep(0.2)  # nobody ran recover for longer than the stall threshold
    assert await client.store.run(writes.recover("q", stall_ms=100)) == (0, 0, 0)
    assert await client.store.run(writes.recover("q", stall_ms=100)) == (0, 0, 0)  # grace
    await asyncio.sleep(1.05)
    # Calls kept coming during the grace period? No: this one comes after a gap again.
    assert await client.store.run(writes.recover("q", stall_ms=5000)) == (1, 0, 0)


async def test_lease_expiry_with_no_attempts_left_is_dead(client: Client, r: redis.Redis) -> None:
    e = await client.enqueue("q", "j", max_attempts=1)
    await _claim_one(client, lease_ms=10)
    await asyncio.sleep(0.03)
    assert await client.store.run(writes.recover("q")) == (0, 1, 0)
    info = await client.get_job(e.id)
    assert info is not None and (info.state, info.reason) == ("dead", "LeaseExpired")
    check_queue(r, "q")


async def test_recover_is_bounded_per_call(client: Client, r: redis.Redis) -> None:
    await client.enqueue_many([JobSpec("q", "j")] * 30)
    await client.store.run(writes.claim("q", "w", 30, lease_ms=10))
    await asyncio.sleep(0.03)
    assert await client.store.run(writes.recover("q", limit=12)) == (12, 0, 0)
    assert await client.store.run(writes.recover("q", limit=100)) == (18, 0, 0)
    check_queue(r, "q")


async def test_release_returns_jobs_without_counting_the_attempt(
    client: Client, r: redis.Redis
) -> None:
    e = await client.enqueue("q", "j")
    job = await _claim_one(client)
    assert await client.store.run(writes.release("q", [(job.id, job.token), ("x", "1")])) == 1
    again = await _claim_one(client)
    assert again.id == e.id and again.attempt == 1
    assert await client.store.run(writes.release("q", [(job.id, job.token)])) == 0  # stale token
    check_queue(r, "q")


async def test_retention_trims_completed_jobs_by_count(client: Client, r: redis.Redis) -> None:
    await client.configure("q", keep_completed=5)
    await client.enqueue_many([JobSpec("q", "j", {"i": i}) for i in range(12)])
    got = await client.store.run(writes.claim("q", "w", 12))
    done = [(j.id, j.token, '"r"') for j in got.jobs]
    for item in done:  # 2 ms apart: jobs finished within one ms have no order among them
        await client.store.run(writes.complete("q", "w", [item]))
        await asyncio.sleep(0.002)
    k = QueueKeys.of("q")
    assert r.zcard(k.completed) == 5
    assert r.hlen(k.jobs) == 5 and r.hlen(k.result) == 5 and r.hlen(k.hist) == 5
    assert set(r.zrange(k.completed, 0, -1)) == {j.id for j in got.jobs[-5:]}


async def test_retention_trims_completed_jobs_by_age(client: Client, r: redis.Redis) -> None:
    await client.configure("q", result_ttl_ms=50)
    await client.enqueue_many([JobSpec("q", "j")] * 3)
    got = await client.store.run(writes.claim("q", "w", 3))
    await client.store.run(writes.complete("q", "w", [(j.id, j.token, "") for j in got.jobs[:2]]))
    await asyncio.sleep(0.08)
    await client.store.run(writes.complete("q", "w", [(got.jobs[2].id, got.jobs[2].token, "")]))
    assert r.zrange(QueueKeys.of("q").completed, 0, -1) == [got.jobs[2].id]
    check_queue(r, "q")


async def test_malformed_record_never_aborts_a_script_halfway(
    client: Client, r: redis.Redis
) -> None:
    """A foreign producer's garbage record: recover and fail still finish their writes."""
    k = QueueKeys.of("q")
    await client.enqueue_many([JobSpec("q", "j")] * 3)
    got = await client.store.run(writes.claim("q", "w", 3, lease_ms=10))
    r.hset(k.jobs, got.jobs[1].id, "garbage")
    await asyncio.sleep(0.03)
    assert await client.store.run(writes.recover("q")) == (3, 0, 0)
    check_queue(r, "q")
    bad = await client.get_job(got.jobs[1].id)
    assert bad is not None and bad.name == "(undecodable record)"
