"""Records, scores and counters a foreign producer (or time) may leave behind: no script
stops halfway, no job is lost, no worker crashes (findings of a review of every script)."""

from __future__ import annotations

import asyncio

import pytest
import redis

from tests.engine.invariants import check_queue
from worker_runtime import Client, JobSpec, Retry
from worker_runtime.engine import writes
from worker_runtime.engine.keys import QueueKeys
from worker_runtime.errors import InvalidArgumentError

K = QueueKeys.of("q")


def _foreign(r: redis.Redis, job_id: str, meta: str, where: str, score: float) -> None:
    r.hset(K.jobs, job_id, f"0\n{meta}\n{{}}")
    r.zadd(getattr(K, where), {job_id: score})


@pytest.mark.parametrize(
    "meta", ['{"n":"j","p":5,"dk":null}', '{"n":"j","p":NaN}', '{"n":"j","p":-1}', "oops"]
)
async def test_retry_of_a_foreign_dead_job_never_loses_it(
    client: Client, r: redis.Redis, meta: str
) -> None:
    _foreign(r, "f1", meta, "dead", 1)
    await client.retry("f1", queue="q")
    assert check_queue(r, "q") == {"f1": "pending"}
    score = r.zscore(K.pending, "f1")
    assert score is not None and 0 <= score < 11 * 10**13


@pytest.mark.parametrize("score", [-1.0, float("inf")])
async def test_odd_pending_scores_survive_claim_and_recovery(
    client: Client, r: redis.Redis, score: float
) -> None:
    _foreign(r, "f2", '{"n":"j","p":5}', "pending", score)
    (job,) = (await client.store.run(writes.claim("q", "w", 1, lease_ms=10))).jobs
    await asyncio.sleep(0.03)
    assert await client.store.run(writes.recover("q")) == (1, 0, 0)
    assert check_queue(r, "q") == {"f2": "delayed"}
    assert job.id == "f2"


async def test_unreadable_lease_sends_the_job_to_the_dead_letters(
    client: Client, r: redis.Redis
) -> None:
    await client.enqueue("q", "j", job_id="x")
    await client.store.run(writes.claim("q", "w", 1, lease_ms=10))
    r.hset(K.lease, "x", "not a lease")
    await asyncio.sleep(0.03)
    assert await client.store.run(writes.recover("q")) == (0, 1, 0)
    assert r.hget(K.reason, "x") == "LeaseCorrupt"
    check_queue(r, "q")


async def test_garbage_at_a_band_head_does_not_break_aging_or_stats(
    client: Client, r: redis.Redis
) -> None:
    _foreign(r, "g", "", "pending", 8 * 10**13 + 1)
    r.hset(K.jobs, "g", "garbage without newlines")
    await client.enqueue("q", "j", priority="low")
    got = await client.store.run(writes.claim("q", "w", 10))
    assert sorted(j.name for j in got.jobs) == ["(undecodable record)", "j"]
    assert (await client.stats("q")).running == 2


async def test_pending_id_without_a_record_is_dropped_not_handed_out(
    client: Client, r: redis.Redis
) -> None:
    r.zadd(K.pending, {"ghost": 1})
    e = await client.enqueue("q", "j")
    got = await client.store.run(writes.claim("q", "w", 10))
    assert [j.id for j in got.jobs] == [e.id]
    assert r.zscore(K.pending, "ghost") is None


async def test_rate_key_is_read_from_the_options_not_the_payload(
    client: Client, r: redis.Redis
) -> None:
    await client.configure("q", key_max_running=1)
    await client.enqueue_many([JobSpec("q", "j", {"rk": "tenantA"})] * 2)
    assert len((await client.store.run(writes.claim("q", "w", 10))).jobs) == 2
    assert r.hgetall(K.keyrun) == {}


async def test_tokens_stay_exact_past_1e14(client: Client, r: redis.Redis) -> None:
    r.set(K.seq, 10**14)
    await client.enqueue("q", "j", priority=0)
    (job,) = (await client.store.run(writes.claim("q", "w", 1))).jobs
    assert await client.store.run(writes.heartbeat("q", 1000, [(job.id, job.token)])) == ([], [])
    assert await client.store.run(writes.complete("q", "w", [(job.id, job.token, "")])) == [1]


async def test_cancelled_completion_with_no_retention_leaves_no_orphan_history(
    client: Client, r: redis.Redis
) -> None:
    await client.configure("q", keep_completed=0)
    e = await client.enqueue("q", "j")
    (job,) = (await client.store.run(writes.claim("q", "w", 1))).jobs
    assert await client.cancel(e.id) == "requested"
    assert await client.store.run(writes.complete("q", "w", [(job.id, job.token, "")])) == [-2]
    assert r.hlen(K.hist) == 0 and r.hlen(K.jobs) == 0


def test_retry_delay_must_be_finite() -> None:
    for bad in (float("inf"), float("nan"), -1):
        with pytest.raises(ValueError, match="Retry"):
            Retry(delay=bad)


def test_enqueue_op_refuses_more_than_a_batch() -> None:
    from worker_runtime.engine.prepare import prepare_many

    jobs = prepare_many([JobSpec("q", "j")] * (writes.MAX_BATCH + 1))
    with pytest.raises(InvalidArgumentError, match="batch"):
        writes.enqueue("q", jobs)
